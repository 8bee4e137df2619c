"""Who can read a person's answers, worked out from their real situation.

Every client page that says who reads the answers says the same thing, and it is true: it is
computed here from what the person chose and what has happened (sent or not, a coach yet or
not, referred or not, what the referrer may know), never written by hand on a page.

Knows nothing of Flask: it returns which statements apply; `intake/client/words.py` holds
their words in every language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from intake.models import Client, ClientStatus


class Readers(StrEnum):
    """Who can read the answers now (one of these applies)."""

    NOT_KEPT = "not_kept"  # this visit only: nothing is kept, nobody else can read
    NOBODY_UNTIL_SENT = "nobody_until_sent"  # kept (or not decided yet), not sent
    WHOEVER_FINDS_A_COACH = "finds_a_coach"  # sent, no coach yet
    COACH = "coach"  # sent, with a coach
    NOBODY_SHARING_STOPPED = "sharing_stopped"  # sent, then "a coach can read" withdrawn


class Referrer(StrEnum):
    """What the organisation that sent the person can know (only when they were referred)."""

    NOTHING = "nothing"  # neither the answers nor how it is going
    HOW_IT_IS_GOING = "how_it_is_going"  # the person said yes to status updates


@dataclass(frozen=True)
class Situation:
    kept: bool = False
    sent: bool = False
    shared: bool = False
    has_coach: bool = False
    referred: bool = False
    referrer_told: bool = False


@dataclass(frozen=True)
class Statement:
    readers: Readers
    referrer: Referrer | None  # None: nobody referred them


def situation_of(client: Client | None, *, referred: bool = False) -> Situation:
    """The situation of a kept record, or of a visitor who has kept nothing (client None)."""
    if client is None:
        return Situation(referred=referred)
    return Situation(
        kept=True,
        sent=client.status != ClientStatus.DRAFT,
        shared=client.shared_at is not None,
        has_coach=client.assigned_coach_id is not None,
        referred=client.referral_id is not None,
        referrer_told=client.status_shared_at is not None,
    )


def statement(situation: Situation, *, visit_only: bool = False) -> Statement:
    """Who can read the answers in this situation.

    Before sending, nobody on the team can open a record (the workspace lists only sent
    records whose owner said a coach may read them); after sending, the admins who find
    coaches and the coach assigned can. A partner never reads answers.
    """
    if visit_only:
        readers = Readers.NOT_KEPT
    elif not situation.kept or not situation.sent:
        readers = Readers.NOBODY_UNTIL_SENT
    elif not situation.shared:
        readers = Readers.NOBODY_SHARING_STOPPED
    elif situation.has_coach:
        readers = Readers.COACH
    else:
        readers = Readers.WHOEVER_FINDS_A_COACH
    referrer = None
    if situation.referred:
        referrer = Referrer.HOW_IT_IS_GOING if situation.referrer_told else Referrer.NOTHING
    return Statement(readers, referrer)
