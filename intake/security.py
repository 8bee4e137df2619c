"""Response headers, cache rules and the keys that rate limits count by (DESIGN.md §10)."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, abort, current_app, request
from werkzeug.wrappers import Response as WerkzeugResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
BASELINE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Served like static files: the same for everyone, at an address that changes with the content.
CACHED_LIKE_STATIC = frozenset({"static", "client.recording"})
HSTS = "max-age=63072000; includeSubDomains"
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'
# A staff member signing out keeps the cookie that says this is their own device (their session
# cookie is deleted by name), so someone guessing from elsewhere cannot lock them out.
CLEAR_SITE_DATA_STAFF = '"cache", "storage"'


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_in_path)
    app.after_request(add_security_headers)
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretPaths) for f in logger.filters):
            logger.addFilter(RedactSecretPaths())


def refuse_nul_in_path() -> None:
    """An address with a NUL character in it names nothing (and PostgreSQL refuses one in a
    query, which would otherwise end as "service not available"): it is not found."""
    if "\x00" in request.path:
        abort(404)


def add_security_headers(response: Response) -> Response:
    """The baseline headers on every response; `no-store` on everything but static files."""
    for name, value in BASELINE_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["BEHIND_TLS"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint not in CACHED_LIKE_STATIC or response.status_code >= 400:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        response.vary.add("Cookie")
    return response


def clear_site_data(response: WerkzeugResponse) -> WerkzeugResponse:
    """Ask the browser to forget this site's cookies, storage and cache (a client leaving)."""
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def forget_on_this_device(response: WerkzeugResponse) -> WerkzeugResponse:
    """A staff member signing out: the browser forgets storage and cache, not cookies."""
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA_STAFF
    return response


def address_key() -> str:
    """Rate limits per address: the client address as the (trusted) proxy reports it."""
    return "addr:" + (request.remote_addr or "unknown")


class RedactSecretPaths(logging.Filter):
    """Keep secrets that travel in a path (invite and referral links) out of request logs."""

    SECRET_PATH = re.compile(r"(/staff/join/|/r/)[^\s\"?]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.SECRET_PATH.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
