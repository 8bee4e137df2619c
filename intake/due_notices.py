"""Notices that come with the passing of time, not from anyone's request (DESIGN.md §12): to a
person's coach, when their "are we on track?" review has come due (intake/reviews.py), and
when a decision the coach recorded by voice has waited `remind_after` for the person to
confirm or change it themselves (intake/consent.py): the coach can go over it with them at
their next session.

Each is told once. A notice names no client, so the client's row remembers what its coach was
told of (`Client.review_due_told_for`, `Client.voice_waiting_told_for`): the review come due,
as the moment it counts from, and the newest decision by voice that waited too long, as the
moment it was recorded. A review is told of again only when a later one falls due; consent by
voice only when a newer decision has waited as long. Only people in coaching count: their
answers sent and still shared with a coach who is still here, their record neither closed
nor erased (the coach's own list). `flask notices send` looks at every run: four plain
columns of everyone in one query, then the rhythm and the ledger a page of people at a time,
from columns that hold no words. Nothing is opened.

Knows nothing of Flask; callers commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from intake import consent, notices, reviews
from intake.models import Client, ClientStatus, ConsentEvent, StaffUser

PAGE = 500  # people read at once
IN_COACHING = (ClientStatus.SUBMITTED, ClientStatus.ACTIVE)

# A person in coaching: their id, their coach, and what the coach was told of.
Coached = Row[str, int | None, datetime | None, datetime | None]


def queue_due(
    db: Session,
    now: datetime,
    rhythm: reviews.Rhythm,
    remind_after: timedelta,
    defaults: Mapping[str, str],
    digest_hour: int = 8,
) -> int:
    """Queue a notice to the coach of everyone whose review has come due, or whose decision
    recorded by voice has waited `remind_after`, since their coach was last told; remember it
    on their row. How many notices were queued (at most one a coach for each kind and page)."""
    queued = 0
    everyone = _in_coaching(db)
    for start in range(0, len(everyone), PAGE):
        page = everyone[start : start + PAGE]
        due = _reviews_due(db, page, rhythm, now)
        waiting = _voice_waiting(db, page, now - remind_after)
        for kind, told, mark in (
            (notices.Kind.REVIEW_DUE, due, "review_due_told_for"),
            (notices.Kind.VOICE_WAITING, waiting, "voice_waiting_told_for"),
        ):
            if told:  # by primary key: one statement for them all
                db.execute(update(Client), [{"id": cid, mark: at} for cid, at in told.items()])
            coaches = {row.assigned_coach_id for row in page if row.id in told}
            queued += notices.notify(
                db, [c for c in coaches if c is not None], kind, defaults, digest_hour, now=now
            )
    return queued


def _in_coaching(db: Session) -> Sequence[Coached]:
    """Everyone in coaching, with their coach and what the coach was told of: four plain
    columns a person, in one query (then read a page at a time)."""
    here = select(StaffUser.id).where(StaffUser.active.is_(True))
    return db.execute(
        select(
            Client.id,
            Client.assigned_coach_id,
            Client.review_due_told_for,
            Client.voice_waiting_told_for,
        ).where(
            Client.status.in_(IN_COACHING),
            Client.shared_at.is_not(None),
            Client.assigned_coach_id.in_(here),
        )
    ).all()


def _reviews_due(
    db: Session, page: Sequence[Coached], rhythm: reviews.Rhythm, now: datetime
) -> dict[str, datetime]:
    """Whose review has come due and their coach not told of it: the moment each counts from."""
    found = reviews.next_reviews(db, [row.id for row in page], rhythm, now)
    told = {}
    for row in page:
        since, mark = found[row.id].since, row.review_due_told_for
        if found[row.id].due and since is not None and (mark is None or since > mark):
            told[row.id] = since
    return told


def _voice_waiting(db: Session, page: Sequence[Coached], cutoff: datetime) -> dict[str, datetime]:
    """Whose decision recorded by voice has waited since `cutoff` or before, newer than what
    their coach was told of: the moment the newest such decision was recorded."""
    marks = {row.id: row.voice_waiting_told_for for row in page}
    # Only people with a decision recorded by a coach long enough ago, and after the last one
    # told of, can have one waiting: a first look in one query, then the ledger for them.
    maybe = {
        client_id
        for client_id, at in db.execute(
            select(ConsentEvent.client_id, ConsentEvent.at).where(
                ConsentEvent.client_id.in_(marks),
                ConsentEvent.actor == consent.Actor.COACH,
                ConsentEvent.agreement_id.is_(None),
                ConsentEvent.at <= cutoff,
            )
        )
        if (mark := marks[client_id]) is None or at > mark
    }
    told = {}
    for client_id, recorded in consent.recorded_by_coach_for(db, sorted(maybe)).items():
        waited = [event.at for event in recorded if event.at <= cutoff]
        mark = marks[client_id]
        if waited and (mark is None or max(waited) > mark):
            told[client_id] = max(waited)
    return told
