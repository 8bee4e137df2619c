"""Staff sign-in (DESIGN.md §6): two steps, one generic refusal, throttling, and enrolment.

Every refusal shows the same sentence and nothing else that would tell an attacker which
part was wrong. Time is moved by editing stored times, never by waiting.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from support.app import with_settings
from support.pages import csrf, enrolment_secret, error_summary
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team
from werkzeug.test import TestResponse

from intake import crypto, passwords
from intake.auth.views import PENDING_SINCE, generic_refusal
from intake.db import db_session
from intake.models import SessionRecord, StaffUser
from intake.sessions import (
    SplitKeySession,
    SplitKeySessionInterface,
    _decode,
    _encode,
    cookie_name,
)

GENERIC = "We could not sign you in. Check your details and try again."

# Words that would give away which part of a sign-in was wrong.
HINTS = ("password is", "username", "no such", "not found", "unknown", "incorrect", "expired")


# --- helpers ------------------------------------------------------------------------------


def assert_generic_refusal(response: TestResponse, status: int = 200) -> None:
    assert response.status_code == status
    assert error_summary(response) == [GENERIC]
    page = response.get_data(as_text=True).lower()
    # No field-level error says which field was wrong.
    assert 'class="error"' not in page
    assert "has-error" not in page
    body = page.split("<main", 1)[-1]
    summary = body.split('class="error-summary"', 1)[-1].split("</div>", 1)[0]
    for hint in HINTS:
        assert hint not in summary


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


def staff_member(app: Flask, username: str) -> StaffUser:
    with app.app_context():
        db = db_session()
        member = db.scalar(select(StaffUser).where(StaffUser.username == username))
        assert member is not None
        db.expunge(member)
        return member


def set_staff(app: Flask, username: str, **values: object) -> None:
    with app.app_context():
        db = db_session()
        db.execute(update(StaffUser).where(StaffUser.username == username).values(**values))
        db.commit()


# --- the generic refusal ------------------------------------------------------------------


def test_generic_refusal_is_the_documented_sentence(app: Flask) -> None:
    with app.test_request_context():
        assert generic_refusal() == GENERIC


def test_right_password_and_code_sign_in(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    assert_not_signed_in(client)
    auth.sign_in("coach", browser=client)
    page = client.get("/workspace")
    assert page.status_code == 200
    assert "Signed in as Coach." in page.get_data(as_text=True)


def test_wrong_password_is_refused_generically(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    response = auth.post_password(client, "coach", "river stones and mud")
    assert_generic_refusal(response)
    # The wrong password is not echoed back into the form.
    assert "river stones and mud" not in response.get_data(as_text=True)
    assert_not_signed_in(client)
    # The code page does not open either: it shows the sign-in form and the same sentence.
    assert_generic_refusal(client.get("/staff/two-factor"))
    assert_not_signed_in(client)


def test_unknown_username_is_refused_exactly_like_a_wrong_password(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    unknown = auth.post_password(client, "nobody-here", PASSWORDS["coach"])
    wrong = auth.post_password(client, "coach", "not the right one at all")
    assert_generic_refusal(unknown)
    assert_generic_refusal(wrong)
    assert error_summary(unknown) == error_summary(wrong)
    assert unknown.status_code == wrong.status_code
    assert_not_signed_in(client)


def test_empty_form_is_refused_generically(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    assert_generic_refusal(auth.post_password(client, "", ""))


def test_sign_in_post_without_csrf_token_signs_nobody_in(client: FlaskClient, team: Team) -> None:
    response = client.post(
        "/staff/sign-in", data={"username": "coach", "password": PASSWORDS["coach"]}
    )
    assert response.status_code != 302
    assert_not_signed_in(client)


def test_right_password_alone_does_not_sign_in(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    response = auth.post_password(client, "coach", PASSWORDS["coach"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/two-factor"
    assert_not_signed_in(client)


def test_wrong_code_is_refused_generically(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    response = auth.post_code(client, wrong_code(team.totp["coach"]))
    assert_generic_refusal(response)
    assert_not_signed_in(client)


def test_code_from_another_account_is_refused(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    other = team.code("coach2")
    if other in {team.code("coach", step) for step in (-1, 0, 1)}:  # a 1-in-300,000 clash
        other = wrong_code(team.totp["coach"])
    assert_generic_refusal(auth.post_code(client, other))
    assert_not_signed_in(client)


def test_code_is_refused_without_the_password_step(client: FlaskClient, team: Team) -> None:
    team.forget_used_codes("coach")
    # A session with a valid CSRF token, but no right password before the code.
    token = csrf(client, "/staff/sign-in")
    response = client.post(
        "/staff/two-factor", data={"code": team.code("coach"), "csrf_token": token}
    )
    assert_generic_refusal(response)
    assert_not_signed_in(client)


def test_reused_code_is_refused(client: FlaskClient, team: Team, auth: StaffBrowser) -> None:
    team.forget_used_codes("coach")
    code = team.code("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    assert auth.post_code(client, code).status_code == 302
    assert client.get("/workspace").status_code == 200
    auth.sign_out(client)
    assert_not_signed_in(client)

    # Someone who watched the code being typed tries it straight away.
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    assert_generic_refusal(auth.post_code(client, code))
    assert_not_signed_in(client)


def test_code_from_an_earlier_time_step_than_the_last_used_is_refused(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    assert auth.post_code(client, team.code("coach", 1)).status_code == 302
    auth.sign_out(client)
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    assert_generic_refusal(auth.post_code(client, team.code("coach", 0)))
    assert_not_signed_in(client)


def test_two_step_left_too_long_is_refused(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    token = csrf(client, "/staff/two-factor")
    # The password step was done longer ago than SIGN_IN_STEP_MINUTES.
    minutes = app.config["SIGN_IN_STEP_MINUTES"] + 1
    cookie = client.get_cookie(cookie_name(app))
    assert cookie is not None
    unsigned = SplitKeySessionInterface()._signer(app).unsign(cookie.value).decode("ascii")
    session_id, encoded_key = unsigned.split(".", 1)
    id_hash, key = crypto.token_digest(session_id), base64.urlsafe_b64decode(encoded_key)
    with app.app_context():
        db = db_session()
        record = db.get(SessionRecord, id_hash)
        assert record is not None
        data, secrets = _decode(record.payload, key, id_hash)
        since = datetime.fromisoformat(data[PENDING_SINCE])
        data[PENDING_SINCE] = (since - timedelta(minutes=minutes)).isoformat()
        record.payload = _encode(SplitKeySession(data, secrets=secrets), key, id_hash)
        db.commit()

    response = client.post(
        "/staff/two-factor", data={"code": team.code("coach"), "csrf_token": token}
    )
    assert_generic_refusal(response)
    assert_not_signed_in(client)
    # The half-done sign-in is gone: the code page now shows the sign-in form.
    assert_generic_refusal(client.get("/staff/two-factor"))
    assert_not_signed_in(client)


@with_settings(SIGN_IN_STEP_MINUTES=0)
def test_two_step_with_no_time_allowed_is_refused(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    # The code page shows the sign-in form again, with the same sentence, and no code field.
    response = client.get("/staff/two-factor")
    assert_generic_refusal(response)
    assert 'name="code"' not in response.get_data(as_text=True)
    assert_not_signed_in(client)


# --- too many tries -----------------------------------------------------------------------


NO_PAUSE = 1000  # keeps the database pause out of the way of the rate-limit tests


@with_settings(
    FAILED_SIGN_INS_BEFORE_PAUSE=NO_PAUSE,
    SIGN_IN_LIMIT_PER_ACCOUNT="3 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="100 per hour",
)
def test_too_many_tries_on_one_account_refuses_the_right_password(
    client: FlaskClient, team: Team, app: Flask, auth: StaffBrowser
) -> None:
    for attempt in range(3):
        assert_generic_refusal(auth.post_password(client, "coach", f"wrong password {attempt}"))
    assert_generic_refusal(auth.post_password(client, "coach", PASSWORDS["coach"]), status=429)
    assert_not_signed_in(client)
    # The same address can still sign in to another account.
    team.forget_used_codes("coach2")
    assert auth.post_password(client, "coach2", PASSWORDS["coach2"]).status_code == 302
    assert auth.post_code(client, team.code("coach2")).status_code == 302


@with_settings(
    FAILED_SIGN_INS_BEFORE_PAUSE=NO_PAUSE,
    SIGN_IN_LIMIT_PER_ACCOUNT="3 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="100 per hour",
)
def test_account_limit_counts_the_username_however_it_is_typed(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    for username in ("coach", "COACH", " Coach "):
        assert_generic_refusal(auth.post_password(client, username, "wrong password here"))
    assert_generic_refusal(auth.post_password(client, "coach", PASSWORDS["coach"]), status=429)


@with_settings(
    FAILED_SIGN_INS_BEFORE_PAUSE=NO_PAUSE,
    SIGN_IN_LIMIT_PER_ACCOUNT="100 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="3 per hour",
)
def test_too_many_tries_from_one_address_refuses_the_right_password(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    for username in ("coach2", "admin", "nobody"):
        assert_generic_refusal(auth.post_password(client, username, "wrong password here"))
    assert_generic_refusal(auth.post_password(client, "coach", PASSWORDS["coach"]), status=429)
    assert_not_signed_in(client)
    # Someone at another address is not locked out.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    team.forget_used_codes("coach")
    assert auth.post_password(elsewhere, "coach", PASSWORDS["coach"]).status_code == 302
    assert auth.post_code(elsewhere, team.code("coach")).status_code == 302
    assert elsewhere.get("/workspace").status_code == 200


@with_settings(
    FAILED_SIGN_INS_BEFORE_PAUSE=NO_PAUSE,
    SIGN_IN_LIMIT_PER_ACCOUNT="2 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="2 per hour",
)
def test_right_sign_ins_do_not_use_up_the_limit(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    for _round in range(3):
        team.forget_used_codes("coach")
        assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
        assert auth.post_code(client, team.code("coach")).status_code == 302
        auth.sign_out(client)


@with_settings(
    FAILED_SIGN_INS_BEFORE_PAUSE=NO_PAUSE,
    SIGN_IN_LIMIT_PER_ACCOUNT="3 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="100 per hour",
)
def test_too_many_wrong_codes_refuse_the_right_code(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    for _attempt in range(3):
        assert_generic_refusal(auth.post_code(client, wrong_code(team.totp["coach"])))
    assert_generic_refusal(auth.post_code(client, team.code("coach")), status=429)
    assert_not_signed_in(client)


@with_settings(
    FAILED_SIGN_INS_BEFORE_PAUSE=3,
    SIGN_IN_LIMIT_PER_ACCOUNT="100 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="100 per hour",
)
def test_pause_after_repeated_wrong_passwords_refuses_the_right_password(
    app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    for attempt in range(2):
        assert_generic_refusal(auth.post_password(client, "coach", f"wrong password {attempt}"))
    # The try that starts the pause says so (tests/test_sign_in_paused.py has the wording).
    assert "paused" in error_summary(auth.post_password(client, "coach", "wrong password 2"))[0]
    member = staff_member(app, "coach")
    assert member.paused_until is not None
    # The right password is refused too, with the same notice as a wrong one.
    response = auth.post_password(client, "coach", PASSWORDS["coach"])
    assert response.status_code == 200
    assert "paused" in error_summary(response)[0]
    assert_not_signed_in(client)
    # Once the pause is over, the right password works again.
    set_staff(app, "coach", paused_until=member.paused_until - timedelta(hours=1))
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302


@with_settings(
    FAILED_SIGN_INS_BEFORE_PAUSE=3,
    SIGN_IN_LIMIT_PER_ACCOUNT="100 per hour",
    SIGN_IN_LIMIT_PER_ADDRESS="100 per hour",
)
def test_pause_after_repeated_wrong_codes_refuses_the_right_code(
    client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    for _attempt in range(2):
        assert_generic_refusal(auth.post_code(client, wrong_code(team.totp["coach"])))
    # The try that starts the pause says so (tests/test_sign_in_paused.py has the wording).
    assert "paused" in error_summary(auth.post_code(client, wrong_code(team.totp["coach"])))[0]
    response = auth.post_code(client, team.code("coach"))
    assert response.status_code == 200
    assert "paused" in error_summary(response)[0]
    assert_not_signed_in(client)


# --- first sign-in: setting up the 6-digit codes ------------------------------------------


@pytest.fixture
def unenrolled(app: Flask, team: Team) -> None:
    set_staff(app, "coach", totp_secret_ct=None, totp_last_step=None)


def test_first_sign_in_shows_a_qr_code_and_the_secret(
    unenrolled: None, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    response = client.get("/staff/two-factor")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<div class="qr"[^>]*>\s*<svg', page), "no inline SVG QR code"
    assert "<img" not in page.split('<div class="qr"', 1)[1].split("</div>", 1)[0]
    secret = enrolment_secret(response)
    assert len(secret) >= 16
    assert re.fullmatch(r"[A-Z2-7]+", secret)
    assert secret != team.totp["coach"]
    # The secret stays the same while the page is reloaded.
    assert enrolment_secret(client.get("/staff/two-factor")) == secret
    assert_not_signed_in(client)


def test_right_code_from_the_new_secret_completes_sign_in_and_stores_it_encrypted(
    unenrolled: None,
    app: Flask,
    client: FlaskClient,
    team: Team,
    auth: StaffBrowser,
) -> None:
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    secret = enrolment_secret(client.get("/staff/two-factor"))
    response = auth.post_code(client, pyotp.TOTP(secret).now())
    assert response.status_code == 302
    assert response.headers["Location"] == "/workspace"
    assert client.get("/workspace").status_code == 200

    stored = staff_member(app, "coach").totp_secret_ct
    assert stored is not None
    for form in (secret, secret.lower(), base64.b64encode(secret.encode()).decode()):
        assert form.encode() not in stored

    # Next time the codes come from the new secret, and no set-up page is shown.
    auth.sign_out(client)
    team.totp["coach"] = secret
    team.forget_used_codes("coach")
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    page = client.get("/staff/two-factor").get_data(as_text=True)
    assert "<svg" not in page
    assert secret[:4] not in page
    assert auth.post_code(client, team.code("coach")).status_code == 302


def test_wrong_code_during_set_up_stores_nothing(
    unenrolled: None, app: Flask, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    secret = enrolment_secret(client.get("/staff/two-factor"))
    response = auth.post_code(client, wrong_code(secret))
    assert_generic_refusal(response)
    assert enrolment_secret(response) == secret
    assert staff_member(app, "coach").totp_secret_ct is None
    assert_not_signed_in(client)


def test_old_secret_does_not_work_during_set_up(
    unenrolled: None, client: FlaskClient, team: Team, auth: StaffBrowser
) -> None:
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    secret = enrolment_secret(client.get("/staff/two-factor"))
    old = team.code("coach")
    if old in {pyotp.TOTP(secret).at(datetime.now().timestamp() + 30 * s) for s in (-1, 0, 1)}:
        old = wrong_code(secret)  # a 1-in-300,000 clash
    assert_generic_refusal(auth.post_code(client, old))
    assert_not_signed_in(client)


# --- the password policy ------------------------------------------------------------------


@pytest.mark.parametrize("password", ["", "short", "elevenchars", "ab cd ef gh"])
def test_password_under_12_characters_is_refused(password: str) -> None:
    assert passwords.problem_with(password, "coach") is not None


def test_password_of_exactly_12_characters_is_accepted() -> None:
    assert passwords.problem_with("kettle drum!", "coach") is None


@pytest.mark.parametrize("password", ["qwerty123456", "password1234", "Iloveyou2024!"])
def test_common_password_is_refused(password: str) -> None:
    problem = passwords.problem_with(password, "coach")
    assert problem is not None
    assert "common" in str(problem)


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("mariposa garden gate", "mariposa"),
        ("my name is Mariposa ok", "mariposa"),
        ("gate-MARIPOSA-2024!", "Mariposa"),
    ],
)
def test_password_containing_the_username_is_refused(password: str, username: str) -> None:
    problem = passwords.problem_with(password, username)
    assert problem is not None
    assert "username" in str(problem)


@pytest.mark.parametrize(
    "password",
    [
        "the quiet harbour keeps its lanterns lit through every winter storm we have",
        "x" * 3 + "long passphrase with many words " * 3,
        "plain lowercase words only",
        "ALL CAPITALS AND SPACES",
        "çà et là, les péniches glissent",
        "شجرة الزيتون في الحديقة",
        "ракета летит над полем",
        "🌊🌲🏔️ mountains and sea 🌊",
        "tab\tand newline\nin here",
    ],
)
def test_long_passphrases_and_any_characters_are_accepted(password: str) -> None:
    assert passwords.problem_with(password, "coach") is None


def test_passphrase_of_64_characters_and_more_is_accepted() -> None:
    for length in (64, 100, 128):
        password = ("walking slowly along the old canal towpath " * 4)[:length]
        assert len(password) == length
        assert passwords.problem_with(password, "coach") is None


def test_no_composition_rules() -> None:
    # No digit, no capital, no symbol is needed; none of them is forbidden either.
    assert passwords.problem_with("sunflowers at noon", "coach") is None
    assert passwords.problem_with("Sunflowers@Noon#7", "coach") is None


def test_password_box_hides_what_is_typed(client):
    page = client.get("/staff/sign-in").get_data(as_text=True)
    assert 'type="password"' in page
    assert 'autocomplete="current-password"' in page
    assert "None" not in page
