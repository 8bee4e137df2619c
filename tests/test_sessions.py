"""Split-key staff sessions (DESIGN.md §6), seen from the browser and from the database.

What a person or an attacker would notice: the cookie's name and flags, a new session id at
sign-in, an old or planted cookie that opens nothing, sign-out that really ends the session,
sessions that end after 30 idle minutes or 12 hours, deactivation that signs someone out at
once, and a database row that is ciphertext without the cookie.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, update
from support.pages import csrf
from support.staff import StaffBrowser, session_rows_of
from support.team import PASSWORDS, Team
from werkzeug.test import TestResponse

from intake import create_app, crypto, staff
from intake.auth.views import generic_refusal
from intake.db import database, db_session
from intake.models import SessionRecord, StaffUser, utcnow
from intake.sessions import SplitKeySessionInterface, _decode, cookie_name, current_session

SIGNED_OUT_AFTER_A_WHILE = "You were signed out after a while without activity."


# --- helpers ------------------------------------------------------------------------------


def session_cookie(client: FlaskClient, app: Flask) -> str | None:
    cookie = client.get_cookie(cookie_name(app))
    return cookie.value if cookie else None


def open_cookie(app: Flask, value: str) -> tuple[str, bytes]:
    """The row id (hash of the session id) and the row key that a session cookie carries."""
    unsigned = SplitKeySessionInterface()._signer(app).unsign(value).decode("ascii")
    session_id, encoded_key = unsigned.split(".", 1)
    return crypto.token_digest(session_id), base64.urlsafe_b64decode(encoded_key)


def row_for(app: Flask, value: str) -> SessionRecord | None:
    id_hash, _key = open_cookie(app, value)
    with app.app_context():
        db = db_session()
        record = db.get(SessionRecord, id_hash)
        if record is not None:
            db.expunge(record)
        return record


def set_cookie(client: FlaskClient, app: Flask, value: str) -> None:
    client.set_cookie(cookie_name(app), value, path="/")


def session_set_cookie(response: TestResponse, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def cookie_attributes(header: str) -> dict[str, str]:
    """The attributes of a raw Set-Cookie header, by lower-case name."""
    attributes = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


def backdate(app: Flask, value: str, **times: timedelta) -> None:
    """Move the session row's last_seen_at and/or created_at back in time."""
    id_hash, _key = open_cookie(app, value)
    with app.app_context():
        db = db_session()
        now = utcnow()
        db.execute(
            update(SessionRecord)
            .where(SessionRecord.id_hash == id_hash)
            .values(**{column: now - delta for column, delta in times.items()})
        )
        db.commit()


def assert_signed_out(client: FlaskClient) -> TestResponse:
    response = client.get("/workspace")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")
    return response


@pytest.fixture
def org_key_probe(app: Flask) -> Callable[[FlaskClient], str]:
    """A test-only page that says which org key the request's session holds (by hash)."""

    def probe() -> str:
        secret = current_session().get_secret("org_key")
        return "none" if secret is None else hashlib.sha256(secret).hexdigest()

    app.add_url_rule("/_test/org-key", "test_org_key", probe)

    def ask(client: FlaskClient) -> str:
        return client.get("/_test/org-key").get_data(as_text=True)

    return ask


# --- cookies ------------------------------------------------------------------------------


def test_session_cookie_is_host_prefixed_httponly_secure_lax_on_root(
    client: FlaskClient, team: Team
) -> None:
    client.get("/staff/sign-in")
    response = client.post(
        "/staff/sign-in",
        data={
            "username": "coach",
            "password": PASSWORDS["coach"],
            "csrf_token": csrf(client, "/staff/sign-in"),
        },
    )
    assert response.status_code == 302
    header = session_set_cookie(response, "__Host-session")
    attributes = cookie_attributes(header)
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    # A session cookie: nothing keeps it once the browser closes.
    assert "expires" not in attributes
    assert "max-age" not in attributes


def test_development_cookie_has_no_host_prefix(
    settings: dict[str, object], instance_path: Path
) -> None:
    settings["ENV"] = "development"
    del settings["SECURE_COOKIES"], settings["BEHIND_TLS"]
    app = create_app(settings, instance_path=str(instance_path))
    try:
        assert app.config["SECURE_COOKIES"] is False
        response = app.test_client().get("/staff/sign-in")
        headers = response.headers.getlist("Set-Cookie")
        assert not any(h.startswith("__Host-") for h in headers), headers
        attributes = cookie_attributes(session_set_cookie(response, "session"))
        assert "secure" not in attributes
        assert "httponly" in attributes
        assert attributes["samesite"] == "Lax"
        assert attributes["path"] == "/"
    finally:
        database(app).engine.dispose()


# --- a new session id at sign-in -----------------------------------------------------------


def test_session_id_changes_at_each_sign_in_step(
    client: FlaskClient, app: Flask, team: Team
) -> None:
    team.forget_used_codes("coach")
    token = csrf(client, "/staff/sign-in")
    before = session_cookie(client, app)
    assert before is not None
    assert row_for(app, before) is not None

    client.post(
        "/staff/sign-in",
        data={"username": "coach", "password": PASSWORDS["coach"], "csrf_token": token},
    )
    after_password = session_cookie(client, app)
    assert after_password is not None

    response = client.post(
        "/staff/two-factor",
        data={"code": team.code("coach"), "csrf_token": csrf(client, "/staff/two-factor")},
    )
    assert response.status_code == 302
    after_code = session_cookie(client, app)
    assert after_code is not None

    assert len({before, after_password, after_code}) == 3
    assert len({open_cookie(app, v)[0] for v in (before, after_password, after_code)}) == 3
    assert row_for(app, before) is None
    assert row_for(app, after_password) is None
    assert row_for(app, after_code) is not None
    assert client.get("/workspace").status_code == 200


def test_cookie_planted_before_sign_in_is_useless_after(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    # The attacker visits the sign-in page and gets a session cookie…
    attacker = app.test_client()
    csrf(attacker, "/staff/sign-in")
    planted = session_cookie(attacker, app)
    assert planted is not None
    # …and plants it in the coach's browser, who then signs in.
    set_cookie(client, app, planted)
    auth.sign_in("coach", browser=client)
    assert session_cookie(client, app) != planted
    assert client.get("/workspace").status_code == 200

    assert row_for(app, planted) is None
    assert_signed_out(attacker)


def test_old_cookie_from_the_password_step_opens_nothing_after_sign_in(
    app: Flask, team: Team, client: FlaskClient
) -> None:
    team.forget_used_codes("coach")
    client.post(
        "/staff/sign-in",
        data={
            "username": "coach",
            "password": PASSWORDS["coach"],
            "csrf_token": csrf(client, "/staff/sign-in"),
        },
    )
    half_way = session_cookie(client, app)
    assert half_way is not None
    client.post(
        "/staff/two-factor",
        data={"code": team.code("coach"), "csrf_token": csrf(client, "/staff/two-factor")},
    )
    thief = app.test_client()
    set_cookie(thief, app, half_way)
    assert_signed_out(thief)
    # Nor can the half-way cookie finish a sign-in with a fresh code of its own.
    page = thief.get("/staff/two-factor").get_data(as_text=True)
    assert generic_refusal() in page


# --- sign-out -----------------------------------------------------------------------------


def test_sign_out_deletes_the_row_clears_site_data_and_the_old_cookie_opens_nothing(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    signed_in = session_cookie(client, app)
    assert signed_in is not None
    assert session_rows_of(app, team.ids["coach"]) == 1

    response = auth.sign_out(client)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")
    # Cookies stay: the known-device cookie is what lets the owner in while someone else is
    # guessing (tests/test_known_devices.py); the session cookie is deleted by name.
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    cleared = session_set_cookie(response, "__Host-session")
    assert cookie_attributes(cleared).get("max-age") == "0"

    assert session_rows_of(app, team.ids["coach"]) == 0
    assert row_for(app, signed_in) is None
    assert_signed_out(client)
    replay = app.test_client()
    set_cookie(replay, app, signed_in)
    assert_signed_out(replay)
    assert "You have signed out." in client.get("/staff/sign-in?signed-out=1").get_data(
        as_text=True
    )


def test_sign_out_without_csrf_token_is_refused_and_keeps_the_session(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    response = client.post("/staff/sign-out")
    assert response.status_code == 400
    assert "Clear-Site-Data" not in response.headers
    assert session_rows_of(app, team.ids["coach"]) == 1
    assert client.get("/workspace").status_code == 200


def test_sign_out_with_a_forged_csrf_token_is_refused(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    other = app.test_client()
    foreign_token = csrf(other, "/staff/sign-in")
    response = client.post("/staff/sign-out", data={"csrf_token": foreign_token})
    assert response.status_code == 400
    assert client.get("/workspace").status_code == 200


# --- sessions that end --------------------------------------------------------------------


def test_deleted_session_row_signs_out(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    assert client.get("/workspace").status_code == 200
    with app.app_context():
        db = db_session()
        db.execute(delete(SessionRecord))
        db.commit()
    assert_signed_out(client)


def test_idle_session_ends_after_30_minutes_and_the_sign_in_page_says_why(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    cookie = session_cookie(client, app)
    assert cookie is not None
    backdate(app, cookie, last_seen_at=timedelta(minutes=31))

    response = assert_signed_out(client)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert SIGNED_OUT_AFTER_A_WHILE in page
    assert row_for(app, cookie) is None
    assert session_rows_of(app, team.ids["coach"]) == 0


def test_session_active_29_minutes_ago_is_still_open(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    cookie = session_cookie(client, app)
    assert cookie is not None
    backdate(app, cookie, last_seen_at=timedelta(minutes=29))
    assert client.get("/workspace").status_code == 200
    # Using the session moves its idle clock forward.
    record = row_for(app, cookie)
    assert record is not None
    assert utcnow() - record.last_seen_at < timedelta(minutes=1)


def test_staff_session_ends_12_hours_after_sign_in_even_when_busy(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    cookie = session_cookie(client, app)
    assert cookie is not None
    backdate(app, cookie, created_at=timedelta(hours=13), last_seen_at=timedelta(seconds=5))

    response = assert_signed_out(client)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert SIGNED_OUT_AFTER_A_WHILE in page
    assert row_for(app, cookie) is None


def test_staff_session_is_open_11_hours_after_sign_in(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    cookie = session_cookie(client, app)
    assert cookie is not None
    backdate(app, cookie, created_at=timedelta(hours=11), last_seen_at=timedelta(seconds=5))
    assert client.get("/workspace").status_code == 200


def test_deactivation_signs_a_coach_out_at_the_next_request(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    cookie = session_cookie(client, app)
    assert cookie is not None
    assert client.get("/workspace").status_code == 200

    with app.app_context():
        db = db_session()
        member = db.get(StaffUser, team.ids["coach"])
        assert member is not None
        staff.deactivate(db, member)
        db.commit()
    assert session_rows_of(app, team.ids["coach"]) == 0

    assert_signed_out(client)
    replay = app.test_client()
    set_cookie(replay, app, cookie)
    assert_signed_out(replay)
    with app.app_context():
        member = db_session().get(StaffUser, team.ids["coach"])
        assert member is not None
        assert member.wrapped_org_key is None
        assert member.active is False

    team.forget_used_codes("coach")
    response = client.post(
        "/staff/sign-in",
        data={
            "username": "coach",
            "password": PASSWORDS["coach"],
            "csrf_token": csrf(client, "/staff/sign-in"),
        },
    )
    assert response.status_code == 200
    assert generic_refusal() in response.get_data(as_text=True)
    assert_signed_out(client)


def test_deactivation_does_not_touch_another_coachs_session(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach2", browser=client)
    with app.app_context():
        db = db_session()
        member = db.get(StaffUser, team.ids["coach"])
        assert member is not None
        staff.deactivate(db, member)
        db.commit()
    assert client.get("/workspace").status_code == 200


# --- what the database holds --------------------------------------------------------------


def test_session_row_is_ciphertext_that_only_the_cookie_opens(
    app: Flask, team: Team, auth: StaffBrowser, client: FlaskClient
) -> None:
    auth.sign_in("coach", browser=client)
    client.get("/workspace")  # a page with a form puts a CSRF token in the session
    cookie = session_cookie(client, app)
    assert cookie is not None
    id_hash, key = open_cookie(app, cookie)
    record = row_for(app, cookie)
    assert record is not None
    payload = bytes(record.payload)

    data, secrets = _decode(payload, key, id_hash)
    csrf_token = data["csrf_token"]
    assert csrf_token
    assert secrets["org_key"] == team.org_private_key

    for plain in (
        team.org_private_key,
        base64.b64encode(team.org_private_key),
        csrf_token.encode(),
        b"org_key",
        b"csrf_token",
        b"personal_key",
    ):
        assert plain not in payload
    # The row's id is not the session id that the cookie carries.
    session_id = SplitKeySessionInterface()._signer(app).unsign(cookie).decode().split(".")[0]
    assert session_id not in id_hash
    # A database copy without the cookie reads nothing.
    with pytest.raises(crypto.CannotOpen):
        _decode(payload, crypto.new_data_key(), id_hash)


def test_staff_session_holds_a_usable_org_key_until_sign_out(
    org_key_probe: Callable[[FlaskClient], str],
    app: Flask,
    team: Team,
    auth: StaffBrowser,
    client: FlaskClient,
) -> None:
    assert org_key_probe(client) == "none"
    auth.sign_in("coach", browser=client)
    assert org_key_probe(client) == hashlib.sha256(team.org_private_key).hexdigest()
    auth.sign_out(client)
    assert org_key_probe(client) == "none"


def test_org_key_is_not_in_the_session_between_the_two_steps(
    org_key_probe: Callable[[FlaskClient], str], team: Team, client: FlaskClient
) -> None:
    client.post(
        "/staff/sign-in",
        data={
            "username": "coach",
            "password": PASSWORDS["coach"],
            "csrf_token": csrf(client, "/staff/sign-in"),
        },
    )
    assert org_key_probe(client) == "none"
    assert client.get("/workspace").status_code == 302


def test_partner_session_holds_no_org_key(
    org_key_probe: Callable[[FlaskClient], str],
    team: Team,
    auth: StaffBrowser,
    client: FlaskClient,
) -> None:
    auth.sign_in("partner", browser=client)
    assert org_key_probe(client) == "none"
