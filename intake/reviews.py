""" "Are we on track?" reviews (DESIGN.md §7, docs/agreements.md): when one is due, what the
person says and what their coach says, and what a review opens for change.

The rhythm is an organisation's setting: a review is due after so many sessions (check-ins,
prepared or not) or so many days since coaching began or since the last review, whichever
comes first. The person is never reminded: they are invited on their own page. The coach sees
it on theirs, and hears of it once by a notice that says nothing more (intake/due_notices.py).
Both parts of a review are sealed under the client's data key; whether either asked for a
change is inside them. Where either says the goals or the agreement should change, that kind
is open for change until a version linked to the review is written.

Knows nothing of Flask; callers commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import vault
from intake.models import Agreement, AgreementKind, CheckIn, Client, Review, StaffUser, utcnow

TEXT_LIMIT = 2000
RATHER_NOT = "rather_not_say"
CHANGE = "change"

# The person's questions (every one can be skipped), and the choices of the three asked as
# choices. The coach answers the same two questions about change, and writes their view.
TEXTS = ("working", "not_working")
GOALS_CHOICES = ("still_fit", CHANGE, "not_sure", RATHER_NOT)
SAFE_CHOICES = ("safe", "mostly_safe", "not_always_safe", "not_safe", RATHER_NOT)
AGREEMENT_CHOICES = ("keep", CHANGE, "not_sure", RATHER_NOT)
CHOICES = {"goals": GOALS_CHOICES, "safe": SAFE_CHOICES, "agreement": AGREEMENT_CHOICES}
COACH_CHOICES = {"goals": GOALS_CHOICES[:3], "agreement": AGREEMENT_CHOICES[:3]}
COACH_TEXT = "view"
# Which answer opens which kind of agreement for change.
OPENS = {"goals": AgreementKind.PLAN, "agreement": AgreementKind.RELATIONSHIP}


@dataclass(frozen=True)
class Rhythm:
    """How often a review is due: after `sessions` sessions or `days` days, the first."""

    sessions: int = 4
    days: int = 42


@dataclass(frozen=True)
class NextReview:
    started: bool  # False before coaching has begun (nothing agreed, no session): none is due
    due: bool
    since: datetime | None  # the last review, or when coaching began
    sessions_since: int
    sessions_left: int
    due_on: datetime | None


@dataclass(frozen=True)
class OpenedReview:
    record: Review
    answers: dict[str, str] | None  # None when it would not open
    coach_view: dict[str, str] | None

    def asks_change(self, question: str) -> bool:
        """Whether the person or their coach said this (goals, agreement) should change."""
        return any(
            part is not None and part.get(question) == CHANGE
            for part in (self.answers, self.coach_view)
        )


def _aad(client_id: str, created_at: datetime, part: str) -> bytes:
    return f"review\x00{client_id}\x00{created_at.isoformat()}\x00{part}".encode()


def _kept(
    fields: Mapping[str, str], texts: tuple[str, ...], choices: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """What was given, cleaned: texts trimmed to the limit, choices only from their lists."""
    kept = {key: fields[key].strip()[:TEXT_LIMIT] for key in texts if fields.get(key, "").strip()}
    kept.update(
        {key: fields[key] for key, allowed in choices.items() if fields.get(key) in allowed}
    )
    return kept


def next_review(db: Session, client_id: str, rhythm: Rhythm, now: datetime) -> NextReview:
    """When the next review is due for this person."""
    return next_reviews(db, [client_id], rhythm, now)[client_id]


def next_reviews(
    db: Session, client_ids: list[str], rhythm: Rhythm, now: datetime
) -> dict[str, NextReview]:
    """When the next review is due, for each of these people (a few queries for them all)."""
    if not client_ids:
        return {}
    last_review = _by_client(db, func.max(Review.created_at), Review.client_id, client_ids)
    first_agreement = _by_client(
        db, func.min(Agreement.created_at), Agreement.client_id, client_ids
    )
    check_ins: dict[str, list[datetime]] = {}
    for client_id, at in db.execute(
        select(CheckIn.client_id, CheckIn.created_at).where(CheckIn.client_id.in_(client_ids))
    ):
        check_ins.setdefault(client_id, []).append(at)
    found = {}
    for client_id in client_ids:
        sessions = check_ins.get(client_id, [])
        firsts = [at for at in (first_agreement.get(client_id), *sessions) if at is not None]
        began = min(firsts) if firsts else None  # the first thing agreed or brought
        found[client_id] = _next(last_review.get(client_id), began, sessions, rhythm, now)
    return found


def _by_client(
    db: Session, value: Any, client_column: Any, client_ids: list[str]
) -> dict[str, datetime]:
    rows = db.execute(
        select(client_column, value).where(client_column.in_(client_ids)).group_by(client_column)
    )
    return {client_id: at for client_id, at in rows if at is not None}


def _next(
    last_review: datetime | None,
    began: datetime | None,
    check_ins: list[datetime],
    rhythm: Rhythm,
    now: datetime,
) -> NextReview:
    since = last_review or began
    if since is None:  # nothing agreed and no session yet: coaching has not begun
        return NextReview(False, False, None, 0, rhythm.sessions, None)
    if last_review is not None:  # sessions after the last review
        sessions = sum(1 for at in check_ins if at > last_review)
    else:  # sessions since coaching began, the first included (check-ins are to the second)
        sessions = sum(1 for at in check_ins if at >= since.replace(microsecond=0))
    due_on = since + timedelta(days=rhythm.days)
    return NextReview(
        started=True,
        due=sessions >= rhythm.sessions or now >= due_on,
        since=since,
        sessions_since=sessions,
        sessions_left=max(rhythm.sessions - sessions, 0),
        due_on=due_on,
    )


def sent_since(db: Session, client_id: str, since: datetime) -> int:
    """How many reviews the person has sent since then (the cap on reviews a day)."""
    return int(
        db.scalar(
            select(func.count(Review.id)).where(
                Review.client_id == client_id, Review.created_at >= since
            )
        )
        or 0
    )


def add_review(db: Session, client: Client, data_key: bytes, fields: Mapping[str, str]) -> Review:
    """What the person says about how coaching is going. Every part may be skipped."""
    created_at = utcnow()
    answers = _kept(fields, TEXTS, CHOICES)
    review = Review(
        client_id=client.id,
        created_at=created_at,
        content_ct=vault.seal_json(data_key, answers, _aad(client.id, created_at, "client")),
    )
    db.add(review)
    client.updated_at = created_at
    db.flush()
    return review


def add_coach_view(
    db: Session, review: Review, data_key: bytes, coach: StaffUser, fields: Mapping[str, str]
) -> None:
    """The coach's view of this review: what they see, and whether the goals or the agreement
    should change. Written once; the person reads it."""
    view = _kept(fields, (COACH_TEXT,), COACH_CHOICES)
    review.coach_view_ct = vault.seal_json(
        data_key, view, _aad(review.client_id, review.created_at, "coach")
    )
    review.coach_id = coach.id
    review.coach_at = utcnow()
    db.flush()


def reviews(db: Session, client_id: str) -> list[Review]:
    """Newest first."""
    return list(
        db.scalars(select(Review).where(Review.client_id == client_id).order_by(Review.id.desc()))
    )


def open_review(review: Review, data_key: bytes) -> OpenedReview:
    answers = vault.open_json(
        data_key, review.content_ct, _aad(review.client_id, review.created_at, "client")
    )
    view = None
    if review.coach_view_ct is not None:
        view = vault.open_json(
            data_key, review.coach_view_ct, _aad(review.client_id, review.created_at, "coach")
        )
    return OpenedReview(
        review,
        _strings(answers),
        _strings(view),
    )


def _strings(opened: object) -> dict[str, str] | None:
    if not isinstance(opened, dict):
        return None
    return {str(key): str(value) for key, value in opened.items()}


def open_for_change(db: Session, opened: list[OpenedReview]) -> dict[str, OpenedReview]:
    """The kinds of agreement a review has opened for change: for each kind, the newest review
    asking to change it, until a version linked to it is written (the coach's next version of
    that kind is linked to it)."""
    found: dict[str, OpenedReview] = {}
    for question, kind in OPENS.items():
        asking = next((r for r in opened if r.asks_change(question)), None)  # newest first
        if asking is None:
            continue
        answered = db.scalar(
            select(func.count(Agreement.id)).where(
                Agreement.client_id == asking.record.client_id,
                Agreement.kind == kind,
                Agreement.review_id == asking.record.id,
            )
        )
        if not answered:
            found[kind] = asking
    return found
