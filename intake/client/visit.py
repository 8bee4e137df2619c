"""A client's visit: which client this session is, and the data key it holds.

The data key and the return code live in the split-key session's secrets, so they are
readable only with the browser's cookie. Every page that shows or saves answers asks for the
visit through `client_required`; without one it sends the person to a page that explains why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for

from intake import consent, i18n
from intake.db import db_session
from intake.models import Client, ClientStatus
from intake.sessions import CLIENT, current_session

DATA_KEY = "data_key"
RETURN_CODE = "return_code"
NEW_CODE = "new_return_code"  # a code shown to a newcomer before they agree to anything
CONSENT_CHECKED = "consent_checked"  # this visit has no decision waiting to be made again
# Pages a person can always reach, even with a decision waiting.
ALWAYS_OPEN = frozenset(
    {
        "client.decide_again",
        "client.my_choices",
        "client.delete_everything",
        "client.receipt",
        "client.who_looked",
        "client.my_data",
        "client.my_data_json",
    }
)


@dataclass(frozen=True)
class Visit:
    client: Client
    data_key: bytes

    @property
    def sent(self) -> bool:
        return self.client.status != ClientStatus.DRAFT


def current_visit() -> Visit | None:
    session = current_session()
    data_key = session.get_secret(DATA_KEY)
    if session.kind != CLIENT or session.client_id is None or data_key is None:
        return None
    client = db_session().get(Client, session.client_id)
    if client is None or client.status == ClientStatus.ERASED:
        return None
    return Visit(client, data_key)


def begin_visit(client: Client, data_key: bytes, code_digits: str) -> None:
    """Hold this client's keys in a fresh session (a new id and key: no fixation)."""
    session = current_session()
    locale = session.get("locale")
    session.clear()
    session.secrets.clear()
    if locale:
        session["locale"] = locale
    session.bind_client(client.id)
    session.put_secret(DATA_KEY, data_key)
    session.put_secret(RETURN_CODE, code_digits.encode())
    session.regenerate()


def return_code_of_visit() -> str | None:
    raw = current_session().get_secret(RETURN_CODE) or current_session().get_secret(NEW_CODE)
    return raw.decode() if raw else None


def _decision_waiting(visit: Visit) -> bool:
    """Once per visit: has a consent text changed, or has a coach recorded a choice for them?"""
    session = current_session()
    if session.get(CONSENT_CHECKED):
        return False
    db = db_session()
    waiting = bool(
        consent.needs_asking_again(db, visit.client.id, i18n.select_locale())
        or consent.recorded_by_coach(db, visit.client.id)
    )
    if not waiting:
        session[CONSENT_CHECKED] = True
    return waiting


def client_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run the view only within a client's visit (as `g.visit`); otherwise explain kindly."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        visit = current_visit()
        if visit is None:
            if current_session().ended:
                return redirect(url_for("client.ended"))
            return redirect(url_for("client.come_back"))
        g.visit = visit
        if request.endpoint not in ALWAYS_OPEN and _decision_waiting(visit):
            return redirect(url_for("client.decide_again"))
        return view(*args, **kwargs)

    return wrapped
