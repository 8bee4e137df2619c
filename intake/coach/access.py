"""Who may open what in the workspace, checked in one place.

`staff_only` and `admin_only` (from `intake.roles`) turn away anyone who is not a signed-in
coach or admin (partners get 404, as if the page did not exist). `client_or_404` loads a client
*and* checks that the signed-in person may see them; every route that takes a client id goes
through it.
"""

from __future__ import annotations

from flask import abort, g

from intake import crypto, workspace
from intake.db import db_session
from intake.models import Client
from intake.roles import admin_only, signed_in_staff, staff_only
from intake.sessions import ORG_KEY, current_session

__all__ = ["admin_only", "client_or_404", "org_key", "signed_in_staff", "staff_only"]


def org_key() -> crypto.PrivateKey:
    """The organisation private key this coach's session holds (404 when it holds none),
    read once for the request however many envelopes its page opens."""
    read = g.get("org_private_key")
    if read is None:
        raw = current_session().get_secret(ORG_KEY)
        if raw is None:
            abort(404)
        read = g.org_private_key = crypto.read_private_key(raw)
    return read  # type: ignore[no-any-return]


def client_or_404(client_id: str) -> Client:
    """The client, if the signed-in person may see them; otherwise 404, never a hint."""
    client = workspace.find_visible(db_session(), signed_in_staff(), client_id)
    if client is None:
        abort(404)
    return client
