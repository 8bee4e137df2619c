"""The three levels of the coaching agreement (DESIGN.md §7), as records.

1. The relationship agreement: the client's PROMISES answers, and the coach's side (what every
   coach of the organisation promises, from the form, with the coach's own words under each
   part), accepted by the coach as a versioned agreement, which both then sign.
2. The coaching plan: goals the coach writes with the client; both sign it, or the client
   asks for a change, with a note.
3. Session check-ins: before a session the client may say today's goal, anything off-limits
   today and how they are arriving; the coach records what was agreed (also for a session the
   client did not prepare for), and the client confirms it or adds a comment.

Every version is kept. Content is encrypted under the client's data key, like the answers.
A signature is an entry in the consent ledger's chain holding a hash of the version's sealed
words (`consent.sign`); the name a person types to sign is sealed under their data key.
Knows nothing of Flask; callers commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import consent, crypto, vault
from intake.form_definition import CoachPart
from intake.models import (
    Agreement,
    AgreementKind,
    CheckIn,
    Client,
    ConsentEvent,
    StaffUser,
    Strength,
    utcnow,
)

CHECK_IN_FIELDS = ("goal", "off_limits", "arriving")
TEXT_LIMIT = 2000
NAME_LIMIT = 200


class Response(StrEnum):
    CONFIRMED = "confirmed"
    CHANGE = "change_requested"


@dataclass(frozen=True)
class OpenedAgreement:
    record: Agreement
    content: dict[str, object] | None  # None when it would not open
    note: str | None


@dataclass(frozen=True)
class OpenedCheckIn:
    record: CheckIn
    brought: dict[str, str] | None
    agreed: str | None
    note: str | None = None  # the client's comment on what was agreed


def _content_aad(client_id: str, kind: str, version: int) -> bytes:
    return f"agreement\x00{client_id}\x00{kind}\x00{version}".encode()


def _note_aad(client_id: str, kind: str, version: int) -> bytes:
    return f"agreement-note\x00{client_id}\x00{kind}\x00{version}".encode()


def _check_in_aad(client_id: str, created_at: datetime, part: str) -> bytes:
    return f"check-in\x00{client_id}\x00{created_at.isoformat()}\x00{part}".encode()


def latest(db: Session, client_id: str, kind: str) -> Agreement | None:
    return db.scalar(
        select(Agreement)
        .where(Agreement.client_id == client_id, Agreement.kind == kind)
        .order_by(Agreement.version.desc())
        .limit(1)
    )


def versions(db: Session, client_id: str, kind: str) -> list[Agreement]:
    """Every version, newest first."""
    return list(
        db.scalars(
            select(Agreement)
            .where(Agreement.client_id == client_id, Agreement.kind == kind)
            .order_by(Agreement.version.desc())
        )
    )


def _open_text(data_key: bytes, envelope: bytes | None, aad: bytes) -> str | None:
    """A sealed text, or None when there is none or it would not open."""
    if envelope is None:
        return None
    opened = vault.open_json(data_key, envelope, aad)
    return opened if isinstance(opened, str) else None


def open_agreement(agreement: Agreement, data_key: bytes) -> OpenedAgreement:
    content = vault.open_json(
        data_key,
        agreement.content_ct,
        _content_aad(agreement.client_id, agreement.kind, agreement.version),
    )
    note = _open_text(
        data_key,
        agreement.client_note_ct,
        _note_aad(agreement.client_id, agreement.kind, agreement.version),
    )
    return OpenedAgreement(agreement, content if isinstance(content, dict) else None, note)


def _new_version(
    db: Session,
    client: Client,
    data_key: bytes,
    kind: str,
    content: Mapping[str, object],
    coach: StaffUser,
    review_id: int | None = None,
) -> Agreement:
    previous = latest(db, client.id, kind)
    version = 1 if previous is None else previous.version + 1
    now = utcnow()
    agreement = Agreement(
        client_id=client.id,
        kind=str(kind),
        version=version,
        content_ct=vault.seal_json(data_key, dict(content), _content_aad(client.id, kind, version)),
        written_by_id=coach.id,
        created_at=now,
        coach_accepted_at=now,
        review_id=review_id,
    )
    db.add(agreement)
    client.updated_at = now
    db.flush()
    return agreement


def accept_relationship(
    db: Session,
    client: Client,
    data_key: bytes,
    coach: StaffUser,
    promises: Mapping[str, Mapping[str, object]],
    coach_side: tuple[CoachPart, ...] = (),
    own_words: Mapping[str, str] | None = None,
    review_id: int | None = None,
) -> Agreement:
    """The coach accepts the client's PROMISES answers as they stand now, with their own side
    (the organisation's words in every language of the form, and the coach's own words under
    each part), frozen word for word: a new version."""
    own = own_words or {}
    side = [
        {
            "key": part.key,
            "heading": dict(part.heading.texts),
            "text": dict(part.text.texts),
            "own": own.get(part.key, ""),
        }
        for part in coach_side
    ]
    content = {"promises": dict(promises), "coach": coach.display_name, "coach_side": side}
    return _new_version(db, client, data_key, AgreementKind.RELATIONSHIP, content, coach, review_id)


@dataclass(frozen=True)
class CoachSidePart:
    """One part of the coach's side as a person reads it, in their language."""

    key: str
    heading: str
    text: str
    own: str  # the coach's own words under it, as they wrote them ("" if none)


def coach_side_in(content: Mapping[str, object], language: str) -> list[CoachSidePart]:
    """The coach's side frozen in an agreement, in `language` (English where it lacks one)."""
    parts = content.get("coach_side")
    shown = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        heading, text = part.get("heading"), part.get("text")
        shown.append(
            CoachSidePart(
                str(part.get("key", "")),
                _in_language(heading, language),
                _in_language(text, language),
                str(part.get("own") or ""),
            )
        )
    return shown


def _in_language(texts: object, language: str) -> str:
    if not isinstance(texts, dict):
        return ""
    return str(texts.get(language) or texts.get("en") or "")


# --- a coach's own words -------------------------------------------------------------------


def _own_words_aad(staff_id: int) -> bytes:
    return f"coach-own-words\x00{staff_id}".encode()


def set_own_words(member: StaffUser, words: Mapping[str, str]) -> None:
    """What this coach adds under each part of the coach's side, sealed to their own public
    key: only they can read it back, and it reaches a client only inside an agreement."""
    if member.public_key is None:
        raise ValueError("a staff member without a personal key")
    kept = {key: text.strip()[:TEXT_LIMIT] for key, text in words.items() if text.strip()}
    member.own_words_ct = (
        crypto.seal(
            member.public_key,
            json.dumps(kept, ensure_ascii=False).encode(),
            _own_words_aad(member.id),
        )
        if kept
        else None
    )


def own_words(member: StaffUser, personal_key: bytes) -> dict[str, str]:
    """This coach's own words, opened with the personal key their session holds."""
    if member.own_words_ct is None:
        return {}
    try:
        opened = json.loads(
            crypto.unseal(personal_key, member.own_words_ct, _own_words_aad(member.id))
        )
    except (crypto.CannotOpen, ValueError):
        return {}
    return {str(k): str(v) for k, v in opened.items()} if isinstance(opened, dict) else {}


def write_plan(
    db: Session,
    client: Client,
    data_key: bytes,
    coach: StaffUser,
    goals: list[str],
    review_id: int | None = None,
) -> Agreement:
    """A coaching plan (its goals, in order), written with the client: a new version, linked
    to the review that asked for it, if one did."""
    cleaned = [goal.strip()[:TEXT_LIMIT] for goal in goals if goal.strip()]
    return _new_version(
        db, client, data_key, AgreementKind.PLAN, {"goals": cleaned}, coach, review_id
    )


def respond(
    db: Session, agreement: Agreement, data_key: bytes, response: str, note: str = ""
) -> None:
    """The client confirms this version, or asks for a change (with an optional note)."""
    aad = _note_aad(agreement.client_id, agreement.kind, agreement.version)
    _client_answers(agreement, data_key, response, note, aad)
    db.flush()


def _client_answers(
    record: Agreement | CheckIn, data_key: bytes, response: str, note: str, aad: bytes
) -> None:
    """The client's answer to something agreed, and their note, sealed under their data key."""
    record.client_response = str(Response(response))
    record.client_response_at = utcnow()
    note = note.strip()[:TEXT_LIMIT]
    record.client_note_ct = vault.seal_json(data_key, note, aad) if note else None


# --- signatures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature of an agreement version, as both sides read it."""

    agreement_id: int
    by_coach: bool
    staff_id: int | None
    at: datetime
    typed_name: str | None  # what the person typed; None when they ticked "I agree"
    receipt: str  # the entry's receipt number in the ledger


def _signed_name_aad(client_id: str, agreement_id: int) -> bytes:
    return f"signed-name\x00{client_id}\x00{agreement_id}".encode()


def sign_as_client(
    db: Session, agreement: Agreement, data_key: bytes, typed_name: str = ""
) -> ConsentEvent | None:
    """The person signs this version: with the name they typed, or (with none) by ticking
    "I agree". Their answer becomes "confirmed". A second press records nothing more."""
    if agreement.client_response == Response.CONFIRMED and _signed_by(
        db, agreement, consent.Actor.CLIENT, None
    ):
        return None
    name = typed_name.strip()[:NAME_LIMIT]
    name_ct = (
        vault.seal_json(data_key, name, _signed_name_aad(agreement.client_id, agreement.id))
        if name
        else None
    )
    event = consent.sign(db, agreement, consent.THE_PERSON, name_ct)
    agreement.client_response = str(Response.CONFIRMED)
    agreement.client_response_at = event.at
    agreement.client_note_ct = None
    db.flush()
    return event


def sign_as_coach(db: Session, agreement: Agreement, coach: StaffUser) -> ConsentEvent | None:
    """The coach signs the same version. Once each: a second press records nothing more."""
    if _signed_by(db, agreement, consent.Actor.COACH, coach.id):
        return None
    return consent.sign(db, agreement, consent.RecordedBy(consent.Actor.COACH, coach.id))


def _signed_by(db: Session, agreement: Agreement, actor: str, staff_id: int | None) -> bool:
    return any(
        event.agreement_id == agreement.id
        and event.actor == actor
        and (staff_id is None or event.actor_staff_id == staff_id)
        for event in consent.signatures(db, agreement.client_id)
    )


def signatures(db: Session, client_id: str, data_key: bytes) -> dict[int, list[Signature]]:
    """Every signature of the client's agreements, by agreement version id, oldest first."""
    found: dict[int, list[Signature]] = {}
    for event in consent.signatures(db, client_id):
        assert event.agreement_id is not None
        name = _open_text(
            data_key, event.signed_name_ct, _signed_name_aad(client_id, event.agreement_id)
        )
        found.setdefault(event.agreement_id, []).append(
            Signature(
                event.agreement_id,
                event.actor == consent.Actor.COACH,
                event.actor_staff_id,
                event.at,
                name,
                consent.receipt_number(event),
            )
        )
    return found


def check_ins_since(db: Session, client_id: str, since: datetime) -> int:
    """How many check-ins the client has sent since then (the cap on check-ins a day)."""
    return int(
        db.scalar(
            select(func.count(CheckIn.id)).where(
                CheckIn.client_id == client_id, CheckIn.created_at >= since
            )
        )
        or 0
    )


def add_check_in(
    db: Session, client: Client, data_key: bytes, fields: Mapping[str, str]
) -> CheckIn:
    """What the client brings to today's session. Every part is optional."""
    brought = {
        key: fields[key].strip()[:TEXT_LIMIT]
        for key in CHECK_IN_FIELDS
        if fields.get(key, "").strip()
    }
    created_at = utcnow().replace(microsecond=0)
    check_in = CheckIn(
        client_id=client.id,
        created_at=created_at,
        content_ct=vault.seal_json(
            data_key, brought, _check_in_aad(client.id, created_at, "brought")
        ),
    )
    db.add(check_in)
    client.updated_at = created_at
    db.flush()
    return check_in


def record_agreed(
    db: Session, check_in: CheckIn, data_key: bytes, coach: StaffUser, agreed: str
) -> None:
    """What the coach and client agreed for this session."""
    check_in.agreed_ct = vault.seal_json(
        data_key,
        agreed.strip()[:TEXT_LIMIT],
        _check_in_aad(check_in.client_id, check_in.created_at, "agreed"),
    )
    check_in.agreed_by_id = coach.id
    check_in.agreed_at = utcnow()
    db.flush()


def record_session(
    db: Session, client: Client, data_key: bytes, coach: StaffUser, agreed: str
) -> CheckIn:
    """What was agreed at a session the client did not prepare for: a check-in the coach
    starts, with nothing brought, which the client can then confirm or comment on."""
    created_at = utcnow().replace(microsecond=0)
    check_in = CheckIn(
        client_id=client.id,
        created_at=created_at,
        content_ct=vault.seal_json(data_key, {}, _check_in_aad(client.id, created_at, "brought")),
        started_by_id=coach.id,
    )
    db.add(check_in)
    db.flush()
    record_agreed(db, check_in, data_key, coach, agreed)
    client.updated_at = created_at
    return check_in


def respond_to_session(
    db: Session, check_in: CheckIn, data_key: bytes, response: str, note: str = ""
) -> None:
    """The client confirms what was agreed at a session, or asks for a change with a note."""
    aad = _check_in_aad(check_in.client_id, check_in.created_at, "note")
    _client_answers(check_in, data_key, response, note, aad)
    db.flush()


def check_ins(db: Session, client_id: str) -> list[CheckIn]:
    """Newest first."""
    return list(
        db.scalars(
            select(CheckIn).where(CheckIn.client_id == client_id).order_by(CheckIn.id.desc())
        )
    )


def open_check_in(check_in: CheckIn, data_key: bytes) -> OpenedCheckIn:
    brought = vault.open_json(
        data_key,
        check_in.content_ct,
        _check_in_aad(check_in.client_id, check_in.created_at, "brought"),
    )
    agreed = _open_text(
        data_key,
        check_in.agreed_ct,
        _check_in_aad(check_in.client_id, check_in.created_at, "agreed"),
    )
    note = _open_text(
        data_key,
        check_in.client_note_ct,
        _check_in_aad(check_in.client_id, check_in.created_at, "note"),
    )
    return OpenedCheckIn(check_in, brought if isinstance(brought, dict) else None, agreed, note)


# --- strengths and past successes ----------------------------------------------------------


@dataclass(frozen=True)
class OpenedStrength:
    text: str | None  # None when it would not open
    by_coach: bool
    at: datetime


def _strength_aad(client_id: str) -> bytes:
    return f"strength\x00{client_id}".encode()


def add_strength(
    db: Session, client: Client, data_key: bytes, text: str, coach: StaffUser | None = None
) -> Strength:
    """Something the person managed, added by them (`coach` None) or by their coach."""
    strength = Strength(
        client_id=client.id,
        added_by_id=coach.id if coach else None,
        text_ct=vault.seal_json(data_key, text.strip()[:TEXT_LIMIT], _strength_aad(client.id)),
        created_at=utcnow(),
    )
    db.add(strength)
    client.updated_at = strength.created_at
    db.flush()
    return strength


def strengths_added(db: Session, client_id: str, data_key: bytes) -> list[OpenedStrength]:
    """What the person and their coach added over time, oldest first."""
    found = []
    for strength in db.scalars(
        select(Strength).where(Strength.client_id == client_id).order_by(Strength.id)
    ):
        found.append(
            OpenedStrength(
                _open_text(data_key, strength.text_ct, _strength_aad(client_id)),
                strength.added_by_id is not None,
                strength.created_at,
            )
        )
    return found
