"""Consent receipts, as the person meets them.

Every decision has a receipt: what, which words (version and hash), when, and a short
receipt number. There is no page in the way after each decision: the next page confirms it
in one calm line, with a link to all receipts (`/receipts`), where each can be saved as JSON.

Erasing everything is the one exception: there is no next page in a record that is gone, so
its receipt is shown on a page of its own, kept in the session (it survives the erasure it
describes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import redirect, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from intake import consent
from intake.models import ConsentEvent, ConsentText
from intake.sessions import current_session

JUST_DECIDED = "just_decided"
ERASED = "erased_receipts"


def note(decisions: Iterable[ConsentEvent]) -> None:
    """Confirm these decisions on the next page the person sees."""
    items = [
        {
            "purpose": event.purpose,
            "decision": event.decision,
            "number": consent.receipt_number(event),
        }
        for event in decisions
    ]
    if items:
        current_session()[JUST_DECIDED] = items


def just_decided() -> list[dict[str, str]]:
    """The decisions to confirm on this page, once."""
    session = current_session()
    items = session.get(JUST_DECIDED)
    if not items:
        return []
    session.pop(JUST_DECIDED, None)
    return items if isinstance(items, list) else []


def give_erased(
    decisions: Iterable[ConsentEvent], texts: Mapping[int, ConsentText]
) -> WerkzeugResponse:
    """Keep the receipt of an erasure in the session and show it."""
    items = [{**consent.receipt(event, texts), "erased": True} for event in decisions]
    current_session()[ERASED] = items
    return redirect(url_for("client.deleted"))


def erased() -> list[dict[str, object]]:
    items = current_session().get(ERASED)
    return items if isinstance(items, list) else []
