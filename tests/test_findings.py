"""The smaller findings of the outside test (the security issue, point 8), each as it was seen:
odd static paths, addresses that steer the pager, a Host header that steers links, and a form
with no cap on how often it is sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from support.app import with_settings
from support.clients import sent_client
from support.pages import csrf
from support.staff import StaffBrowser
from support.team import Team

from intake import links
from intake.db import db_session
from intake.models import CheckIn

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "https://forms.example.org"
HOSTILE_HOST = "attacker.example"


@pytest.mark.parametrize("path", ["/static/", "/static//x", "/static//etc/passwd", "/static/%00"])
def test_odd_static_paths_are_not_found_not_a_server_error(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    # Not there (404), or a doubled slash folded into one (308) and then not there.
    assert response.status_code in (308, 400, 404), (path, response.status_code)


@pytest.mark.parametrize(
    "query",
    [
        "endpoint=x",
        "_external=1&_scheme=javascript&page=2",
        "_anchor=x&waiting_page=2",
        "sort=nonsense&order=up&page=99999999999999999999",
    ],
)
def test_the_address_cannot_steer_the_workspace_or_its_links(
    app: Flask, team: Team, query: str, auth: StaffBrowser
) -> None:
    for n in range(30):
        sent_client(app, f"Person {n}")
    admin = auth.sign_in("admin")
    response = admin.get(f"/workspace?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    links = re.findall(r'href="([^"]+)"', page)
    assert not [link for link in links if "://" in link or link.startswith("javascript")], links
    pager = re.findall(r'href="(/workspace\?[^"]*)"', page)
    assert pager, "the pager is there"
    for link in pager:
        for forbidden in ("endpoint", "_external", "_anchor", "_scheme"):
            assert forbidden not in link


@with_settings(PUBLIC_URL=PUBLIC)
def test_links_given_out_are_built_on_the_public_address_not_the_host_header(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    # Every address given out is built in one place, on PUBLIC_URL, whatever Host came in.
    with app.test_request_context("/team", headers={"Host": HOSTILE_HOST}):
        assert links.public_url("auth.join_link", secret="s3cret") == f"{PUBLIC}/staff/join/s3cret"
        assert links.public_url("client.referral_code") == f"{PUBLIC}/referral-code"
    source = "\n".join(p.read_text() for p in (PROJECT_ROOT / "intake").rglob("*.py"))
    assert "_external=True" not in source
    assert source.count("url_root") == 1, "only intake/links.py, for development without it"
    # A referral made through the API.
    partner = auth.sign_in("partner")
    made = partner.post(
        "/partner/api-tokens",
        data={"label": "case system", "csrf_token": csrf(partner, "/partner/api-tokens")},
    )
    token = re.search(r"<bdi[^>]*>(gw_[^<]+)</bdi>", made.get_data(as_text=True))
    assert token, "no token shown"
    system = app.test_client()
    response = system.post(
        "/api/v1/referrals",
        json={"locale": "en"},
        headers={"Authorization": f"Bearer {token.group(1)}"},
        environ_overrides={"HTTP_HOST": HOSTILE_HOST},
    )
    assert response.status_code == 201
    assert response.get_json()["link"].startswith(f"{PUBLIC}/r/")


# --- referral codes cost as much to find offline as return codes (point 9) -----------------


def test_a_referral_code_is_stored_as_a_costly_lookup_and_is_bigger_than_a_return_code(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    from support.referrals import refer

    from intake import crypto, vault
    from intake.models import Referral

    made = refer(auth.sign_in("partner"))
    code = crypto.normalise_referral_code(made.code)
    assert code is not None
    assert len(code) == 12
    assert 30**12 > 10**16, "more possible codes than return codes"
    with app.app_context():
        keys = vault.KeySettings.from_config(app.config)
        row = db_session().scalar(select(Referral).where(Referral.reference == made.reference))
        assert row is not None
        assert row.code_hash == crypto.referral_lookup_hash(code, keys.pepper, keys.lookup)
        assert row.code_hash != crypto.keyed_digest(keys.pepper, code), "not a quick HMAC"


def test_an_eight_character_code_from_an_older_card_still_works_until_it_expires(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    from support.referrals import refer

    from intake import crypto, vault
    from intake.models import Referral

    made = refer(auth.sign_in("partner"))
    old_code = "K7QM3PXT"
    with app.app_context():
        db = db_session()
        keys = vault.KeySettings.from_config(app.config)
        row = db.scalar(select(Referral).where(Referral.reference == made.reference))
        assert row is not None
        row.code_hash = crypto.keyed_digest(keys.pepper, old_code)  # as cards were made before
        db.commit()
    phone = app.test_client()
    page = phone.get("/referral-code").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    arrived = phone.post("/referral-code", data={"code": "k7qm-3pxt", "csrf_token": token.group(1)})
    assert arrived.headers["Location"] == "/referred"


@with_settings(CHECK_INS_PER_DAY=3)
def test_check_ins_are_capped_a_day_with_a_kind_message_and_nothing_lost(
    app: Flask, team: Team
) -> None:
    person = sent_client(app, "Hana")
    phone = person.phone
    for n in range(3):
        phone.get("/before-a-session")
        phone.post("/before-a-session", {"goal": f"goal {n}"})
    phone.get("/before-a-session")
    refused = phone.post("/before-a-session", {"goal": "one more, kept"}, status=400)
    page = refused.get_data(as_text=True)
    assert "You have sent 3 check-ins today." in page
    assert "You can send another tomorrow." in page
    assert "one more, kept" in page, "what they typed is still there"
    with app.app_context():
        assert db_session().query(CheckIn).count() == 3
