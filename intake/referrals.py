"""Partner referrals: single-use links and typed codes, sealed notes, what a partner may see,
and the API tokens of partners' own systems.

A partner learns only what the client agreed to share: the status of a referral that a client
has used is shown only while the client's "status to referrer" consent stands. The partner
never reads a note or nickname back: both are sealed to the organisation key at once. The
person referred can read them, in "everything we hold about you", once someone on the team
has opened their record: that look makes a copy sealed under the person's own data key.
Knows nothing of Flask; callers commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake import crypto, vault
from intake.models import (
    ApiToken,
    Client,
    ClientStatus,
    PartnerOrg,
    Referral,
    StaffUser,
    rows_changed,
    utcnow,
)

NOTE_LIMIT = 2000
NICKNAME_LIMIT = 80
PER_PAGE = 25
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


class Status(StrEnum):
    INVITED = "invited"  # not used yet
    STARTED = "started"
    SENT = "sent"
    FIRST_SESSION_AGREED = "first_session_agreed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"  # the partner withdrew it before it was used
    EXPIRED = "expired"
    NOT_SHARED = "not_shared"  # used, and the person has not agreed to share how it goes


class Unusable(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class NewReferral:
    """What the partner is shown once: the secrets exist nowhere else."""

    referral: Referral
    link_token: str
    code: str


@dataclass(frozen=True)
class ReferralRow:
    reference: str
    created_at: datetime
    expires_at: datetime
    status: Status


class ReferralError(Exception):
    """A referral request that cannot be done; the message is safe to show."""


def _note_aad(reference: str, part: str) -> bytes:
    return f"referral-{part}\x00{reference}".encode()


def _new_reference(db: Session) -> str:
    while True:
        reference = "R-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        if db.scalar(select(Referral.id).where(Referral.reference == reference)) is None:
            return reference


def create(
    db: Session,
    *,
    partner_org: PartnerOrg,
    created_by: StaffUser | None,
    locale: str,
    nickname: str,
    note: str,
    org_public_key: bytes,
    keys: vault.KeySettings,
    days: int,
    form_id: str | None = None,
) -> NewReferral:
    """A referral with a link and a typed code; the nickname and note are sealed at once.
    `form_id` names the form the person is asked to fill in (None: the organisation's default)."""
    nickname, note = nickname.strip(), note.strip()
    if len(nickname) > NICKNAME_LIMIT or len(note) > NOTE_LIMIT:
        raise ReferralError("too long")
    reference = _new_reference(db)
    link_token = crypto.new_secret_token()
    code = crypto.generate_referral_code()
    referral = Referral(
        reference=reference,
        partner_org_id=partner_org.id,
        created_by_id=created_by.id if created_by else None,
        token_hash=crypto.token_digest(link_token),
        code_hash=crypto.referral_lookup_hash(
            crypto.normalise_referral_code(code) or "", keys.pepper, keys.lookup
        ),
        locale=locale,
        form_id=form_id,
        status=Status.INVITED,
        note_ct=crypto.seal(org_public_key, note.encode(), _note_aad(reference, "note"))
        if note
        else None,
        nickname_ct=crypto.seal(org_public_key, nickname.encode(), _note_aad(reference, "nickname"))
        if nickname
        else None,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.add(referral)
    db.flush()
    return NewReferral(referral, link_token, code)


def why_closed(referral: Referral | None, now: datetime) -> Unusable | None:
    """What someone holding a link or code is told. A used referral answers exactly as an
    unused one would (withdrawn, too old, or open): whoever finds the card (a partner, or
    someone looking through the person's things) cannot tell whether anyone started."""
    if referral is None:
        return Unusable.UNKNOWN
    if referral.withdrawn_at is not None:
        return Unusable.WITHDRAWN
    if referral.expires_at <= now:
        return Unusable.EXPIRED
    return None


def by_token(db: Session, token: str) -> Referral | None:
    return db.scalar(select(Referral).where(Referral.token_hash == crypto.token_digest(token)))


def by_code(db: Session, typed: str, keys: vault.KeySettings) -> Referral | None:
    """The referral a typed code belongs to. An 8-character code from an older card is found
    by the keyed hash it was stored with."""
    code = crypto.normalise_referral_code(typed)
    if code is None:
        return None
    if len(code) == crypto.LEGACY_REFERRAL_CODE_LENGTH:
        digest = crypto.keyed_digest(keys.pepper, code)
    else:
        digest = crypto.referral_lookup_hash(code, keys.pepper, keys.lookup)
    return db.scalar(select(Referral).where(Referral.code_hash == digest))


def mark_used(db: Session, referral: Referral, client: Client) -> bool:
    """A client has started from this referral: it cannot be used again. False when someone
    else used it a moment before (the conditional update decides who was first)."""
    now = utcnow()
    claimed = rows_changed(
        db,
        update(Referral)
        .where(
            Referral.id == referral.id,
            Referral.used_at.is_(None),
            Referral.withdrawn_at.is_(None),
        )
        .values(used_at=now, status=Status.STARTED),
    )
    if claimed != 1:
        return False
    db.refresh(referral)
    client.referral_id = referral.id
    db.flush()
    return True


def withdraw(referral: Referral) -> bool:
    """Withdraw a referral nobody has used yet. False if it was used already."""
    if referral.used_at is not None or referral.withdrawn_at is not None:
        return False
    referral.withdrawn_at = utcnow()
    referral.status = Status.WITHDRAWN
    return True


def open_sealed(
    referral: Referral, org_key: crypto.PrivateKeyLike
) -> tuple[str | None, str | None]:
    """(nickname, note) for a coach who holds the organisation key."""
    opened: list[str | None] = []
    for part, envelope in (("nickname", referral.nickname_ct), ("note", referral.note_ct)):
        if envelope is None or referral.reference is None:
            opened.append(None)
            continue
        try:
            opened.append(
                crypto.unseal(org_key, envelope, _note_aad(referral.reference, part)).decode()
            )
        except crypto.CannotOpen:
            opened.append(None)
    return opened[0], opened[1]


def _copy_aad(client_id: str) -> bytes:
    return f"referral-copy\x00{client_id}".encode()


def copy_for_client(db: Session, client: Client, org_key: crypto.PrivateKeyLike) -> bool:
    """Give the person a copy of what their referrer wrote (the name used, the note) that
    their own data key opens. Once; True when a copy was made. Callers commit."""
    if client.referral_id is None or client.referral_copy_ct is not None:
        return False
    referral = db.get(Referral, client.referral_id)
    if referral is None:
        return False
    nickname, note = open_sealed(referral, org_key)
    if not nickname and not note:
        return False
    try:
        data_key = vault.unlock_with_org_key(client, org_key)
    except crypto.CannotOpen:
        return False
    client.referral_copy_ct = vault.seal_json(
        data_key, {"nickname": nickname, "note": note}, _copy_aad(client.id)
    )
    db.flush()
    return True


def open_client_copy(client: Client, data_key: bytes) -> tuple[str | None, str | None] | None:
    """(nickname, note) as the person reads them; None when no copy has been made yet."""
    if client.referral_copy_ct is None:
        return None
    opened = vault.open_json(data_key, client.referral_copy_ct, _copy_aad(client.id))
    if not isinstance(opened, dict):
        return None
    nickname, note = opened.get("nickname"), opened.get("note")
    return (
        nickname if isinstance(nickname, str) else None,
        note if isinstance(note, str) else None,
    )


def wrote_something(referral: Referral) -> bool:
    """Did the referrer write a name or a note (without opening either)?"""
    return referral.nickname_ct is not None or referral.note_ct is not None


def reseal_for_org(referral: Referral, old_private_key: bytes, new_public_key: bytes) -> None:
    """Seal the nickname and note to a new organisation key (key rotation). One that does not
    open with the old key (it could not be read before either) is left as it is."""
    for part in ("nickname", "note"):
        envelope = getattr(referral, f"{part}_ct")
        if envelope is None or referral.reference is None:
            continue
        aad = _note_aad(referral.reference, part)
        try:
            opened = crypto.unseal(old_private_key, envelope, aad)
        except crypto.CannotOpen:
            continue
        setattr(referral, f"{part}_ct", crypto.seal(new_public_key, opened, aad))


def status_for_partner(referral: Referral, client: Client | None, now: datetime) -> Status:
    """What the partner may know about this referral, and nothing more."""
    if client is None:
        if referral.withdrawn_at is not None:
            return Status.WITHDRAWN
        if referral.used_at is None and referral.expires_at <= now:
            return Status.EXPIRED
        return Status.INVITED if referral.used_at is None else Status.NOT_SHARED
    if client.status_shared_at is None or client.status == ClientStatus.ERASED:
        return Status.NOT_SHARED
    return {
        ClientStatus.DRAFT: Status.STARTED,
        ClientStatus.SUBMITTED: Status.SENT,
        ClientStatus.ACTIVE: Status.FIRST_SESSION_AGREED,
        ClientStatus.CLOSED: Status.CLOSED,
    }.get(ClientStatus(client.status), Status.NOT_SHARED)


def rows_for(
    db: Session, partner_org_id: int, page: int = 1, per_page: int = PER_PAGE
) -> tuple[list[ReferralRow], int]:
    """One page of a partner organisation's referrals, newest first, and how many in all."""
    total = (
        db.scalar(select(func.count(Referral.id)).where(Referral.partner_org_id == partner_org_id))
        or 0
    )
    if (max(page, 1) - 1) * per_page >= total:
        return [], total  # past the last page: nothing to ask the database for
    now = utcnow()
    rows = db.execute(
        select(Referral, Client)
        .outerjoin(Client, Client.referral_id == Referral.id)
        .where(Referral.partner_org_id == partner_org_id)
        .order_by(Referral.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    return [
        ReferralRow(
            reference=referral.reference or "",
            created_at=referral.created_at,
            expires_at=referral.expires_at,
            status=status_for_partner(referral, client, now),
        )
        for referral, client in rows
    ], total


def one_for(db: Session, partner_org_id: int, reference: str) -> Referral | None:
    """A referral of this partner organisation; None for anyone else's."""
    return db.scalar(
        select(Referral).where(
            Referral.reference == reference, Referral.partner_org_id == partner_org_id
        )
    )


def row_for(db: Session, referral: Referral) -> ReferralRow:
    client = db.scalar(select(Client).where(Client.referral_id == referral.id))
    return ReferralRow(
        referral.reference or "",
        referral.created_at,
        referral.expires_at,
        status_for_partner(referral, client, utcnow()),
    )


# --- API tokens ---------------------------------------------------------------------------


def create_token(
    db: Session, partner_org: PartnerOrg, label: str, created_by: StaffUser | None
) -> str:
    """A new API token; returned once, only its digest is stored."""
    token = "gw_" + crypto.new_secret_token()
    db.add(
        ApiToken(
            partner_org_id=partner_org.id,
            token_hash=crypto.token_digest(token),
            label=label.strip()[:80] or "API",
            created_by_id=created_by.id if created_by else None,
        )
    )
    db.flush()
    return token


def token_owner(db: Session, token: str) -> ApiToken | None:
    """The live (not revoked) token with this value."""
    found = db.scalar(select(ApiToken).where(ApiToken.token_hash == crypto.token_digest(token)))
    if found is None or found.revoked_at is not None:
        return None
    return found


def tokens_of(db: Session, partner_org_id: int) -> list[ApiToken]:
    return list(
        db.scalars(
            select(ApiToken)
            .where(ApiToken.partner_org_id == partner_org_id)
            .order_by(ApiToken.id.desc())
        )
    )


def revoke_token(db: Session, partner_org_id: int, token_id: int) -> bool:
    found = db.get(ApiToken, token_id)
    if found is None or found.partner_org_id != partner_org_id or found.revoked_at is not None:
        return False
    found.revoked_at = utcnow()
    db.flush()
    return True
