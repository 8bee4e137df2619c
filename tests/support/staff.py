"""The one staff browser, and what staff do on their pages.

`StaffBrowser` has the shape of flaskr's `AuthActions`: built from the app and the team (the
`auth` fixture hands one out), it signs a team member in through the real pages — the password,
then the 6-digit code — on a new browser (a Flask test client) each time, so several people can
be signed in at once; or on a browser the test already holds. Its steps can be taken one at a
time too (a password only, a code only), for the tests of signing in itself; those steps
need no team, so they are static (`StaffBrowser.post_password(browser, ...)` works on an app
whose accounts the test made some other way).
"""

from __future__ import annotations

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from intake.db import db_session
from intake.models import SessionRecord, StaffUser

from .database import detached_row
from .pages import csrf
from .team import PASSWORDS, Team

SIGN_IN_PATH = "/staff/sign-in"
TWO_FACTOR_PATH = "/staff/two-factor"
SIGN_OUT_PATH = "/staff/sign-out"
GENERIC_REFUSAL = "We could not sign you in. Check your details and try again."


class StaffBrowser:
    """Staff browsers for the team, signed in (and out) through the real pages."""

    def __init__(self, app: Flask, team: Team) -> None:
        self.app = app
        self.team = team

    def sign_in(
        self,
        username: str = "coach",
        *,
        browser: FlaskClient | None = None,
        password: str | None = None,
        totp_secret: str | None = None,
    ) -> FlaskClient:
        """A new browser (or `browser`), signed in as `username` through both steps.

        The password is the team's (PASSWORDS) and the code comes from the team's secret,
        unless `password` or `totp_secret` say otherwise (an account the test made itself).
        A code already used in this 30-second step is forgotten first."""
        secret = totp_secret if totp_secret is not None else self.team.totp[username]
        self.forget_used_codes(username)
        browser = browser if browser is not None else self.app.test_client()
        first = self.post_password(browser, username, password)
        assert first.status_code == 302, first.get_data(as_text=True)
        assert first.headers["Location"] == TWO_FACTOR_PATH
        second = self.post_code(browser, pyotp.TOTP(secret).now())
        assert second.status_code == 302, second.get_data(as_text=True)
        return browser

    @staticmethod
    def sign_out(browser: FlaskClient) -> TestResponse:
        """Press "Sign out" (with the token of the workspace page, as a person would)."""
        return browser.post(SIGN_OUT_PATH, data={"csrf_token": csrf(browser, "/workspace")})

    @staticmethod
    def post_password(
        browser: FlaskClient, username: str, password: str | None = None
    ) -> TestResponse:
        """The first step only: the username and password (the team's, unless given)."""
        return browser.post(
            SIGN_IN_PATH,
            data={
                "username": username,
                "password": PASSWORDS[username] if password is None else password,
                "csrf_token": csrf(browser, SIGN_IN_PATH),
            },
        )

    @staticmethod
    def post_code(browser: FlaskClient, code: str) -> TestResponse:
        """The second step only: a 6-digit code."""
        return browser.post(
            TWO_FACTOR_PATH, data={"code": code, "csrf_token": csrf(browser, TWO_FACTOR_PATH)}
        )

    def code(self, username: str, offset_steps: int = 0) -> str:
        """This member's 6-digit code now (or `offset_steps` steps of 30 seconds away)."""
        return self.team.code(username, offset_steps)

    def forget_used_codes(self, username: str) -> None:
        """Let a code of the current time step be used again, and lift any pause."""
        self.team.forget_used_codes(username)


# --- what staff do on their pages -----------------------------------------------------------


def staff_post(browser: FlaskClient, path: str, data: dict[str, str]) -> TestResponse:
    """Post a staff form with the browser's CSRF token (read from the account page)."""
    return browser.post(path, data={**data, "csrf_token": csrf(browser, "/account/password")})


def assign(admin: FlaskClient, client_id: str, coach_id: int) -> None:
    """The admin picks a coach for a client from the "Waiting for a coach" list."""
    response = staff_post(admin, f"/clients/{client_id}/assign", {"coach": str(coach_id)})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/workspace"


# --- staff in the database ------------------------------------------------------------------


def rename(app: Flask, username: str, display_name: str) -> None:
    """Give a team member a name that appears nowhere else on a page."""
    with app.app_context():
        db = db_session()
        db.execute(
            update(StaffUser)
            .where(StaffUser.username == username)
            .values(display_name=display_name)
        )
        db.commit()


def staff_row(app: Flask, staff_id: int) -> StaffUser:
    return detached_row(app, StaffUser, staff_id)


def session_rows_of(app: Flask, staff_id: int) -> int:
    with app.app_context():
        return int(
            db_session().scalar(
                select(func.count())
                .select_from(SessionRecord)
                .where(SessionRecord.staff_id == staff_id)
            )
            or 0
        )
