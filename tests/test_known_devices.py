"""Someone guessing at a staff account from elsewhere cannot keep its owner out (the security
issue, point 4; docs/decisions.md, "A device its owner has used").

Wrong passwords from anywhere still pause the account for every browser that has not signed in
to it before. A browser its owner has fully signed in on carries a signed cookie naming it; its
tries have a budget of their own and are never paused by someone else's guessing. The cookie
opens nothing on its own, and survives signing out.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update
from support.app import with_settings
from support.pages import error_summary
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team
from werkzeug.test import TestResponse

from intake.auth import devices
from intake.db import db_session
from intake.models import StaffUser

GENERIC = "We could not sign you in. Check your details and try again."
DEVICE_COOKIE = "__Host-device"


@pytest.fixture
def settings(settings: dict[str, object]) -> dict[str, object]:
    # Guessing pauses after 3 wrong tries; the rate limits are high enough to stay out of it.
    return {
        "FAILED_SIGN_INS_BEFORE_PAUSE": 3,
        "SIGN_IN_LIMIT_PER_ACCOUNT": "100 per hour",
        "SIGN_IN_LIMIT_PER_ADDRESS": "100 per hour",
        **settings,
    }


def guesser(app: Flask, address: str = "203.0.113.50") -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def keep_guessing(browser: FlaskClient, username: str = "coach", tries: int = 6) -> None:
    for attempt in range(tries):
        StaffBrowser.post_password(browser, username, f"a guess at the password {attempt}")


def reuse_codes(app: Flask, username: str = "coach") -> None:
    """Let this 30-second step's code be used again, and leave any pause as it is."""
    with app.app_context():
        db = db_session()
        db.execute(
            update(StaffUser).where(StaffUser.username == username).values(totp_last_step=None)
        )
        db.commit()


def paused_until(app: Flask, username: str = "coach") -> datetime | None:
    with app.app_context():
        return db_session().scalar(
            select(StaffUser.paused_until).where(StaffUser.username == username)
        )


def device_set_cookie(response: TestResponse) -> SimpleCookie:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(DEVICE_COOKIE + "="):
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            return cookie
    raise AssertionError("no known-device cookie was set")


def test_the_owner_signs_in_on_their_own_device_while_someone_elsewhere_keeps_guessing(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    auth.sign_in("coach", browser=client)
    auth.sign_out(client)

    keep_guessing(guesser(app))
    assert paused_until(app) is not None, "the guessing did not pause the account"
    # A browser that never signed in to this account is told it is paused, right password or not.
    stranger = guesser(app, "198.51.100.7")
    refused = auth.post_password(stranger, "coach", PASSWORDS["coach"])
    assert refused.status_code == 200
    assert "This account is paused" in error_summary(refused)[0]

    # The owner's own browser signs in, both steps, and reaches their clients.
    reuse_codes(app)
    first = auth.post_password(client, "coach", PASSWORDS["coach"])
    assert first.status_code == 302, error_summary(first)
    assert auth.post_code(client, team.code("coach")).status_code == 302
    assert client.get("/workspace").status_code == 200


def test_a_wrong_password_on_the_owners_device_does_not_say_paused_or_pause_anyone(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    auth.sign_in("coach", browser=client)
    auth.sign_out(client)
    keep_guessing(guesser(app))
    wrong = auth.post_password(client, "coach", "not my password today")
    assert error_summary(wrong) == [GENERIC]
    team.forget_used_codes("coach")  # the guesser's pause ends
    for attempt in range(5):
        auth.post_password(client, "coach", f"typed wrong again {attempt}")
    assert paused_until(app) is None, "the owner's own mistakes paused the account for everyone"


@with_settings(SIGN_IN_LIMIT_PER_ACCOUNT="4 per hour", FAILED_SIGN_INS_BEFORE_PAUSE=1000)
def test_the_owners_device_has_a_budget_of_its_own(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    auth.sign_in("coach", browser=client)
    auth.sign_out(client)
    elsewhere = guesser(app)
    keep_guessing(elsewhere, tries=4)
    assert auth.post_password(elsewhere, "coach", PASSWORDS["coach"]).status_code == 429
    # The owner's device has not tried at all: it still may.
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    # And its own wrong tries run out on its own budget, not the guesser's.
    keep_guessing(client, tries=4)
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 429


def test_a_device_cookie_for_someone_else_tampered_or_too_old_counts_for_nothing(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    auth.sign_in("coach2", browser=client)  # this browser is coach2's, not coach's
    auth.sign_out(client)
    keep_guessing(guesser(app))
    assert (
        "This account is paused"
        in error_summary(auth.post_password(client, "coach", PASSWORDS["coach"]))[0]
    )

    signer = URLSafeTimedSerializer(str(app.secret_key), salt=devices.SALT)
    forged = URLSafeTimedSerializer("not the secret key", salt=devices.SALT)
    coach_id = team.ids["coach"]
    for value in (
        forged.dumps({"s": coach_id, "d": "made-up"}),
        signer.dumps({"s": coach_id, "d": "made-up"})[:-2] + "xx",
        signer.dumps(["not", "a", "device"]),
    ):
        browser = app.test_client()
        browser.set_cookie(DEVICE_COOKIE, value, domain="localhost", secure=True, path="/")
        refused = auth.post_password(browser, "coach", PASSWORDS["coach"])
        assert "This account is paused" in error_summary(refused)[0], value

    # Older than DEVICE_DAYS: the signature's time says so.
    stale_time = int(time.time()) - (int(app.config["DEVICE_DAYS"]) + 1) * 86400

    class SignedLongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return stale_time

    old = URLSafeTimedSerializer(str(app.secret_key), salt=devices.SALT, signer=SignedLongAgo)
    browser = app.test_client()
    browser.set_cookie(
        DEVICE_COOKIE, old.dumps({"s": coach_id, "d": "old"}), domain="localhost", secure=True
    )
    assert (
        "This account is paused"
        in error_summary(auth.post_password(browser, "coach", PASSWORDS["coach"]))[0]
    )


def test_the_device_cookie_is_set_after_both_steps_only_and_survives_signing_out(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    first = auth.post_password(client, "coach", PASSWORDS["coach"])
    assert not any(h.startswith(DEVICE_COOKIE) for h in first.headers.getlist("Set-Cookie")), (
        "a right password alone made the browser a known device"
    )
    second = auth.post_code(client, team.code("coach"))
    assert second.status_code == 302
    morsel = device_set_cookie(second)[DEVICE_COOKIE]
    assert morsel["httponly"]
    assert morsel["secure"]
    assert morsel["path"] == "/"
    assert morsel["samesite"] == "Lax"
    assert int(morsel["max-age"]) == int(app.config["DEVICE_DAYS"]) * 86400
    # It names the account and a random device, signed: no name, no password, no key.
    assert "coach" not in morsel.value
    assert PASSWORDS["coach"] not in morsel.value

    out = auth.sign_out(client)
    assert "cookies" not in out.headers["Clear-Site-Data"]
    assert not any(h.startswith(DEVICE_COOKIE) for h in out.headers.getlist("Set-Cookie"))
    assert client.get_cookie(DEVICE_COOKIE) is not None
    # The cookie alone opens nothing.
    assert client.get("/workspace").status_code == 302


def test_the_owners_device_still_needs_the_six_digit_code_while_paused(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    auth.sign_in("coach", browser=client)
    auth.sign_out(client)
    keep_guessing(guesser(app))
    reuse_codes(app)
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    secret = team.totp["coach"]
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    near = {totp.generate_otp(step) for step in range(now - 3, now + 4)}
    wrong = next(f"{n:06d}" for n in range(100000, 1_000_000) if f"{n:06d}" not in near)
    assert error_summary(auth.post_code(client, wrong)) == [GENERIC]
    assert client.get("/workspace").status_code == 302
    assert paused_until(app) is not None  # still paused for everyone else
    assert paused_until(app) > datetime.now(UTC) - timedelta(minutes=1)  # type: ignore[operator]
