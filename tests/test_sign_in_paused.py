"""A paused staff account says that it is paused, for how long, and until when.

After FAILED_SIGN_INS_BEFORE_PAUSE wrong tries in a row, an account is paused for
SIGN_IN_PAUSE_MINUTES. Any try at a paused account, with the right password or a wrong one, gets
the same calm notice, so the notice never tells which password was right (docs/decisions.md,
"A paused account says so"). Before the pause, and for names with no active account, the
generic sentence is unchanged. Time is moved by editing stored times, never by waiting.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from babel.dates import format_time, format_timedelta
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from support.app import with_settings
from support.pages import error_summary
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team
from werkzeug.test import TestResponse

from intake.db import db_session
from intake.models import StaffUser

GENERIC = "We could not sign you in. Check your details and try again."
TRIES = 3  # FAILED_SIGN_INS_BEFORE_PAUSE in these tests

# The tries are few and the limits high, so only the pause in the database is at work here.
PAUSE_SETTINGS = {
    "FAILED_SIGN_INS_BEFORE_PAUSE": TRIES,
    "SIGN_IN_LIMIT_PER_ACCOUNT": "100 per hour",
    "SIGN_IN_LIMIT_PER_ADDRESS": "100 per hour",
}


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def settings(settings: dict[str, object]) -> dict[str, object]:
    """The shared settings (with any `@with_settings(...)`), under the pause settings above."""
    return {**PAUSE_SETTINGS, **settings}


def post_password(
    client: FlaskClient, username: str, password: str, language: str = "en"
) -> TestResponse:
    headers = {"Accept-Language": language}
    page = client.get("/staff/sign-in", headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    return client.post(
        "/staff/sign-in",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        headers=headers,
    )


def paused_until(app: Flask, username: str) -> datetime | None:
    with app.app_context():
        member = db_session().scalar(select(StaffUser).where(StaffUser.username == username))
        assert member is not None
        return member.paused_until


def set_staff(app: Flask, username: str, **values: object) -> None:
    with app.app_context():
        db = db_session()
        db.execute(update(StaffUser).where(StaffUser.username == username).values(**values))
        db.commit()


def paused_sentence(app: Flask, username: str, minutes: int = 15, locale: str = "en") -> str:
    """The notice as it should read: the pause from the settings, its end in the locale."""
    until = paused_until(app, username)
    assert until is not None, "the account is not paused"
    duration = format_timedelta(
        timedelta(minutes=minutes), granularity="minute", threshold=10**6, locale=locale
    )
    at = format_time(until, "short", tzinfo=UTC, locale=locale)
    return f"This account is paused for {duration} after too many tries. You can try again at {at}."


def wrong_code(secret: str) -> str:
    """A 6-digit code that is not right at any time near now."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now().astimezone())
    near = {totp.generate_otp(step) for step in range(now - 3, now + 4)}
    return next(f"{n:06d}" for n in range(123456, 1_000_000) if f"{n:06d}" not in near)


def assert_not_signed_in(client: FlaskClient) -> None:
    response = client.get("/workspace")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")


def pause(client: FlaskClient, username: str = "coach") -> TestResponse:
    """Make the wrong tries that pause an account; returns the page after the last one."""
    for attempt in range(TRIES - 1):
        response = post_password(client, username, f"not the password {attempt}")
        assert error_summary(response) == [GENERIC]
    return post_password(client, username, "not the password, once more")


# --- before the pause ---------------------------------------------------------------------


def test_before_the_pause_the_generic_sentence_is_unchanged(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    for attempt in range(TRIES - 1):
        response = post_password(client, "coach", f"not the password {attempt}")
        assert response.status_code == 200
        assert error_summary(response) == [GENERIC]
        assert "paused" not in response.get_data(as_text=True)
    assert paused_until(app, "coach") is None
    # The right password still works, and starts the count again.
    assert post_password(client, "coach", PASSWORDS["coach"]).status_code == 302


def test_names_without_an_active_account_never_say_paused(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    for attempt in range(TRIES + 2):
        response = post_password(client, "nobody-here", f"not the password {attempt}")
        assert error_summary(response) == [GENERIC]
    # A deactivated account, even one whose pause has not ended, is refused like an unknown name.
    set_staff(app, "coach2", active=False, paused_until=datetime.now(UTC) + timedelta(minutes=9))
    for password in ("not the password", PASSWORDS["coach2"]):
        response = post_password(client, "coach2", password)
        assert error_summary(response) == [GENERIC]
        assert "paused" not in response.get_data(as_text=True)


# --- during the pause ---------------------------------------------------------------------


def test_the_try_that_pauses_says_paused_with_the_minutes_and_the_time(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    response = pause(client)
    assert response.status_code == 200
    assert paused_until(app, "coach") is not None
    (notice,) = error_summary(response)
    assert notice == paused_sentence(app, "coach")
    assert "15 minutes" in notice
    assert re.search(r"try again at \d{1,2}:\d{2}", notice)
    # Still no word about which part was wrong.
    for hint in ("password", "username", "incorrect", "wrong"):
        assert hint not in notice.lower()
    assert_not_signed_in(client)


def test_the_right_password_during_the_pause_does_not_sign_in(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    pause(client)
    right = post_password(client, "coach", PASSWORDS["coach"])
    assert right.status_code == 200
    assert error_summary(right) == [paused_sentence(app, "coach")]
    assert_not_signed_in(client)
    # The code page does not open either.
    assert error_summary(client.get("/staff/two-factor")) == [GENERIC]
    assert_not_signed_in(client)


def test_right_and_wrong_passwords_during_the_pause_get_the_same_page(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    pause(client)
    right = post_password(client, "coach", PASSWORDS["coach"])
    wrong = post_password(client, "coach", "still not the password")
    assert right.status_code == wrong.status_code == 200
    assert error_summary(right) == error_summary(wrong) == [paused_sentence(app, "coach")]


def test_the_username_is_matched_however_it_is_typed(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    pause(client)
    response = post_password(client, " COACH ", PASSWORDS["coach"])
    assert error_summary(response) == [paused_sentence(app, "coach")]
    assert_not_signed_in(client)


@with_settings(SIGN_IN_PAUSE_MINUTES=40)
def test_the_minutes_come_from_the_settings(app: Flask, client: FlaskClient, team: Team) -> None:
    (notice,) = error_summary(pause(client))
    assert "paused for 40 minutes" in notice
    assert notice == paused_sentence(app, "coach", minutes=40)
    until = paused_until(app, "coach")
    assert until is not None
    assert timedelta(minutes=39) < until - datetime.now(UTC) <= timedelta(minutes=40)


def test_the_time_and_minutes_are_written_in_the_page_language(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    pause(client)
    response = post_password(client, "coach", PASSWORDS["coach"], language="ar")
    page = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    (notice,) = error_summary(response)
    until = paused_until(app, "coach")
    assert until is not None
    arabic_time = format_time(until, "short", tzinfo=UTC, locale="ar")
    english_time = format_time(until, "short", tzinfo=UTC, locale="en")
    assert arabic_time != english_time
    assert arabic_time in notice
    assert english_time not in notice
    assert format_timedelta(timedelta(minutes=15), granularity="minute", locale="ar") in notice
    assert_not_signed_in(client)


# --- after the pause ----------------------------------------------------------------------


def test_after_the_pause_the_right_password_works_and_wrong_ones_are_generic_again(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    pause(client)
    until = paused_until(app, "coach")
    assert until is not None
    set_staff(app, "coach", paused_until=until - timedelta(hours=1))
    assert error_summary(post_password(client, "coach", "not the password")) == [GENERIC]
    team.forget_used_codes("coach")
    assert post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    assert auth.post_code(client, team.code("coach")).status_code == 302
    assert client.get("/workspace").status_code == 200


# --- the code step ------------------------------------------------------------------------


def test_wrong_codes_pause_and_the_code_page_says_so(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    for _attempt in range(TRIES - 1):
        assert error_summary(auth.post_code(client, wrong_code(team.totp["coach"]))) == [GENERIC]
    response = auth.post_code(client, wrong_code(team.totp["coach"]))
    assert error_summary(response) == [paused_sentence(app, "coach")]
    # The right code during the pause does not sign in; the page still says paused.
    right = auth.post_code(client, team.code("coach"))
    assert right.status_code == 200
    assert error_summary(right) == [paused_sentence(app, "coach")]
    assert_not_signed_in(client)
