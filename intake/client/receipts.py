"""Consent receipts: after every decision the person sees what they decided, on which words
(version and fingerprint) and when, on a page that reads well as a screenshot, with a JSON copy
of each receipt. Kept in the session, so they survive even the erasure they describe."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, redirect, url_for

from intake import consent
from intake.models import ConsentEvent, ConsentText
from intake.sessions import current_session

RECEIPTS = "receipts"


def give(
    decisions: Iterable[tuple[ConsentEvent, ConsentText | None]],
    then: str | None = None,
    *,
    erased: bool = False,
) -> Response:
    """Keep the receipts of these decisions and show them; `then` is where "Continue" goes."""
    items = [consent.receipt(event, text) for event, text in decisions]
    if erased:
        items = [{**item, "erased": True} for item in items]
    current_session()[RECEIPTS] = {"items": items, "next": then}
    return redirect(url_for("client.receipt"))


def kept() -> dict[str, object] | None:
    value = current_session().get(RECEIPTS)
    return value if isinstance(value, dict) and value.get("items") else None
