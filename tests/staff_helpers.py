"""Helpers for the workspace, access-log and admin-page tests.

Each staff member gets their own browser (a Flask test client), signed in through the real
password and 6-digit-code pages, so several people can be signed in at once. Clients are made
the way a person makes them: a `Phone` walks the journey and sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
from conftest import PASSWORDS, Team, csrf
from flask import Flask
from flask.testing import FlaskClient
from journey_helpers import Phone
from sqlalchemy import update
from werkzeug.test import TestResponse

from intake import crypto, vault
from intake.db import db_session
from intake.models import StaffUser


def error_summary(response: TestResponse) -> list[str]:
    """The messages in the page's error summary, as a person reads them."""
    page = response.get_data(as_text=True)
    block = re.search(r'<div class="error-summary".*?</div>', page, re.DOTALL)
    if block is None:
        return []
    items = re.findall(r"<li>(.*?)</li>", block.group(0), re.DOTALL)
    return [re.sub(r"<[^>]+>", "", item).strip() for item in items]


def enrolment_secret(response: TestResponse) -> str:
    """The set-up key shown as text under the QR code on the first sign-in."""
    page = response.get_data(as_text=True)
    block = re.search(r'<p class="code"[^>]*>(.*?)</p>', page, re.DOTALL)
    assert block, "no set-up key shown"
    return "".join(re.findall(r"<span>([A-Z2-7]+)</span>", block.group(1)))


def forget_used_codes(app: Flask, username: str) -> None:
    """Let a code of the current time step be used again (several sign-ins in one test)."""
    with app.app_context():
        db = db_session()
        db.execute(
            update(StaffUser)
            .where(StaffUser.username == username)
            .values(totp_last_step=None, failed_sign_ins=0, paused_until=None)
        )
        db.commit()


def post_password(browser: FlaskClient, username: str, password: str) -> TestResponse:
    return browser.post(
        "/staff/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf(browser, "/staff/sign-in"),
        },
    )


def post_code(browser: FlaskClient, code: str) -> TestResponse:
    return browser.post(
        "/staff/two-factor",
        data={"code": code, "csrf_token": csrf(browser, "/staff/two-factor")},
    )


def sign_in_as(
    app: Flask,
    username: str,
    *,
    password: str | None = None,
    totp_secret: str | None = None,
    team: Team | None = None,
) -> FlaskClient:
    """A new browser, signed in as `username` through both steps."""
    if totp_secret is None:
        assert team is not None
        totp_secret = team.totp[username]
    forget_used_codes(app, username)
    browser = app.test_client()
    first = post_password(browser, username, password or PASSWORDS[username])
    assert first.status_code == 302, first.get_data(as_text=True)
    assert first.headers["Location"] == "/staff/two-factor"
    second = post_code(browser, pyotp.TOTP(totp_secret).now())
    assert second.status_code == 302, second.get_data(as_text=True)
    return browser


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


@dataclass
class SentClient:
    phone: Phone
    code: str
    id: str
    name: str


def sent_client(app: Flask, name: str) -> SentClient:
    """A person who agreed, wrote the name they go by, and sent their answers."""
    phone = Phone(app)
    code = phone.begin(share="yes")
    response = phone.save_page(1, {"name": name})
    assert response.headers["Location"] == "/page/2"
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"
    with app.app_context():
        digits = crypto.normalise_return_code(code)
        assert digits is not None
        found = vault.find_client(db_session(), digits, vault.KeySettings.from_config(app.config))
        assert found is not None
        assert found.status == "submitted"
        client_id = found.id
    return SentClient(phone, code, client_id, name)


def assign(admin: FlaskClient, client_id: str, coach_id: int) -> None:
    """The admin picks a coach for a client from the "Waiting for a coach" list."""
    response = admin.post(
        f"/clients/{client_id}/assign",
        data={"coach": str(coach_id), "csrf_token": csrf(admin, "/account/password")},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/workspace"
