"""Partners and their referrals, and the person referred.

Partner staff work through the real partner pages, each on their own browser (`StaffBrowser`);
a second partner organisation is made the way `make_team` makes the first. A referred person is
a `Phone` that opens the link (or types the code) and walks on through the client pages. The
list of referrals is read the way a caseworker reads it: the reference and status in each row.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from intake import referrals, staff, vault
from intake.context import staff_crypto
from intake.db import db_session
from intake.models import Client, Referral, Role, utcnow

from .journey import Phone
from .pages import csrf
from .staff import StaffBrowser

OTHER_ORG = "Other refugee project"
OTHER_PARTNER = "partner_b"
OTHER_PASSWORD = "kettle singing on the stove"

# What the list of referrals says, for each status (intake/labels.py, as a caseworker reads it).
SHOWN = {
    "invited": "Not used yet",
    "started": "Started",
    "sent": "Answers sent",
    "first_session_agreed": "First session agreed",
    "closed": "Closed",
    "withdrawn": "Withdrawn by you",
    "expired": "Not used in time",
    "not_shared": "Status not shared",
}
CLOSED_PAGE = "This link or code cannot be used any more"
START_WITHOUT = "Start without it"
TOO_MANY_CODES = "There have been many tries. Please wait 15 minutes and try again."
CODE_NOT_FOUND = "We could not find that code. Check the letters and numbers, and try again."
# A reference stands alone: never part of a longer token (a CSRF token or a link can hold
# "R-" followed by six capitals by chance).
REFERENCE = re.compile(r"(?<![A-Za-z0-9_.-])R-[ABCDEFGHJKMNPQRSTVWXYZ2-9]{6}(?![A-Za-z0-9_-])")
CODE = re.compile(r"<bdi>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</bdi>")
LINK = re.compile(r"<bdi>(https?://[^<]*/r/([A-Za-z0-9_-]+))</bdi>")


@dataclass(frozen=True)
class NewReferral:
    """A referral as the partner got it, once: its reference, link, token and code, and the
    page that showed them. Not a client: nobody has used it yet, and most tests never do."""

    reference: str
    link: str
    token: str
    code: str
    page: str


# --- partner staff ------------------------------------------------------------------------


def make_other_partner(app: Flask) -> str:
    """A caseworker of a second partner organisation, made like `make_team` makes the first.
    Returns their 6-digit-code secret."""
    with app.app_context():
        db = db_session()
        keys = staff_crypto()
        org = staff.partner_org_named(db, OTHER_ORG)
        member = staff.create_staff(
            db,
            username=OTHER_PARTNER,
            display_name="Bo Other",
            role=Role.PARTNER,
            password=OTHER_PASSWORD,
            keys=keys,
            partner_org=org,
        )
        found = staff.check_password(db, OTHER_PARTNER, OTHER_PASSWORD, keys, staff.SignInPolicy())
        assert found is not None
        secret = staff.new_totp_secret()
        staff.store_totp_secret(member, found[1], secret)
        db.commit()
    return secret


def other_partner_browser(auth: StaffBrowser) -> FlaskClient:
    """That second caseworker, made and signed in."""
    secret = make_other_partner(auth.app)
    return auth.sign_in(OTHER_PARTNER, password=OTHER_PASSWORD, totp_secret=secret)


def refer(
    browser: FlaskClient,
    *,
    locale: str = "en",
    nickname: str = "",
    note: str = "",
    form: str | None = None,
) -> NewReferral:
    """Make a referral on the partner page (naming `form`, if given); read the reference, link
    and code it shows once."""
    response = browser.post(
        "/partner/referrals/new",
        data={
            "locale": locale,
            "nickname": nickname,
            "note": note,
            **({"form": form} if form else {}),
            "csrf_token": csrf(browser, "/partner/referrals/new"),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    reference = REFERENCE.search(page)
    link = LINK.search(page)
    code = CODE.search(page)
    assert reference, page
    assert link, page
    assert code, page
    return NewReferral(
        reference.group(0), html.unescape(link.group(1)), link.group(2), code.group(1), page
    )


def cells(row: str) -> list[str]:
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
    ]


def statuses(browser: FlaskClient) -> dict[str, str]:
    """Reference → the status the partner's list shows for it."""
    response = browser.get("/partner/")
    assert response.status_code == 200
    shown = {}
    for row in re.findall(r"<tr>(.*?)</tr>", response.get_data(as_text=True), re.DOTALL):
        found = cells(row)
        if len(found) == 5:
            shown[found[0]] = found[3]
    return shown


def withdraw_on_page(browser: FlaskClient, reference: str) -> TestResponse:
    return browser.post(
        f"/partner/referrals/{reference}/withdraw",
        data={"csrf_token": csrf(browser, "/partner/")},
    )


# --- the database -------------------------------------------------------------------------


def expire(app: Flask, reference: str) -> None:
    """Let a referral's time run out."""
    with app.app_context():
        db = db_session()
        db.execute(
            update(Referral)
            .where(Referral.reference == reference)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.commit()


def referral_row(app: Flask, reference: str) -> Referral:
    with app.app_context():
        db = db_session()
        found = db.scalar(select(Referral).where(Referral.reference == reference))
        assert found is not None
        db.expunge(found)
        return found


def client_of(app: Flask, reference: str) -> Client | None:
    """The client who used this referral, if anyone did."""
    with app.app_context():
        db = db_session()
        found = db.scalar(
            select(Client)
            .join(Referral, Client.referral_id == Referral.id)
            .where(Referral.reference == reference)
        )
        if found is not None:
            db.expunge(found)
        return found


# --- the referred person ------------------------------------------------------------------


def arrive(phone: Phone, token: str) -> TestResponse:
    """Open the referral link: it goes to /referred at once, the token out of the address."""
    response = phone.get(f"/r/{token}", status=302)
    assert response.headers["Location"] == "/referred"
    return phone.get("/referred")


def begin_referred(phone: Phone, status_to_referrer: str | None = "yes") -> str:
    """After arriving: welcome → agree to keep answers (and to tell the referrer how it goes,
    if asked) → the return code. Returns the code."""
    phone.get("/welcome")
    agree = phone.page(phone.get("/agree"))
    assert "status_to_referrer" in {i.get("name") for i in agree.inputs}, "not asked"
    choices = {"store_answers": "yes", "share_with_coach": "yes"}
    if status_to_referrer is not None:
        choices["status_to_referrer"] = status_to_referrer
    response = phone.post("/agree", choices)
    assert response.headers["Location"] == "/your-code"
    return phone.take_code()


def my_choice(phone: Phone, purpose: str, decision: str) -> None:
    """Change one choice on "Your choices" with its one button."""
    phone.get("/my-choices")
    response = phone.post("/my-choices", {"purpose": purpose, "decision": decision})
    assert response.headers["Location"] == "/my-choices"


# --- rules on a referral not saved anywhere (tests/unit) --------------------------------------

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def unsaved_referral(**values: object) -> Referral:
    """A referral as the rules see it: open for 30 days from NOW, unused, not withdrawn."""
    fields: dict[str, object] = {
        "expires_at": NOW + timedelta(days=30),
        "used_at": None,
        "withdrawn_at": None,
    }
    return Referral(**(fields | values))


# --- referrals in the database ---------------------------------------------------------------


@dataclass(frozen=True)
class MadeReferral:
    id: int
    reference: str
    link_token: str
    code: str


def make_referral(
    app: Flask,
    username: str,
    *,
    note: str = "",
    nickname: str = "",
    locale: str = "en",
    form_id: str | None = None,
) -> MadeReferral:
    """A referral made in the database for this partner's organisation (setting the scene),
    naming `form_id` if given."""
    with app.app_context():
        db = db_session()
        member = staff.find_staff(db, username)
        org = staff.organisation(db)
        assert member is not None
        assert member.partner_org is not None
        assert org is not None
        made = referrals.create(
            db,
            partner_org=member.partner_org,
            created_by=member,
            locale=locale,
            nickname=nickname,
            note=note,
            org_public_key=org.public_key,
            keys=vault.KeySettings.from_config(app.config),
            days=30,
            form_id=form_id,
        )
        db.commit()
        return MadeReferral(
            made.referral.id, made.referral.reference or "", made.link_token, made.code
        )
