"""Several forms at once: a partner's referral (made on their page, or through the API) names
the form the person is asked to fill in; without one, Groundwork's own. The person who
follows the link starts on that form."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from support.app import invoke
from support.clients import client_id_of, client_row
from support.journey import Phone
from support.referrals import arrive, begin_referred, refer
from support.staff import StaffBrowser
from support.team import Team
from support.xlsforms import kobo_form

from intake import referrals, staff
from intake.db import db_session
from intake.questionnaire import DEFAULT_FORM

API = "/api/v1"
WELCOME_HEADING = "About you"


def publish_welcome_form(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "welcome.toml"
    assert (
        invoke(app, "forms", "import", str(kobo_form(tmp_path)), "--out", str(out)).exit_code == 0
    )
    assert invoke(app, "forms", "publish", str(out)).exit_code == 0


def test_a_referral_names_the_form_and_the_person_starts_on_it(
    app: Flask, team: Team, auth: StaffBrowser, tmp_path: Path
) -> None:
    publish_welcome_form(app, tmp_path)
    partner = auth.sign_in("partner")
    page = partner.get("/partner/referrals/new").get_data(as_text=True)
    assert '<option value="groundwork">groundwork</option>' in page
    assert '<option value="welcome_form">welcome_form</option>' in page
    made = refer(partner, form="welcome_form")
    phone = Phone(app)
    arrive(phone, made.token)
    code = begin_referred(phone)
    first = phone.get("/page/1").get_data(as_text=True)
    assert WELCOME_HEADING in first
    assert "Page 1 of 3" in first
    row = client_row(app, client_id_of(app, code))
    assert (row.form_id, row.form_version) == ("welcome_form", 202612)

    # Without naming one: Groundwork's own.
    plain = refer(partner)
    other = Phone(app)
    arrive(other, plain.token)
    begin_referred(other)
    assert DEFAULT_FORM.sections[0].heading.in_language("en") in other.get("/page/1").get_data(
        as_text=True
    )


def test_the_api_names_a_form_only_from_those_published(
    app: Flask, team: Team, auth: StaffBrowser, tmp_path: Path
) -> None:
    publish_welcome_form(app, tmp_path)
    with app.app_context():
        db = db_session()
        member = staff.find_staff(db, "partner")
        assert member is not None
        assert member.partner_org is not None
        token = referrals.create_token(db, member.partner_org, "case system", member)
        db.commit()
    system = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    described = system.get(f"{API}/openapi.json").get_json()
    body = described["paths"]["/referrals"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["form"]["enum"] == ["groundwork", "welcome_form"]
    made = system.post(f"{API}/referrals", json={"form": "welcome_form"}, headers=headers)
    assert made.status_code == 201
    unknown = system.post(f"{API}/referrals", json={"form": "youth"}, headers=headers)
    assert unknown.status_code == 400
    assert unknown.get_json()["error"] == "bad_form"
    phone = Phone(app)
    arrive(phone, made.get_json()["link"].rsplit("/", 1)[1])
    begin_referred(phone)
    assert WELCOME_HEADING in phone.get("/page/1").get_data(as_text=True)
