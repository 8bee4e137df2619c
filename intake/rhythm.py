"""What each person's coaching is waiting for, as their coach's workspace shows it: the next
"are we on track?" review, reviews waiting for the coach's view, and agreement versions
waiting for a signature (docs/agreements.md). Read for a page of clients at once, from
columns that hold no words: nothing here is opened.

Knows nothing of Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import consent, reviews
from intake.models import Agreement, AgreementKind, ConsentEvent, Review


@dataclass(frozen=True)
class Waiting:
    next_review: reviews.NextReview
    reviews_to_read: int  # reviews the person sent that have no view from their coach yet
    coach_to_sign: tuple[str, ...]  # kinds whose newest version no coach has signed
    them_to_sign: tuple[str, ...]  # kinds whose newest version the person has not answered

    @property
    def anything(self) -> bool:
        return bool(
            self.next_review.due or self.reviews_to_read or self.coach_to_sign or self.them_to_sign
        )


def waiting_for(
    db: Session, client_ids: list[str], rhythm: reviews.Rhythm, now: datetime
) -> dict[str, Waiting]:
    """For each of these people, what their coaching waits for."""
    if not client_ids:
        return {}
    due = reviews.next_reviews(db, client_ids, rhythm, now)
    to_read = dict(
        db.execute(
            select(Review.client_id, func.count(Review.id))
            .where(Review.client_id.in_(client_ids), Review.coach_view_ct.is_(None))
            .group_by(Review.client_id)
        ).all()
    )
    newest: dict[tuple[str, str], tuple[int, int, str | None]] = {}
    for agreement_id, client_id, kind, version, response in db.execute(
        select(
            Agreement.id,
            Agreement.client_id,
            Agreement.kind,
            Agreement.version,
            Agreement.client_response,
        ).where(Agreement.client_id.in_(client_ids))
    ):
        if (client_id, kind) not in newest or version > newest[client_id, kind][1]:
            newest[client_id, kind] = (agreement_id, version, response)
    signed_by_coach = set(
        db.scalars(
            select(ConsentEvent.agreement_id).where(
                ConsentEvent.agreement_id.in_([row[0] for row in newest.values()]),
                ConsentEvent.actor == consent.Actor.COACH,
            )
        )
    )
    return {
        client_id: Waiting(
            next_review=due[client_id],
            reviews_to_read=int(to_read.get(client_id, 0)),
            coach_to_sign=tuple(
                kind
                for kind in AgreementKind
                if (row := newest.get((client_id, kind))) and row[0] not in signed_by_coach
            ),
            them_to_sign=tuple(
                kind
                for kind in AgreementKind
                if (row := newest.get((client_id, kind))) and row[2] is None
            ),
        )
        for client_id in client_ids
    }
