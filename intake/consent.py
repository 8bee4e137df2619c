"""The consent ledger: the texts a client is shown, their decisions, and the current state.

Texts live as files in `consent_texts/` and are loaded into immutable `ConsentText` rows.
Each decision is a `ConsentEvent`, chained to the client's previous event by SHA-256, so a
changed or removed row is detectable (`verify_chain`). The current state of a purpose is its
latest event. Signatures of an agreement version (DESIGN.md §7) are entries of the same chain:
they name the version and hold a hash of its sealed words, so a signed version that changes
is detectable too; they are not decisions, and the decision views leave them out. Domain logic
only: nothing here knows about Flask. Callers commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake import anchors, webhooks
from intake.models import Agreement, Client, ConsentEvent, ConsentText, utcnow

TEXTS_FOLDER = Path(__file__).resolve().parent.parent / "consent_texts"
GENESIS_HASH = "0" * 64
WRITE_ATTEMPTS = 8
_FILE_NAME = re.compile(r"^(?P<purpose>[a-z_]+)\.v(?P<version>[0-9]+)\.txt$")


class Purpose(StrEnum):
    STORE_ANSWERS = "store_answers"
    SHARE_WITH_COACH = "share_with_coach"
    STATUS_TO_REFERRER = "status_to_referrer"
    CONTACT = "contact"
    ANONYMOUS_STATISTICS = "anonymous_statistics"


class Decision(StrEnum):
    GRANTED = "granted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


SIGNED = "signed"  # the decision of a signature entry
SIGNATURE_PURPOSE = "agreement_{kind}"  # a signature's purpose names the agreement's kind


class Actor(StrEnum):
    CLIENT = "client"
    COACH = "coach"


@dataclass(frozen=True)
class Signing:
    """What a signature entry holds: the version signed, a hash of its sealed words, and the
    name the person typed, sealed under their data key (None when they ticked "I agree")."""

    agreement_id: int
    agreement_sha256: str
    signed_name_ct: bytes | None = None


@dataclass(frozen=True)
class RecordedBy:
    """Who recorded a decision: the person themselves (the default), or a coach on their behalf
    ("by voice"), with the reason they gave sealed under the person's data key."""

    actor: str = Actor.CLIENT
    staff_id: int | None = None
    reason_ct: bytes | None = None


THE_PERSON = RecordedBy()


class ConsentTextChanged(Exception):
    """A published consent text was edited in place; publish a new version instead."""


@dataclass(frozen=True)
class TextFile:
    purpose: str
    version: int
    locale: str
    body: str

    @property
    def sha256(self) -> str:
        return text_hash(self.body)


def text_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def read_text_files(folder: Path = TEXTS_FOLDER) -> list[TextFile]:
    """Every consent text kept in the repository."""
    found = []
    for path in sorted(folder.glob("*/*.txt")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            continue
        found.append(
            TextFile(
                purpose=match["purpose"],
                version=int(match["version"]),
                locale=path.parent.name,
                body=path.read_text(encoding="utf-8").strip() + "\n",
            )
        )
    return found


def sync_texts(db: Session, folder: Path = TEXTS_FOLDER) -> int:
    """Publish texts that are new in the repository. Returns how many were added.

    Refuses (ConsentTextChanged) when a published text differs from its file.
    """
    published = {(t.purpose, t.version, t.locale): t for t in db.scalars(select(ConsentText))}
    added = 0
    for text in read_text_files(folder):
        existing = published.get((text.purpose, text.version, text.locale))
        if existing is None:
            db.add(
                ConsentText(
                    purpose=text.purpose,
                    version=text.version,
                    locale=text.locale,
                    body=text.body,
                    sha256=text.sha256,
                )
            )
            added += 1
        elif existing.sha256 != text.sha256:
            raise ConsentTextChanged(
                f"{text.locale}/{text.purpose}.v{text.version} was published with other words"
            )
    db.flush()
    return added


def current_text(db: Session, purpose: str, locale: str, fallback: str = "en") -> ConsentText:
    """The newest published text of a purpose in a locale (or in the fallback locale)."""
    for wanted in (locale, fallback):
        text = db.scalar(
            select(ConsentText)
            .where(ConsentText.purpose == purpose, ConsentText.locale == wanted)
            .order_by(ConsentText.version.desc())
            .limit(1)
        )
        if text is not None:
            return text
    raise LookupError(f"no consent text for {purpose}")


def reason_aad(client_id: str, purpose: str) -> bytes:
    """Associated data for a coach's reason, encrypted under the client's data key."""
    return f"consent-reason\x00{client_id}\x00{purpose}".encode()


def _event_hash(event: ConsentEvent, text_sha: str | None, english_sha: str | None = None) -> str:
    signature: dict[str, object] = {}
    if event.agreement_id is not None:  # only signatures carry these: older entries keep theirs
        signature = {
            "agreement": event.agreement_id,
            "agreement_sha256": event.agreement_sha256,
            "signed_name": hashlib.sha256(event.signed_name_ct or b"").hexdigest(),
        }
    english: dict[str, object] = {}
    if event.english_text_id is not None:  # only decisions in a draft language carry these
        english = {"english_text": event.english_text_id, "english_sha256": english_sha}
    canonical = json.dumps(
        {
            **signature,
            **english,
            "prev": event.prev_hash,
            "client": event.client_id,
            "purpose": event.purpose,
            "decision": event.decision,
            "text": event.consent_text_id,
            "text_sha256": text_sha,
            "actor": event.actor,
            "staff": event.actor_staff_id,
            "reason": hashlib.sha256(event.reason_ct or b"").hexdigest(),
            "at": event.at.isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _last_event(db: Session, client_id: str) -> ConsentEvent | None:
    return db.scalar(
        select(ConsentEvent)
        .where(ConsentEvent.client_id == client_id)
        .order_by(ConsentEvent.id.desc())
        .limit(1)
    )


def record(
    db: Session,
    client_id: str,
    purpose: str,
    decision: str,
    text: ConsentText | None,
    by: RecordedBy = THE_PERSON,
    signing: Signing | None = None,
    english_beside: ConsentText | None = None,
) -> ConsentEvent:
    """Append one decision (or, with `signing`, a signature) to the client's chain.

    `english_beside` is the reviewed English text the page showed beside `text` when the
    person's language is a draft translation: the entry names both wordings.

    Two decisions written at once (a double tap reaching two hosts) cannot both follow the same
    one: the chain's unique index refuses the second, which then follows the first. On
    PostgreSQL the client's row is locked first, so decisions for one person take turns (ten at
    once would otherwise run out of tries), and each try runs in a savepoint, so what else the
    caller's transaction holds stays. SQLite has one writer at a time: there the chain's end
    cannot move under us.
    """
    concurrent = db.get_bind().dialect.name == "postgresql"
    if concurrent:
        db.execute(select(Client.id).where(Client.id == client_id).with_for_update())
    for _attempt in range(WRITE_ATTEMPTS):
        previous = _last_event(db, client_id)
        event = ConsentEvent(
            client_id=client_id,
            purpose=str(purpose),
            decision=str(decision),
            consent_text_id=text.id if text else None,
            actor=str(by.actor),
            actor_staff_id=by.staff_id,
            reason_ct=by.reason_ct,
            at=utcnow(),
            prev_hash=previous.hash if previous else GENESIS_HASH,
            agreement_id=signing.agreement_id if signing else None,
            agreement_sha256=signing.agreement_sha256 if signing else None,
            signed_name_ct=signing.signed_name_ct if signing else None,
            english_text_id=english_beside.id if english_beside else None,
        )
        event.hash = _event_hash(
            event,
            text.sha256 if text else None,
            english_beside.sha256 if english_beside else None,
        )
        if not concurrent:
            db.add(event)
            db.flush()
            return event
        try:
            with db.begin_nested():
                db.add(event)
                db.flush()
        except IntegrityError:
            continue  # another decision came first: follow it
        return event
    raise RuntimeError("the consent ledger is too busy to write to")


def decide(
    db: Session,
    client: Client,
    purpose: str,
    decision: str,
    text: ConsentText | None,
    by: RecordedBy = THE_PERSON,
    english_beside: ConsentText | None = None,
) -> ConsentEvent:
    """Record a decision and apply what the service now acts on (`effective_state`): sharing
    with a coach, and telling the referring organisation how it goes (their webhooks too), start
    and stop with it."""
    event = record(db, client.id, purpose, decision, text, by, english_beside=english_beside)
    acted_on = effective_state(db, client.id)[purpose]
    granted = acted_on.decision == Decision.GRANTED
    if purpose == Purpose.SHARE_WITH_COACH:
        client.shared_at = acted_on.at if granted else None
    if purpose == Purpose.STATUS_TO_REFERRER:
        client.status_shared_at = acted_on.at if granted else None
        webhooks.status_changed(db, client)
    db.flush()
    return event


def answer(
    db: Session,
    client: Client,
    purpose: str,
    yes: bool,
    text: ConsentText,
    english_beside: ConsentText | None = None,
) -> ConsentEvent | None:
    """The person's own yes or no to a purpose, recorded if it changes what the service acts
    on (a yes to a yes records nothing); a no after a yes withdraws it."""
    current = effective_state(db, client.id).get(purpose)
    if current is not None and (current.decision == Decision.GRANTED) == yes:
        return None
    decision = decision_for(yes, current)
    return decide(db, client, purpose, decision, text, english_beside=english_beside)


def decision_for(yes: bool, current: ConsentEvent | None) -> Decision:
    """A yes or a no as the ledger records it: a no after a yes withdraws it."""
    if yes:
        return Decision.GRANTED
    if current is not None and current.decision == Decision.GRANTED:
        return Decision.WITHDRAWN
    return Decision.DECLINED


def receipt_number(event: ConsentEvent) -> str:
    """A short number a person can read out or write down, like 3F9A-C21E: the start of the
    decision's hash in the ledger, so it points at exactly one entry of their chain."""
    head = event.hash[:8].upper()
    return f"{head[:4]}-{head[4:]}"


def _decisions(client_id: str) -> Select[ConsentEvent]:
    """The client's decisions, oldest first: every entry of their chain but signatures."""
    return (
        select(ConsentEvent)
        .where(ConsentEvent.client_id == client_id, ConsentEvent.agreement_id.is_(None))
        .order_by(ConsentEvent.id)
    )


def current_state(db: Session, client_id: str) -> dict[str, ConsentEvent]:
    """The latest decision for each purpose the client has been asked about."""
    state: dict[str, ConsentEvent] = {}
    for event in db.scalars(_decisions(client_id)):
        state[event.purpose] = event
    return state


def effective_state(db: Session, client_id: str) -> dict[str, ConsentEvent]:
    """The decision the service acts on, for each purpose (DESIGN.md §7).

    The person's own latest decision always stands: a decision someone else recorded for them
    (a coach, taking it by voice) never overrides it, earlier or later, and waits for them to
    confirm it (`recorded_by_coach`). Where the person has never decided on a purpose
    themselves, what the coach recorded applies until they do.
    """
    own: dict[str, ConsentEvent] = {}
    recorded: dict[str, ConsentEvent] = {}
    for event in db.scalars(_decisions(client_id)):
        (own if event.actor == Actor.CLIENT else recorded)[event.purpose] = event
    return {**recorded, **own}


def is_granted(db: Session, client_id: str, purpose: str) -> bool:
    event = effective_state(db, client_id).get(purpose)
    return event is not None and event.decision == Decision.GRANTED


def verify_chain(db: Session, client_id: str) -> bool:
    """True when every event of the client's chain is unchanged and in its place, and every
    agreement version signed in it still holds the words that were signed."""
    previous = GENESIS_HASH
    texts = {t.id: t.sha256 for t in db.scalars(select(ConsentText))}
    for event in db.scalars(
        select(ConsentEvent).where(ConsentEvent.client_id == client_id).order_by(ConsentEvent.id)
    ):
        if event.prev_hash != previous:
            return False
        text_sha = texts.get(event.consent_text_id) if event.consent_text_id else None
        english_sha = texts.get(event.english_text_id) if event.english_text_id else None
        if _event_hash(event, text_sha, english_sha) != event.hash:
            return False
        if event.agreement_id is not None and not _signed_words_kept(db, event):
            return False
        previous = event.hash
    return True


def words_hash(content_ct: bytes) -> str:
    """The hash a signature holds of the words signed: over the sealed words, so it can be
    checked without opening them, and it reveals nothing of them."""
    return hashlib.sha256(content_ct).hexdigest()


def _signed_words_kept(db: Session, event: ConsentEvent) -> bool:
    signed = db.get(Agreement, event.agreement_id)
    if signed is None:  # erased with the rest of the person's record: the entry stands alone
        return True
    return signed.client_id == event.client_id and words_hash(signed.content_ct) == (
        event.agreement_sha256
    )


def sign(
    db: Session,
    agreement: Agreement,
    by: RecordedBy = THE_PERSON,
    signed_name_ct: bytes | None = None,
) -> ConsentEvent:
    """Append a signature of this agreement version to the client's chain."""
    return record(
        db,
        agreement.client_id,
        SIGNATURE_PURPOSE.format(kind=agreement.kind),
        SIGNED,
        None,
        by,
        Signing(agreement.id, words_hash(agreement.content_ct), signed_name_ct),
    )


def signatures(db: Session, client_id: str) -> list[ConsentEvent]:
    """Every signature of the client's agreements, oldest first."""
    return list(
        db.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.client_id == client_id, ConsentEvent.agreement_id.is_not(None))
            .order_by(ConsentEvent.id)
        )
    )


# --- receipts, re-asking and checking -----------------------------------------------------


def _wording(text: ConsentText | None) -> dict[str, object] | None:
    if text is None:
        return None
    return {
        "version": text.version,
        "locale": text.locale,
        "sha256": text.sha256,
        "words": text.body,
    }


def receipt(event: ConsentEvent, texts: Mapping[int, ConsentText]) -> dict[str, object]:
    """What a client keeps after a decision: what, which words (version and hash), when. In a
    draft language, also the reviewed English words that were shown beside them.

    `texts` holds at least the texts the event names (`texts_of`).
    """
    return {
        "record": event.client_id,
        "purpose": event.purpose,
        "decision": event.decision,
        "recorded_by": event.actor,
        "at": event.at.isoformat(),
        "text": _wording(texts.get(event.consent_text_id or 0)),
        "english_beside": _wording(texts.get(event.english_text_id or 0)),
        "receipt_number": receipt_number(event),
        "entry_hash": event.hash,
    }


def texts_by_id(db: Session, ids: set[int]) -> dict[int, ConsentText]:
    if not ids:
        return {}
    return {t.id: t for t in db.scalars(select(ConsentText).where(ConsentText.id.in_(ids)))}


def texts_of(db: Session, events: Iterable[ConsentEvent]) -> dict[int, ConsentText]:
    """Every text these decisions name: the words shown, and any English shown beside them."""
    ids = {i for e in events for i in (e.consent_text_id, e.english_text_id) if i is not None}
    return texts_by_id(db, ids)


def history(db: Session, client_id: str) -> list[ConsentEvent]:
    """Every decision of a client, newest first."""
    return list(db.scalars(_decisions(client_id).order_by(None).order_by(ConsentEvent.id.desc())))


def needs_asking_again(
    db: Session, client_id: str, locale: str
) -> list[tuple[ConsentEvent, ConsentText, ConsentText]]:
    """Agreements given on words that have since changed: (decision, old text, new text).

    Only a "yes" is asked again: a "no" stays a no until the person changes it.
    """
    state = effective_state(db, client_id)
    old_texts = texts_by_id(db, {e.consent_text_id for e in state.values() if e.consent_text_id})
    stale = []
    for purpose, event in state.items():
        if event.decision != Decision.GRANTED or event.consent_text_id is None:
            continue
        old = old_texts[event.consent_text_id]
        try:
            new = current_text(db, purpose, locale)
        except LookupError:
            continue
        if new.version > old.version:
            stale.append((event, old, new))
    return stale


def recorded_by_coach(db: Session, client_id: str) -> list[ConsentEvent]:
    """Decisions a coach recorded for the client (given by voice) that the client has not yet
    confirmed or withdrawn themselves."""
    return recorded_by_coach_for(db, [client_id])[client_id]


def recorded_by_coach_for(db: Session, client_ids: list[str]) -> dict[str, list[ConsentEvent]]:
    """`recorded_by_coach` for each of these clients, in one query for them all: the latest
    decision on each purpose, where a coach recorded it."""
    latest: dict[tuple[str, str], ConsentEvent] = {}
    if client_ids:
        for event in db.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.client_id.in_(client_ids), ConsentEvent.agreement_id.is_(None))
            .order_by(ConsentEvent.id)
        ):
            latest[event.client_id, event.purpose] = event
    found: dict[str, list[ConsentEvent]] = {client_id: [] for client_id in client_ids}
    for (client_id, _purpose), event in latest.items():
        if event.actor == Actor.COACH:
            found[client_id].append(event)
    return found


def _digest_through(db: Session, last_id: int) -> str | None:
    """One hash over the hashes of every decision up to `last_id`, in the order they were
    made; None if that decision is not there."""
    if db.scalar(select(ConsentEvent.id).where(ConsentEvent.id == last_id)) is None:
        return None
    return anchors.digest_of(
        db.scalars(
            select(ConsentEvent.hash).where(ConsentEvent.id <= last_id).order_by(ConsentEvent.id)
        )
    )


def head(db: Session) -> anchors.Anchor | None:
    """The anchor of the ledger as it is now: its newest decision, and a hash over every
    decision of every client up to it (many chains, so the newest hash alone would not do)."""
    if db.get_bind().dialect.name == "postgresql":
        # Wait for decisions being written to be committed, and hold new ones back while this
        # reads: an id below the newest must not be committed after the anchor is taken.
        db.execute(sql("LOCK TABLE consent_event IN SHARE MODE"))
    newest = db.scalar(select(func.max(ConsentEvent.id)))
    if newest is None:
        return None
    digest = _digest_through(db, newest)
    return None if digest is None else anchors.Anchor(newest, digest)


def anchor_state(db: Session, anchor: anchors.Anchor) -> anchors.AnchorState:
    return anchor.compare(_digest_through(db, anchor.entry_id))


def broken_chains(db: Session) -> list[str]:
    """The client ids whose consent chain does not verify."""
    client_ids = db.scalars(select(ConsentEvent.client_id).distinct())
    return [client_id for client_id in client_ids if not verify_chain(db, client_id)]


def publish(db: Session, purpose: str, locale: str, body: str) -> ConsentText:
    """A new version of a consent text; the old versions stay as they were."""
    body = body.strip().replace("\r\n", "\n") + "\n"
    if purpose not in set(Purpose):
        raise ValueError("unknown consent purpose")
    newest = db.scalar(
        select(ConsentText.version)
        .where(ConsentText.purpose == purpose, ConsentText.locale == locale)
        .order_by(ConsentText.version.desc())
        .limit(1)
    )
    # Versions count per language: the same new words in each language share a number.
    files = [t.version for t in read_text_files() if t.purpose == purpose and t.locale == locale]
    version = max([newest or 0, *files]) + 1
    text = ConsentText(
        purpose=purpose, version=version, locale=locale, body=body, sha256=text_hash(body)
    )
    db.add(text)
    db.flush()
    return text
