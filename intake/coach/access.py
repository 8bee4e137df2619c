"""Who may open what in the workspace, checked in one place.

`staff_only` turns away anyone who is not a signed-in coach or admin (partners get 404, as if
the page did not exist). `client_or_404` loads a client *and* checks that the signed-in person
may see them; every route that takes a client id goes through it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from intake import workspace
from intake.db import db_session
from intake.extensions import login_manager
from intake.models import Client, StaffUser
from intake.sessions import ORG_KEY, current_session


def signed_in_staff() -> StaffUser:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def org_key() -> bytes:
    """The organisation private key this coach's session holds (404 when it holds none)."""
    key = current_session().get_secret(ORG_KEY)
    if key is None:
        abort(404)
    return key


def staff_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed-in coaches and admins only."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not signed_in_staff().reads_answers:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed-in admins only; everyone else is told the page does not exist."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not signed_in_staff().is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def client_or_404(client_id: str) -> Client:
    """The client, if the signed-in person may see them; otherwise 404, never a hint."""
    client = workspace.find_visible(db_session(), signed_in_staff(), client_id)
    if client is None:
        abort(404)
    return client
