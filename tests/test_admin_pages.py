"""The admin's team page and everyone's own password page, driven through the browser.

An admin invites a coach and a partner; the link is shown once, works once, and the new
coach's copy of the organisation key opens the same answers. Mistakes on the invite form get
a kind sentence and make nothing. Resetting someone's 6-digit codes makes them set the app up
again; an admin cannot lock themself out. Changing a password refuses a wrong current
password, a weak new one and a mistyped one; a right change moves the organisation key to the
new password, ends the person's other sessions and keeps this one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.clients import MadeClient, sent_client
from support.database import every_value
from support.pages import csrf, enrolment_secret, error_summary
from support.staff import StaffBrowser, assign
from support.team import PASSWORDS, Team
from werkzeug.test import TestResponse

from intake import staff
from intake.auth.views import generic_refusal
from intake.context import staff_crypto
from intake.db import db_session
from intake.models import PartnerOrg, StaffInvite, StaffUser

JOIN_LINK = re.compile(r"<bdi>(https?://[^<]+/staff/join/[^<]+)</bdi>")
NEW_PASSWORD = "kettles singing in the snow"
NOT_RIGHT = "Your current password is not right. Please try again."
TOO_SHORT = "Use at least 12 characters. A few words in a row work well."
TOO_COMMON = "That password is very common. Choose one that other people are unlikely to use."
DIFFERENT = "The two new passwords are different. Please type them again."
CHANGED = "Your password is changed. You are signed out everywhere else."


# --- helpers ------------------------------------------------------------------------------


def invite(admin: FlaskClient, role: str, display_name: str, partner_org: str = "") -> TestResponse:
    return admin.post(
        "/team",
        data={
            "role": role,
            "display_name": display_name,
            "partner_org": partner_org,
            "csrf_token": csrf(admin, "/team"),
        },
    )


def join_link(response: TestResponse) -> str:
    found = JOIN_LINK.findall(response.get_data(as_text=True))
    assert len(found) == 1, "the link is shown once on the page"
    return found[0]


def join(app: Flask, link: str, username: str, password: str) -> FlaskClient:
    """Follow an invite link in a new browser and make the account; returns that browser."""
    browser = app.test_client()
    first = browser.get(urlsplit(link).path)
    assert first.status_code == 302
    assert first.headers["Location"] == "/staff/join"
    assert "/staff/join/" not in first.headers["Location"], "the secret leaves the address bar"
    response = browser.post(
        "/staff/join",
        data={
            "username": username,
            "password": password,
            "password_again": password,
            "csrf_token": csrf(browser, "/staff/join"),
        },
    )
    assert response.status_code == 302, error_summary(response)
    assert response.headers["Location"] == "/staff/sign-in?joined=1"
    return browser


def first_sign_in(browser: FlaskClient, username: str, password: str) -> str:
    """Sign in for the first time, setting up the 6-digit codes; returns where it lands."""
    assert StaffBrowser.post_password(browser, username, password).status_code == 302
    page = browser.get("/staff/two-factor")
    assert "Set up your 6-digit codes" in page.get_data(as_text=True)
    assert re.search(r'<div class="qr"[^>]*>\s*<svg', page.get_data(as_text=True))
    secret = enrolment_secret(page)
    response = StaffBrowser.post_code(browser, pyotp.TOTP(secret).now())
    assert response.status_code == 302, error_summary(response)
    return response.headers["Location"]


def member(app: Flask, username: str) -> StaffUser:
    with app.app_context():
        db = db_session()
        found = staff.find_staff(db, username)
        assert found is not None, username
        db.expunge(found)
        return found


def org_key_of(app: Flask, username: str, password: str) -> bytes | None:
    """The organisation key that this person's password opens, read as the app would."""
    with app.app_context():
        db = db_session()
        checked = staff.check_password(db, username, password, staff_crypto(), staff.SignInPolicy())
        assert checked is not None, username
        key = staff.open_org_key(*checked)
        db.rollback()
        return key


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db_session().scalar(select(func.count()).select_from(model)) or 0)


def reads_the_record(browser: FlaskClient, person: MadeClient) -> None:
    response = browser.get(f"/clients/{person.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<bdi>{person.name}</bdi>" in page
    assert "could not be opened" not in page


def assert_signed_out(browser: FlaskClient) -> None:
    response = browser.get("/workspace")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")


@pytest.fixture
def admin(app: Flask, team: Team, auth: StaffBrowser) -> FlaskClient:
    return auth.sign_in("admin")


# --- inviting -----------------------------------------------------------------------------


def test_an_invited_coach_joins_and_opens_the_same_answers(
    app: Flask, team: Team, admin: FlaskClient
) -> None:
    response = invite(admin, "coach", "Noor Haddad")
    assert response.status_code == 200
    assert error_summary(response) == []
    link = join_link(response)
    secret = urlsplit(link).path.rsplit("/", 1)[-1]
    assert len(secret) >= 32
    # Shown only in that response: not on the page again, and not in the database.
    assert secret not in admin.get("/team").get_data(as_text=True)
    assert secret.encode() not in every_value(app)

    newcomer = join(app, link, "noor", NEW_PASSWORD)
    joined = member(app, "noor")
    assert joined.display_name == "Noor Haddad"
    assert joined.role == "coach"
    assert joined.wrapped_org_key is not None
    # The link worked once.
    again = app.test_client()
    assert again.get(urlsplit(link).path).status_code == 302
    closed = again.get("/staff/join")
    assert closed.status_code == 404
    assert "invited as" not in closed.get_data(as_text=True)

    assert first_sign_in(newcomer, "noor", NEW_PASSWORD) == "/workspace"
    assert newcomer.get("/workspace").status_code == 200
    assert org_key_of(app, "noor", NEW_PASSWORD) == team.org_private_key

    person = sent_client(app, "Ilse Morningside")
    assign(admin, person.id, joined.id)
    reads_the_record(newcomer, person)
    team_page = admin.get("/team").get_data(as_text=True)
    assert "Noor Haddad" in team_page


def test_an_invited_partner_joins_their_organisation_and_reads_no_answers(
    app: Flask, team: Team, admin: FlaskClient
) -> None:
    response = invite(admin, "partner", "Sam Referrer", "Harbour Aid")
    link = join_link(response)
    browser = join(app, link, "sam", NEW_PASSWORD)
    joined = member(app, "sam")
    assert joined.role == "partner"
    assert joined.wrapped_org_key is None, "partner staff hold no organisation key"
    with app.app_context():
        org = db_session().get(PartnerOrg, joined.partner_org_id)
        assert org is not None
        assert org.name == "Harbour Aid"

    assert first_sign_in(browser, "sam", NEW_PASSWORD) != "/workspace", "partners land elsewhere"
    person = sent_client(app, "Ravi Underhill")
    assign(admin, person.id, team.ids["coach"])
    workspace = browser.get("/workspace")
    assert workspace.status_code in (302, 404), "partners have no client list"
    assert person.name not in workspace.get_data(as_text=True)
    record = browser.get(f"/clients/{person.id}")
    assert record.status_code == 404
    assert person.name not in record.get_data(as_text=True)
    assert "Harbour Aid" in admin.get("/team").get_data(as_text=True)


@pytest.mark.parametrize("typed", ["", "   "], ids=["empty", "only-spaces"])
def test_an_invite_without_a_name_gets_a_kind_error_and_makes_nothing(
    app: Flask, admin: FlaskClient, typed: str
) -> None:
    before = count(app, StaffInvite)
    response = invite(admin, "coach", typed)
    assert error_summary(response) == ["Write their name, as the team and clients will see it."]
    assert not JOIN_LINK.search(response.get_data(as_text=True))
    assert count(app, StaffInvite) == before


def test_a_partner_invite_without_an_organisation_gets_a_kind_error_and_makes_nothing(
    app: Flask, admin: FlaskClient
) -> None:
    invites, orgs = count(app, StaffInvite), count(app, PartnerOrg)
    response = invite(admin, "partner", "Sam Referrer", "   ")
    assert error_summary(response) == [
        "Give the partner organisation a name of up to 200 characters."
    ]
    assert not JOIN_LINK.search(response.get_data(as_text=True))
    assert count(app, StaffInvite) == invites
    assert count(app, PartnerOrg) == orgs
    # What was typed is kept, so only the missing part needs typing.
    assert 'value="Sam Referrer"' in response.get_data(as_text=True)


def test_only_an_admin_can_invite(app: Flask, team: Team, auth: StaffBrowser) -> None:
    coach = auth.sign_in("coach")
    before = count(app, StaffInvite)
    assert coach.get("/team").status_code == 404
    response = coach.post(
        "/team",
        data={
            "role": "admin",
            "display_name": "Mallory",
            "csrf_token": csrf(coach, "/workspace"),
        },
    )
    assert response.status_code == 404
    assert count(app, StaffInvite) == before


# --- 6-digit codes and deactivating -------------------------------------------------------


def test_resetting_someones_codes_makes_them_set_up_the_app_again(
    app: Flask, team: Team, admin: FlaskClient, auth: StaffBrowser
) -> None:
    coach = auth.sign_in("coach")
    assert coach.get("/workspace").status_code == 200
    response = admin.post(
        f"/team/{team.ids['coach']}/reset-two-step", data={"csrf_token": csrf(admin, "/team")}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/team"
    assert_signed_out(coach)
    row = re.search(
        r"<tr>\s*<td>Coach</td>.*?</tr>", admin.get("/team").get_data(as_text=True), re.DOTALL
    )
    assert row, "the coach is on the team page"
    assert "Not set up" in row.group(0)

    browser = app.test_client()
    auth.forget_used_codes("coach")
    assert auth.post_password(browser, "coach", PASSWORDS["coach"]).status_code == 302
    page = browser.get("/staff/two-factor")
    assert "Set up your 6-digit codes" in page.get_data(as_text=True)
    assert re.search(r'<div class="qr"[^>]*>\s*<svg', page.get_data(as_text=True))
    new_secret = enrolment_secret(page)
    assert new_secret != team.totp["coach"]
    # The old phone's code no longer signs in.
    old_code = team.code("coach")
    if old_code != pyotp.TOTP(new_secret).now():  # a one-in-a-million clash otherwise
        refused = auth.post_code(browser, old_code)
        assert error_summary(refused) == [generic_refusal_text(app)]
        assert_signed_out(browser)
    assert auth.post_code(browser, pyotp.TOTP(new_secret).now()).status_code == 302
    assert browser.get("/workspace").status_code == 200


def generic_refusal_text(app: Flask) -> str:
    with app.test_request_context():
        return generic_refusal()


def test_an_admin_cannot_deactivate_themself(app: Flask, team: Team, admin: FlaskClient) -> None:
    page = admin.get("/team").get_data(as_text=True)
    assert f"/team/{team.ids['admin']}/deactivate" not in page, "no button to lock yourself out"
    assert f"/team/{team.ids['coach']}/deactivate" in page
    response = admin.post(
        f"/team/{team.ids['admin']}/deactivate", data={"csrf_token": csrf(admin, "/team")}
    )
    assert response.status_code == 400
    assert member(app, "admin").active
    assert member(app, "admin").wrapped_org_key is not None
    assert admin.get("/workspace").status_code == 200


# --- changing your own password -----------------------------------------------------------


def change(browser: FlaskClient, current: str, new: str, again: str | None = None) -> TestResponse:
    return browser.post(
        "/account/password",
        data={
            "current": current,
            "new": new,
            "new_again": new if again is None else again,
            "csrf_token": csrf(browser, "/account/password"),
        },
    )


@pytest.mark.parametrize(
    ("current", "new", "again", "message"),
    [
        ("not my password at all", NEW_PASSWORD, None, NOT_RIGHT),
        (PASSWORDS["coach"], "short words", None, TOO_SHORT),
        (PASSWORDS["coach"], "Password1234!", None, TOO_COMMON),
        (PASSWORDS["coach"], NEW_PASSWORD, "kettles singing in the rain", DIFFERENT),
    ],
    ids=["wrong-current", "too-short", "too-common", "mistyped"],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    app: Flask,
    team: Team,
    current: str,
    new: str,
    again: str | None,
    message: str,
    auth: StaffBrowser,
) -> None:
    browser = auth.sign_in("coach")
    elsewhere = auth.sign_in("coach")
    before = member(app, "coach").password_hash
    response = change(browser, current, new, again)
    assert response.status_code == 400
    assert error_summary(response) == [message]
    assert CHANGED not in response.get_data(as_text=True)
    for typed in {current, new, again or new}:
        assert typed not in response.get_data(as_text=True), "a password is shown back"
    assert member(app, "coach").password_hash == before
    assert elsewhere.get("/workspace").status_code == 200, "nobody was signed out"
    assert browser.get("/workspace").status_code == 200


@pytest.mark.parametrize(
    ("locale", "too_common", "hint"),
    [
        (
            "fr",
            "Ce mot de passe est très courant. Choisissez-en un que d’autres personnes utilisent "
            "rarement.",
            "Utilisez au moins 12 caractères.",
        ),
        ("ar", "كلمة المرور هذه شائعة جدًا.", "يُرجى استخدام 12 حرفًا على الأقل."),
    ],
)
def test_a_refused_password_is_explained_in_the_staff_members_language(
    app: Flask, team: Team, locale: str, too_common: str, hint: str, auth: StaffBrowser
) -> None:
    browser = auth.sign_in("coach")
    page = browser.get("/account/password", headers={"Accept-Language": locale})
    assert hint in page.get_data(as_text=True), "the length in the hint is the policy's"
    response = browser.post(
        "/account/password",
        headers={"Accept-Language": locale},
        data={
            "current": PASSWORDS["coach"],
            "new": "Password1234!",
            "new_again": "Password1234!",
            "csrf_token": csrf(browser, "/account/password"),
        },
    )
    assert response.status_code == 400
    (said,) = error_summary(response)
    assert said.startswith(too_common)
    assert TOO_COMMON not in response.get_data(as_text=True)


def test_a_right_password_change_moves_the_key_and_ends_other_sessions(
    app: Flask, team: Team, admin: FlaskClient, auth: StaffBrowser
) -> None:
    person = sent_client(app, "Dara Fernhill")
    assign(admin, person.id, team.ids["coach"])
    here = auth.sign_in("coach")
    elsewhere = auth.sign_in("coach")
    reads_the_record(elsewhere, person)

    response = change(here, PASSWORDS["coach"], NEW_PASSWORD)
    assert response.status_code == 200
    assert CHANGED in response.get_data(as_text=True)
    assert error_summary(response) == []

    assert_signed_out(elsewhere)
    assert elsewhere.get(f"/clients/{person.id}").status_code == 302
    assert here.get("/workspace").status_code == 200, "this session carries on"
    reads_the_record(here, person)

    # The old password no longer opens anything; the new one opens the same org key.
    auth.forget_used_codes("coach")
    stranger = app.test_client()
    refused = auth.post_password(stranger, "coach", PASSWORDS["coach"])
    assert refused.status_code == 200
    assert error_summary(refused) == [generic_refusal_text(app)]
    assert org_key_of(app, "coach", NEW_PASSWORD) == team.org_private_key

    fresh = auth.sign_in("coach", password=NEW_PASSWORD)
    reads_the_record(fresh, person)
