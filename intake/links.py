"""The addresses Groundwork gives out — invitation links, referral links and cards, links in
the partner API — built on PUBLIC_URL, never on the Host header a request happens to carry
(which a proxy or an attacker chooses). Production refuses to start without PUBLIC_URL; in
development and tests, without it, the address the page was opened at stands in."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for


def public_root() -> str:
    """Where people reach Groundwork, without a slash at the end."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return str(configured).rstrip("/")
    return request.url_root.rstrip("/")


def public_url(endpoint: str, **values: Any) -> str:
    """The full public address of one of Groundwork's pages."""
    return public_root() + url_for(endpoint, **values).removeprefix(request.script_root)
