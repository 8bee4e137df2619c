"""The bridge between a client's answers and the envelopes that store them.

Given the keys a session holds — a client's data key, unlocked by their return code, or the
organisation key held by a signed-in coach — this module creates clients, finds them by return
code, and saves and reads their answers. It knows nothing of Flask; callers commit.
"""

from __future__ import annotations

import json
import secrets
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from intake import crypto
from intake.form_definition import Form
from intake.models import (
    Agreement,
    Answer,
    CheckIn,
    Client,
    ClientStatus,
    Organisation,
    SessionRecord,
    utcnow,
)

AnswerValue = str | list[str]


@dataclass(frozen=True)
class KeySettings:
    """The costs and pepper that key derivation needs, taken from the app's settings."""

    pepper: bytes
    kdf: crypto.KdfParams
    lookup: crypto.KdfParams

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KeySettings:
        return cls(
            pepper=bytes.fromhex(config["LOOKUP_PEPPER"]),
            kdf=crypto.KdfParams(
                config["KDF_ITERATIONS"], config["KDF_MEMORY_KIB"], config["KDF_LANES"]
            ),
            lookup=crypto.KdfParams(
                config["LOOKUP_KDF_ITERATIONS"],
                config["LOOKUP_KDF_MEMORY_KIB"],
                config["LOOKUP_KDF_LANES"],
            ),
        )


@dataclass(frozen=True)
class OpenedSection:
    """One section as read back. `fields` is None when the envelope would not open."""

    section_key: str
    version: int
    updated_at: datetime
    fields: dict[str, AnswerValue] | None
    form_id: str | None = None  # the form and version it was given under (None: before
    form_version: int | None = None  # forms were data, Groundwork's own form, version 1)

    @property
    def damaged(self) -> bool:
        return self.fields is None


def answer_aad(
    client_id: str,
    section_key: str,
    schema_version: int,
    form_id: str | None = None,
    form_version: int | None = None,
) -> bytes:
    """What an answer's envelope is bound to: the person, the page, the page's schema and (for
    answers saved since forms became data) the form and its version. An envelope moved to
    another person, page, schema, form or version does not open."""
    if form_id is None:  # saved before forms were data: bound as it was then
        return f"answer\x00{client_id}\x00{section_key}\x00{schema_version}".encode()
    return (
        f"answer/form\x00{client_id}\x00{form_id}\x00{form_version}\x00{section_key}"
        f"\x00{schema_version}"
    ).encode()


def _dek_by_code_aad(client_id: str) -> bytes:
    return f"dek-by-code\x00{client_id}".encode()


def _wrapped_by_code(client_id: str, data_key: bytes, code: crypto.CodeKeys) -> bytes:
    return crypto.wrap_with_code_key(
        code.wrapping, data_key, _dek_by_code_aad(client_id), crypto.key_id(data_key)
    )


def _dek_by_org_aad(client_id: str) -> bytes:
    return f"dek-by-org\x00{client_id}".encode()


def create_client(
    db: Session,
    organisation: Organisation,
    code_digits: str,
    keys: KeySettings,
    locale: str = "en",
    form: Form | None = None,
) -> tuple[Client, bytes]:
    """A new client whose data key opens with `code_digits` and with the organisation key,
    following `form` (None: the first version of Groundwork's own). One Argon2id derivation
    of the code gives both the lookup value and the key their data key is wrapped under."""
    client, data_key = create_client_awaiting_code(db, organisation, locale, form)
    give_code(db, client, data_key, crypto.code_keys(code_digits, keys.pepper, keys.lookup))
    return client, data_key


def create_client_awaiting_code(
    db: Session, organisation: Organisation, locale: str = "en", form: Form | None = None
) -> tuple[Client, bytes]:
    """A new client whose data key opens, for now, only with the organisation key: their
    return code's copy is made afterwards, off the path to their first page (`code_copies`),
    with `give_code`. Until then their code finds nobody."""
    client_id = secrets.token_hex(16)
    data_key = crypto.new_data_key()
    client = Client(
        id=client_id,
        locale=locale,
        status=ClientStatus.DRAFT,
        dek_by_org=crypto.seal(organisation.public_key, data_key, _dek_by_org_aad(client_id)),
        form_id=form.id if form else None,
        form_version=form.version if form else None,
    )
    db.add(client)
    db.flush()
    return client, data_key


def awaits_code(client: Client) -> bool:
    """Whether this client's return code does not open their record yet."""
    return client.lookup_hash is None and client.status != ClientStatus.ERASED


def give_code(db: Session, client: Client | str, data_key: bytes, code: crypto.CodeKeys) -> bool:
    """Let the code whose keys are `code` find and open this client (their lookup value and
    their data key wrapped under the code's key). Written only while the client has no code
    and has not erased everything, so making it twice, or after an erasure, changes nothing.
    True when it was written here. The caller commits."""
    client_id = client if isinstance(client, str) else client.id
    lookup_value = code.lookup
    wrapped = _wrapped_by_code(client_id, data_key, code)
    written = db.execute(
        update(Client)
        .where(
            Client.id == client_id,
            Client.lookup_hash.is_(None),
            Client.status != ClientStatus.ERASED,
        )
        .values(lookup_hash=lookup_value, dek_by_code=wrapped)
        .execution_options(synchronize_session=False)
    )
    if written.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if isinstance(client, Client):  # what was just written, without writing it again
        set_committed_value(client, "lookup_hash", lookup_value)
        set_committed_value(client, "dek_by_code", wrapped)
    return True


def _found(db: Session, lookup: bytes) -> Client | None:
    return db.scalar(
        select(Client).where(Client.lookup_hash == lookup, Client.status != ClientStatus.ERASED)
    )


def _older_codes_remain(db: Session) -> bool:
    """Whether anyone still holds a code given before one derivation served both (their data
    key in a salted envelope). Once nobody does, a code that finds nobody costs one derivation;
    no new record is ever of the older kind, so the answer is kept for the process."""
    engine = db.get_bind()
    if _NO_OLDER_CODES.get(engine):
        return False
    older = db.scalar(
        select(Client.id)
        .where(func.substr(Client.dek_by_code, 2, 1) == bytes([crypto.KIND_SECRET_WRAPPED]))
        .limit(1)
    )
    if older is None:
        _NO_OLDER_CODES[engine] = True
    return older is not None


_NO_OLDER_CODES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _by_code(
    db: Session, code_digits: str, keys: KeySettings, code: crypto.CodeKeys | None = None
) -> tuple[Client | None, crypto.CodeKeys]:
    """Who this code belongs to (by the older lookup value too, while anyone holds such a
    code), and the code's keys: one derivation (none when `code` is given), two for an older
    code or a miss while those remain."""
    code = code or crypto.code_keys(code_digits, keys.pepper, keys.lookup)
    found = _found(db, code.lookup)
    if found is None and _older_codes_remain(db):
        found = _found(db, crypto.lookup_hash(code_digits, keys.pepper, keys.lookup))
    return found, code


def find_client(db: Session, code_digits: str, keys: KeySettings) -> Client | None:
    """The client whose return code this is, if any (erased clients are never found)."""
    return _by_code(db, code_digits, keys)[0]


def open_with_code(
    db: Session, code_digits: str, keys: KeySettings, code: crypto.CodeKeys | None = None
) -> tuple[Client, bytes] | None:
    """The client whose return code this is, and their data key; None when it opens nothing.

    One Argon2id derivation (none when the caller has made it: `code`). A person given their
    code before one derivation served both is found by the older lookup value and opened by
    their own salted derivation (three, this once), then moved over, lookup value and envelope
    together, so their next visit costs one. The caller commits."""
    client, code = _by_code(db, code_digits, keys, code)
    if client is None:
        return None
    try:
        data_key = unlock_with_code(client, code_digits, keys, code)
    except crypto.CannotOpen:
        return None
    if client.lookup_hash != code.lookup:
        client.lookup_hash = code.lookup
        client.dek_by_code = _wrapped_by_code(client.id, data_key, code)
    return client, data_key


def unlock_with_code(
    client: Client, code_digits: str, keys: KeySettings, code: crypto.CodeKeys | None = None
) -> bytes:
    """The client's data key, opened with their return code (raises crypto.CannotOpen).
    `code` saves the derivation when the caller has made it."""
    if client.dek_by_code is None:
        raise crypto.CannotOpen("this client's keys were erased")
    aad = _dek_by_code_aad(client.id)
    if not crypto.is_code_wrapped(client.dek_by_code):  # given before one derivation served both
        return crypto.unwrap_with_secret(code_digits, client.dek_by_code, aad)
    code = code or crypto.code_keys(code_digits, keys.pepper, keys.lookup)
    return crypto.unwrap_with_code_key(code.wrapping, client.dek_by_code, aad)


def unlock_with_org_key(client: Client, org_private_key: crypto.PrivateKeyLike) -> bytes:
    """The client's data key, opened with the organisation private key a coach session holds."""
    if client.dek_by_org is None:
        raise crypto.CannotOpen("this client's keys were erased")
    return crypto.unseal(org_private_key, client.dek_by_org, _dek_by_org_aad(client.id))


def reseal_for_org(client: Client, data_key: bytes, public_key: bytes) -> None:
    """Seal the data key to a (new) organisation public key."""
    client.dek_by_org = crypto.seal(public_key, data_key, _dek_by_org_aad(client.id))


def _latest(db: Session, client_id: str, section_key: str) -> Answer | None:
    return db.scalar(
        select(Answer)
        .where(Answer.client_id == client_id, Answer.section_key == section_key)
        .order_by(Answer.version.desc())
        .limit(1)
    )


def save_section(
    db: Session,
    client: Client,
    data_key: bytes,
    section_key: str,
    fields: Mapping[str, AnswerValue],
    *,
    schema_version: int = 1,
    form_id: str | None = None,
    form_version: int | None = None,
    keep_history: bool = False,
) -> Answer:
    """Encrypt and store one section's answers.

    Before a client sends, the latest version is replaced; with `keep_history` (after sending)
    a change becomes a new version with its own time, so the coach can see what changed.
    """
    plaintext = json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":")).encode()
    ciphertext = crypto.encrypt(
        data_key,
        plaintext,
        answer_aad(client.id, section_key, schema_version, form_id, form_version),
    )
    now = utcnow()
    latest = _latest(db, client.id, section_key)
    if latest is not None and not keep_history:
        latest.ciphertext = ciphertext
        latest.schema_version = schema_version
        latest.form_id, latest.form_version = form_id, form_version
        latest.updated_at = now
        answer = latest
    else:
        answer = Answer(
            client_id=client.id,
            section_key=section_key,
            version=1 if latest is None else latest.version + 1,
            schema_version=schema_version,
            form_id=form_id,
            form_version=form_version,
            ciphertext=ciphertext,
            created_at=now,
            updated_at=now,
        )
        db.add(answer)
    client.updated_at = now
    db.flush()
    return answer


def open_answer(answer: Answer, data_key: bytes) -> OpenedSection:
    """One stored section, opened; `fields` is None when the envelope is damaged."""
    try:
        plaintext = crypto.decrypt(
            data_key,
            answer.ciphertext,
            answer_aad(
                answer.client_id,
                answer.section_key,
                answer.schema_version,
                answer.form_id,
                answer.form_version,
            ),
        )
        fields = json.loads(plaintext)
        if not isinstance(fields, dict):
            fields = None
    except (crypto.CannotOpen, ValueError):
        fields = None
    return OpenedSection(
        answer.section_key,
        answer.version,
        answer.updated_at,
        fields,
        answer.form_id,
        answer.form_version,
    )


def read_sections(db: Session, client: Client, data_key: bytes) -> dict[str, OpenedSection]:
    """The latest version of every section of a client's answers, opened."""
    latest_versions = (
        select(Answer.section_key, func.max(Answer.version).label("version"))
        .where(Answer.client_id == client.id)
        .group_by(Answer.section_key)
        .subquery()
    )
    answers = db.scalars(
        select(Answer)
        .join(
            latest_versions,
            (Answer.section_key == latest_versions.c.section_key)
            & (Answer.version == latest_versions.c.version),
        )
        .where(Answer.client_id == client.id)
    )
    return {answer.section_key: open_answer(answer, data_key) for answer in answers}


def read_section(
    db: Session, client: Client, data_key: bytes, section_key: str
) -> OpenedSection | None:
    """The latest version of one section, opened; None if it was never saved."""
    answer = _latest(db, client.id, section_key)
    return None if answer is None else open_answer(answer, data_key)


def saved_section_keys(db: Session, client: Client) -> set[str]:
    """Which sections have been saved at least once (no decryption needed)."""
    return set(db.scalars(select(Answer.section_key).where(Answer.client_id == client.id)))


def section_history(
    db: Session, client: Client, data_key: bytes, section_key: str
) -> list[OpenedSection]:
    """Every stored version of one section, oldest first."""
    answers = db.scalars(
        select(Answer)
        .where(Answer.client_id == client.id, Answer.section_key == section_key)
        .order_by(Answer.version)
    )
    return [open_answer(answer, data_key) for answer in answers]


def seal_json(data_key: bytes, value: object, aad: bytes) -> bytes:
    """Encrypt any JSON value under a client's data key (agreements, check-ins, reasons)."""
    plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return crypto.encrypt(data_key, plaintext, aad)


def open_json(data_key: bytes, envelope: bytes, aad: bytes) -> object | None:
    """The value, or None when the envelope is damaged (never an empty value)."""
    try:
        value: object = json.loads(crypto.decrypt(data_key, envelope, aad))
        return value
    except (crypto.CannotOpen, ValueError):
        return None


def erase_client(db: Session, client: Client) -> None:
    """Crypto-shredding (DESIGN.md §5): both copies of the data key, every answer, agreement
    and check-in, and every session go in one transaction. What stays is a tombstone with no
    personal data: the id, the status "erased" and when. Callers commit."""
    for model in (Answer, Agreement, CheckIn):
        db.execute(delete(model).where(model.client_id == client.id))
    db.execute(delete(SessionRecord).where(SessionRecord.client_id == client.id))
    client.dek_by_code = None
    client.dek_by_org = None
    client.lookup_hash = None
    client.referral_copy_ct = None
    client.status = ClientStatus.ERASED
    client.erased_at = utcnow()
    client.updated_at = client.erased_at
    db.flush()
