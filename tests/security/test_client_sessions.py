"""Session fixation and cookie flags, for clients (OWASP ASVS 5.0 level 2; DESIGN.md §6).

A visitor who keeps nothing gets no cookie. A client's cookie is `__Host-session`: host-only,
Secure, HttpOnly, SameSite=Lax, gone when the browser closes, renewed at each step of trust
(agreeing to keep their answers), and deleted when they leave. A cookie an attacker plants in
someone's browser (before they agree, or before they come back with their code) is replaced,
and opens nothing of that person's visit afterwards. (Staff sessions are in
tests/test_sessions.py.)
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.journey import Phone
from support.team import Team
from werkzeug.test import TestResponse

from intake.db import db_session
from intake.models import SessionRecord
from intake.sessions import cookie_name


def session_cookie(app: Flask, browser: FlaskClient) -> str | None:
    cookie = browser.get_cookie(cookie_name(app))
    return cookie.value if cookie else None


def set_cookie_header(response: TestResponse, name: str) -> dict[str, str]:
    """The attributes of the one Set-Cookie header for `name`, by lower-case name."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    attributes = {"value": headers[0].split(";")[0].split("=", 1)[1]}
    for part in headers[0].split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return attributes


def assert_host_only_session_cookie(attributes: dict[str, str], *, deleting: bool = False) -> None:
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    if deleting:
        assert attributes["value"] in ("", '""')
    else:
        assert "expires" not in attributes
        assert "max-age" not in attributes


def test_a_client_s_cookie_is_host_only_and_renewed_at_each_step_of_trust(
    app: Flask, team: Team
) -> None:
    name = cookie_name(app)
    assert name == "__Host-session"
    phone = Phone(app)
    phone.get("/")
    assert session_cookie(app, phone.client) is None, "a visitor who keeps nothing gets none"
    phone.get("/welcome")
    first = phone.client.get("/agree")
    assert_host_only_session_cookie(set_cookie_header(first, name))
    before_agreeing = session_cookie(app, phone.client)
    phone.see(first, "/agree")
    agreed = phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    assert_host_only_session_cookie(set_cookie_header(agreed, name))
    in_visit = session_cookie(app, phone.client)
    assert in_visit not in (None, before_agreeing)
    left = phone.client.get("/exit")
    assert_host_only_session_cookie(set_cookie_header(left, name), deleting=True)


@pytest.mark.parametrize("step", ["agreeing", "coming back"])
def test_a_cookie_planted_in_a_client_s_browser_opens_nothing_afterwards(
    app: Flask, team: Team, step: str
) -> None:
    name = cookie_name(app)
    owner_code = ""
    if step == "coming back":
        owner = Phone(app)
        owner_code = owner.begin()
        owner.save_page(1, {"name": "Hana"})
        owner.client.get("/exit")
    # The attacker gets a session of their own and plants its cookie in the person's browser.
    attacker = Phone(app)
    attacker.get("/agree")
    planted = session_cookie(app, attacker.client)
    assert planted is not None
    victim = Phone(app)
    victim.client.set_cookie(name, planted, path="/", secure=True)
    if step == "agreeing":
        victim.get("/welcome")
        victim.agree("yes", "yes")
        victim.take_code()
        victim.save_page(1, {"name": "Hana"})
    else:
        victim.keep_private(owner_code)
        assert victim.come_back(owner_code).headers["Location"] == "/your-space"
    assert session_cookie(app, victim.client) != planted
    assert victim.get("/page/1").get_data(as_text=True).count("Hana") == 1
    # The planted cookie now opens nothing of the person's visit.
    for path in ("/check", "/page/1", "/my-data", "/my-data.json", "/who-looked"):
        response = attacker.client.get(path)
        assert response.status_code == 302, path
        assert "Hana" not in response.get_data(as_text=True)
    with app.app_context():
        visits = db_session().scalar(
            select(func.count()).select_from(SessionRecord).where(SessionRecord.kind == "client")
        )
    assert visits == 1, "only the person's own session holds their key"
