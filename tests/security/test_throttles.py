"""Brute force, and requests too big to read (OWASP ASVS 5.0 level 2; DESIGN.md §5, §6).

- The throttles no other test reaches: password guesses spread over many addresses and
  accounts hit the global limit; 6-digit code guesses from one address across two accounts are
  throttled by the address; return codes and referral codes guessed from many addresses hit
  the global limit. Each refusal is the same kind sentence as a wrong guess (or "please wait"),
  and the person who types their own code right, from an address that has not missed, still
  gets in.
- Request bodies over the cap (512 KB), here because the cap is a limit of the same kind: a
  client page (as a form and as a file upload), a visitor's form and a partner's form get the
  kind "too much to send at once" page, the API says so in JSON, and nothing is stored. Just
  under the cap the page itself answers.

(Odd numbers in addresses are in test_fuzz.py, with the other input that must never give a
server error.) Time is never waited for; limits are made small in the settings instead.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from support.app import with_settings
from support.database import answer_rows
from support.journey import Phone, fill, section_at
from support.pages import Page, csrf
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team

from intake import crypto, staff
from intake.db import db_session
from intake.models import Referral

from .world import (
    GENERIC,
    TOO_LONG,
    api_client,
    changed_tables,
    make_api_token,
    make_referral,
    rows,
)

TOO_MUCH = "That was too much to send at once"
MANY_TRIES = (
    "There have been many tries. "
    "To keep everyone's answers safe, please wait 15 minutes and try again."
)


# --- brute force: the throttles no other test reaches ---------------------------------------------

TOO_MANY_CODES = "There have been many tries. Please wait 15 minutes and try again."
CODE_NOT_FOUND = "We could not find that code."
RETURN_CODE_NOT_FOUND = "We could not find answers for that code."


def from_address(browser: FlaskClient, number: int) -> FlaskClient:
    browser.environ_base["REMOTE_ADDR"] = f"203.0.113.{number}"
    return browser


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    near = {totp.generate_otp(step) for step in range(now - 3, now + 4)}
    return next(f"{n:06d}" for n in range(100000, 1_000_000) if f"{n:06d}" not in near)


def failed_sign_ins(app: Flask, username: str) -> int:
    with app.app_context():
        found = staff.find_staff(db_session(), username)
        assert found is not None
        return found.failed_sign_ins


def signed_in(browser: FlaskClient) -> bool:
    return browser.get("/workspace").status_code == 200


@with_settings(
    SIGN_IN_LIMIT_GLOBAL="4 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="100 per hour",
    SIGN_IN_LIMIT_PER_ACCOUNT="100 per hour",
)
def test_password_guesses_spread_over_addresses_and_accounts_hit_the_global_limit(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    # Each guess from its own address at its own account: no per-address or per-account
    # limit, and no account pause, is ever reached.
    for number, username in enumerate(("coach", "coach2", "admin", "nobody"), 1):
        browser = from_address(app.test_client(), number)
        refused = auth.post_password(browser, username, "a wrong password here")
        assert refused.status_code == 200
        assert GENERIC in refused.get_data(as_text=True)
    team.forget_used_codes("partner")
    late = from_address(app.test_client(), 99)
    refused = auth.post_password(late, "partner", PASSWORDS["partner"])
    assert refused.status_code == 429
    assert GENERIC in refused.get_data(as_text=True)
    assert late.get("/partner/").headers["Location"].startswith("/staff/sign-in")
    assert failed_sign_ins(app, "coach") == 1, "no account was paused: the limit did it"


@with_settings(SIGN_IN_LIMIT_PER_ADDRESS="3 per hour", SIGN_IN_LIMIT_PER_ACCOUNT="100 per hour")
def test_six_digit_code_guesses_from_one_address_across_accounts_are_throttled(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    """Someone who has two people's passwords guesses both 6-digit codes from one address."""
    first, second = from_address(app.test_client(), 7), from_address(app.test_client(), 7)
    for browser, username in ((first, "coach"), (second, "coach2")):
        team.forget_used_codes(username)
        assert auth.post_password(browser, username, PASSWORDS[username]).status_code == 302
    for browser, username in ((first, "coach"), (first, "coach"), (second, "coach2")):
        refused = auth.post_code(browser, wrong_code(team.totp[username]))
        assert refused.status_code == 200
        assert GENERIC in refused.get_data(as_text=True)
    refused = auth.post_code(second, team.code("coach2"))
    assert refused.status_code == 429
    assert GENERIC in refused.get_data(as_text=True)
    assert not signed_in(second)
    # Neither account reached its own limit or a pause: the address did.
    assert failed_sign_ins(app, "coach") == 2
    assert failed_sign_ins(app, "coach2") == 1
    elsewhere = from_address(app.test_client(), 8)
    team.forget_used_codes("coach2")
    assert auth.post_password(elsewhere, "coach2", PASSWORDS["coach2"]).status_code == 302
    assert auth.post_code(elsewhere, team.code("coach2")).status_code == 302
    assert signed_in(elsewhere)


def random_return_code() -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(16))
    return " ".join(digits[i : i + 4] for i in range(0, 16, 4))


@with_settings(RETURN_CODE_LIMIT_GLOBAL="3 per hour", RETURN_CODE_LIMIT_PER_ADDRESS="100 per hour")
def test_return_code_guesses_spread_over_addresses_hit_the_global_limit(
    app: Flask, team: Team
) -> None:
    owner = Phone(app)
    code = owner.begin()
    owner.save_page(1, fill(section_at(1)))
    for number in range(1, 4):
        guesser = Phone(app, from_address(app.test_client(), number))
        guesser.keep_private(code)
        refused = guesser.come_back(random_return_code(), status=400)
        assert RETURN_CODE_NOT_FOUND in refused.get_data(as_text=True)
    # The service's budget is spent: a guesser's next try waits, with a kind page...
    again = Phone(app, from_address(app.test_client(), 1))
    refused = again.come_back(random_return_code(), status=429)
    assert Page(refused.get_data(as_text=True)).summary_links == [("#code", MANY_TRIES)]
    # ...while a person who types their own code right, from an address that has not missed,
    # still gets in (to carry on, to withdraw, or to delete everything).
    late = Phone(app, from_address(app.test_client(), 50))
    late.keep_private(code)
    assert late.come_back(code).headers["Location"] == "/your-space"


@with_settings(
    RETURN_CODE_LIMIT_GLOBAL="3 per hour", REFERRAL_CODE_LIMIT_PER_ADDRESS="100 per hour"
)
def test_referral_code_guesses_spread_over_addresses_hit_the_global_limit(
    app: Flask, team: Team
) -> None:
    made = make_referral(app, "partner", note="for the coach")
    for number in range(1, 4):
        guesser = Phone(app, from_address(app.test_client(), number))
        guesser.get("/referral-code")
        while (guess := crypto.generate_referral_code()) == made.code:
            continue
        refused = guesser.post("/referral-code", {"code": guess}, status=400)
        assert CODE_NOT_FOUND in refused.get_data(as_text=True)
    # The budget is spent: a guesser who tries again waits, and what they aimed at is unused.
    again = Phone(app, from_address(app.test_client(), 1))
    again.get("/referral-code")
    refused = again.post("/referral-code", {"code": made.code}, status=429)
    assert TOO_MANY_CODES in refused.get_data(as_text=True)
    assert again.get("/referred", status=302).headers["Location"] == "/"
    with app.app_context():
        referral = db_session().get(Referral, made.id)
        assert referral is not None
        assert referral.used_at is None
    # The person holding the card, from an address that has not missed, still gets in.
    late = Phone(app, from_address(app.test_client(), 50))
    late.get("/referral-code")
    assert late.post("/referral-code", {"code": made.code}).headers["Location"] == "/referred"


# --- request bodies over the cap ------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_kindly_and_nothing_is_stored(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    cap = int(app.config["MAX_CONTENT_LENGTH"])
    assert cap == 512 * 1024
    phone = Phone(app)
    phone.begin()
    phone.save_page(1, fill(section_at(1)))
    partner = auth.sign_in("partner")
    _id, token = make_api_token(app, "partner")
    before = rows(app, sessions=False)
    before_answers = [(a.section_key, bytes(a.ciphertext)) for a in answer_rows(app)]

    # A client page, as a form and as a file upload: the kind page, with the quick exit.
    phone.get("/page/2")
    refused = phone.post("/page/2", b"languages=" + b"x" * cap, status=413)
    assert TOO_MUCH in refused.get_data(as_text=True)
    assert phone.token is not None
    boundary = "attack-boundary"
    parts = [("csrf_token", phone.token), ("languages", "x" * cap)]
    upload = phone.client.post(
        "/page/2",
        data="".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in parts
        )
        + f"--{boundary}--\r\n",
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert upload.status_code == 413
    assert TOO_MUCH in upload.get_data(as_text=True)
    # A visitor's form, and the partner's.
    visitor = Phone(app)
    visitor.get("/come-back")
    assert TOO_MUCH in visitor.post("/come-back", b"code=" + b"1" * cap, status=413).get_data(
        as_text=True
    )
    too_big = partner.post(
        "/partner/referrals/new",
        data={
            "locale": "en",
            "note": "x" * cap,
            "csrf_token": csrf(partner, "/partner/referrals/new"),
        },
    )
    assert too_big.status_code == 413
    assert TOO_MUCH in too_big.get_data(as_text=True)
    # The API says it in JSON.
    answer = api_client(app, token).post(
        "/api/v1/referrals", data=json.dumps({"note": "x" * cap}), content_type="application/json"
    )
    assert answer.status_code == 413
    assert answer.get_json() == {"error": "too_large"}

    assert not changed_tables(before, rows(app, sessions=False))
    assert [(a.section_key, bytes(a.ciphertext)) for a in answer_rows(app)] == before_answers
    # Just under the cap, the page itself answers (and says the answer is too long).
    phone.get("/page/2")
    under = phone.post("/page/2", b"languages=" + b"x" * (cap - 1024), status=400)
    assert TOO_LONG in under.get_data(as_text=True)
