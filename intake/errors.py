"""Kind error pages, and the 503 page when the database cannot be reached.

Every page says what happened in plain words and what to do next. Logs get the exception's
class only (see GroundworkFlask.log_exception).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from intake.db import db_session
from intake.sessions import current_session

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database could not be reached while the request began."""


def init_app(app: Flask) -> None:
    # First of all checks, so that a form sent while the database is away gets the 503 page
    # rather than "we could not save that page" from the CSRF check (its token is in the session).
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_without_database)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DatabaseUnavailable, _unavailable)
    app.register_error_handler(DBAPIError, _unavailable)
    app.register_error_handler(InternalServerError, _server_error)


# Leaving must work even when nothing else does: the quick exit never shows the 503 page.
WITHOUT_DATABASE = ("static", "client.quick_exit")


def _refuse_without_database() -> None:
    if request.endpoint in WITHOUT_DATABASE:
        return
    if current_session().unavailable:
        raise DatabaseUnavailable
    # Reach the database now, also for a visitor without a session, so that nobody starts a
    # form that cannot be saved. A DBAPIError here becomes the 503 page; the connection is the
    # one the request goes on to use.
    db_session().connection()


def audience() -> str:
    """'staff' on staff pages, otherwise 'client': it picks the layout of the error page."""
    return "staff" if request.blueprint in ("auth", "coach", "partner") else "client"


def render_error(status: int, heading: str, message: str) -> tuple[str, int]:
    return (
        render_template("errors/page.html", heading=heading, message=message, audience=audience()),
        status,
    )


def _csrf_error(_error: CSRFError) -> tuple[str, int]:
    return render_error(
        400,
        _("We could not save that page"),
        _(
            "This can happen when a page is left open for a long time. "
            "Everything you saved before is still safe. Please go back and try again."
        ),
    )


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if request.path.startswith("/api/") and status < 500:
        # An unknown address or method under the partner API never reaches its blueprint's
        # handler (routing fails first); it still answers in JSON, as docs/openapi.json says.
        return json_error(error)
    if status == 404:
        return render_error(
            404,
            _("We could not find that page"),
            _("Check the address, or go back to the start."),
        )
    if status == 413:
        return render_error(
            413,
            _("That was too much to send at once"),
            _("Please make your answers shorter and try again."),
        )
    if status == 429:
        return render_error(
            429,
            _("Please wait a few minutes"),
            _("There have been many tries in a short time. Please wait, then try again."),
        )
    if status >= 500:
        return _server_error(error)
    return render_error(
        status,
        _("Something did not work"),
        _("Please go back and try again."),
    )


def _unavailable(error: Exception) -> ResponseReturnValue:
    log.error("database unavailable: %s", type(error).__name__)
    if request.path.startswith("/api/"):
        return {"error": "unavailable"}, 503
    return render_error(
        503,
        _("This service is not available right now"),
        _("Your saved answers are safe. Please try again in a few minutes."),
    )


def _server_error(error: Exception) -> ResponseReturnValue:
    original = getattr(error, "original_exception", None)
    if isinstance(original, (SQLAlchemyError, DatabaseUnavailable)):
        return _unavailable(original)
    if request.path.startswith("/api/"):
        return {"error": "server_error"}, 500
    return render_error(
        500,
        _("Something went wrong on our side"),
        _("Your saved answers are safe. Please try again in a few minutes."),
    )


def json_error(error: HTTPException) -> tuple[Response, int]:
    """An error as the partner API answers it: `{"error": "<code>"}` (docs/openapi.json)."""
    status = error.code or 500
    code = getattr(error, "error", None) or {
        400: "bad_request",
        401: "unauthorized",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        415: "unsupported_media_type",
        429: "too_many_requests",
    }.get(status, "error")
    response = jsonify(error=code)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="groundwork"'
    return response, status
