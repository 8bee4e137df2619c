"""Attacks, tried the way an attacker would (OWASP ASVS 5.0 level 2; DESIGN.md §5, §6, §10).

- CSRF: every POST route in the url_map refuses a form without its token, and one with a token
  from another session, for the person the route is for; nothing changes. Only the bearer-token
  API is exempt, and it ignores cookies.
- Authorisation: a table of (route, person) → what they get, generated for every route of every
  blueprint and nine people (signed out, a client in a visit, coaches A and B, the admin,
  partners A and B on their pages and through their API tokens). A route without an entry fails.
- Hostile text (markup, attribute breakers, javascript: addresses, SQL, Jinja, NUL, direction
  overrides, 64 KB) in every free-text field a client, partner or coach fills: the tables stay,
  pages show it as text, and the coach reads exactly what was typed (NUL dropped).
- Brute force: the throttles no other test reaches (the global limits on passwords, return codes
  and referral codes; 6-digit codes per address across accounts).
- Session fixation and cookie flags for clients, bodies over the cap, request logs that hold no
  secrets, odd numbers and NUL characters in addresses and forms, JSON nested too deep, and
  property-based fuzzing of every client form.

Time is never waited for; limits are made small in the settings instead.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pyotp
import pytest
from conftest import PASSWORDS, Team, csrf
from consent_helpers import consent_events
from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from journey_helpers import Page, Phone, answer_rows, fill, marker, section_at, typed_words
from markupsafe import escape
from sqlalchemy import func, inspect, select, text
from staff_helpers import sent_client, sign_in_as
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule
from werkzeug.test import TestResponse
from workspace_helpers import Tree, assign_in_database

from intake import agreements, consent, crypto, referrals, staff, vault
from intake.client.forms import answers_from, form_class
from intake.context import staff_crypto
from intake.db import database, db_session
from intake.models import (
    AgreementKind,
    ApiToken,
    Base,
    CheckIn,
    Client,
    ConsentEvent,
    PartnerOrg,
    Referral,
    Role,
    SessionRecord,
)
from intake.questionnaire import SECTIONS, Kind
from intake.sessions import cookie_name

API_PREFIX = "/api/v1/"
SIGN_IN = "→/staff/sign-in"
COME_BACK = "→/come-back"
CSRF_REFUSAL = "We could not save that page"  # the heading of the CSRF error page
PAGE_NOT_SAVED = "We could not save this page."  # a client page posted without its token
TOO_MUCH = "That was too much to send at once"
MANY_TRIES = (
    "There have been many tries. "
    "To keep everyone's answers safe, please wait 15 minutes and try again."
)
GENERIC = "We could not sign you in. Check your details and try again."
TOO_LONG = "Please make this shorter."

PARTNER_B = "partner_b"
PARTNER_B_PASSWORD = "a quiet library after rain"
PARTNER_B_ORG = "Second refugee project"


# --- settings -----------------------------------------------------------------------------


@pytest.fixture
def settings(settings: dict[str, object], request: pytest.FixtureRequest) -> dict[str, object]:
    """The shared settings, changed by `@with_settings(...)` before the app is built."""
    settings.update(getattr(request, "param", {}))
    return settings


def with_settings(**changes: object) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("settings", [changes], indirect=True, ids=["settings"])


# Limits that a walk through every route by nine people never reaches.
ROOMY_LIMITS = {
    "RETURN_CODE_LIMIT_PER_ADDRESS": "1000 per minute",
    "RETURN_CODE_LIMIT_GLOBAL": "10000 per minute",
    "CODE_TRIES_PER_ADDRESS": "10000 per minute",
    "REFERRAL_CODE_LIMIT_PER_ADDRESS": "1000 per minute",
    "SIGN_IN_LIMIT_PER_ADDRESS": "1000 per minute",
    "SIGN_IN_LIMIT_PER_ACCOUNT": "1000 per minute",
    "SIGN_IN_LIMIT_GLOBAL": "10000 per minute",
    "API_LIMIT_PER_TOKEN": "1000 per minute",
}


# --- the database, as rows ------------------------------------------------------------------

# Columns a request may touch without changing anything a person would call data: when an API
# token was last used, and when a session was last seen (and its re-encrypted payload).
VOLATILE = {"api_token": {"last_used_at"}, "session_record": {"last_seen_at", "payload"}}


def rows(app: Flask, *, sessions: bool = True) -> dict[str, list[str]]:
    """Every row of every table (session rows by who they are, not when they were last seen)."""
    with app.app_context():
        engine = database(app).engine
        quote = engine.dialect.identifier_preparer.quote
        found: dict[str, list[str]] = {}
        with engine.connect() as connection:
            for name in sorted(inspect(engine).get_table_names()):
                if name == "alembic_version" or (name == "session_record" and not sessions):
                    continue
                result = connection.execute(text(f"SELECT * FROM {quote(name)}"))  # noqa: S608
                keep = [i for i, c in enumerate(result.keys()) if c not in VOLATILE.get(name, ())]
                found[name] = sorted(repr(tuple(row[i] for i in keep)) for row in result)
        return found


def counts(app: Flask) -> dict[str, int]:
    return {name: len(values) for name, values in rows(app).items()}


def assert_every_table_there(app: Flask) -> None:
    """No statement typed into a form dropped or emptied a table."""
    with app.app_context():
        names = set(inspect(database(app).engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= names
    assert counts(app)["organisation"] == 1
    assert counts(app)["staff_user"] >= 4


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


# --- people ---------------------------------------------------------------------------------


def make_partner_b(app: Flask) -> str:
    """A caseworker of a second partner organisation, made like `make_team` makes the first.
    Returns their 6-digit-code secret."""
    with app.app_context():
        db = db_session()
        keys = staff_crypto()
        org = staff.partner_org_named(db, PARTNER_B_ORG)
        member = staff.create_staff(
            db,
            username=PARTNER_B,
            display_name="Bo Other",
            role=Role.PARTNER,
            password=PARTNER_B_PASSWORD,
            keys=keys,
            partner_org=org,
        )
        found = staff.check_password(db, PARTNER_B, PARTNER_B_PASSWORD, keys, staff.SignInPolicy())
        assert found is not None
        secret = staff.new_totp_secret()
        staff.store_totp_secret(member, found[1], secret)
        db.commit()
    return secret


def make_coach(app: Flask, team: Team, username: str) -> int:
    """One more coach, who nobody signs in as (something to deactivate and reset)."""
    with app.app_context():
        db = db_session()
        member = staff.create_staff(
            db,
            username=username,
            display_name=username.title(),
            role=Role.COACH,
            password="cedar smoke over the hills",
            keys=staff_crypto(),
            org_private_key=team.org_private_key,
        )
        db.commit()
        return member.id


@dataclass(frozen=True)
class MadeReferral:
    id: int
    reference: str
    link_token: str
    code: str


def make_referral(app: Flask, username: str, *, note: str = "", nickname: str = "") -> MadeReferral:
    """A referral made in the database for this partner's organisation (setting the scene)."""
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
            locale="en",
            nickname=nickname,
            note=note,
            org_public_key=org.public_key,
            keys=vault.KeySettings.from_config(app.config),
            days=30,
        )
        db.commit()
        return MadeReferral(
            made.referral.id, made.referral.reference or "", made.link_token, made.code
        )


def make_api_token(app: Flask, username: str) -> tuple[int, str]:
    with app.app_context():
        db = db_session()
        member = staff.find_staff(db, username)
        assert member is not None
        assert member.partner_org is not None
        token = referrals.create_token(db, member.partner_org, "attack tests", member)
        db.commit()
        found = db.scalar(select(ApiToken).where(ApiToken.token_hash == crypto.token_digest(token)))
        assert found is not None
        return found.id, token


def api_client(app: Flask, token: str) -> FlaskClient:
    """A partner's own system: no cookies of any staff member, a bearer token on every call."""
    browser = app.test_client()
    browser.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return browser


def check_in_of(app: Flask, client_id: str) -> int:
    with app.app_context():
        found = db_session().scalar(select(CheckIn.id).where(CheckIn.client_id == client_id))
        assert found is not None
        return found


def outcome(response: TestResponse) -> str:
    """What a person gets, in one word: a status, or where they are sent."""
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        parts = urlsplit(location)
        return "→" + (location if parts.scheme else parts.path)
    return str(response.status_code)


# --- the world: everyone and everything a route can be asked about ---------------------------


@dataclass
class World:
    app: Flask
    team: Team
    partner_b_secret: str
    visit: Phone  # a client in a visit: a draft, agreed to keep and share, page 1 saved
    visit_code: str
    client_a: str  # sent, assigned to coach A, with a check-in
    check_in: int
    others_receipt: int  # a consent decision of client A's, never the visiting client's
    spare_coach: int  # a coach nobody signs in as: deactivated and reset by the admin
    refs: dict[str, MadeReferral]  # partner B's referrals, each for one route
    spare_token: int  # partner B's API token that gets revoked
    api_tokens: dict[str, str]  # "A"/"B" -> each organisation's API token
    addresses: Iterator[int] = field(default_factory=lambda: iter(range(1, 250)))

    def new_address(self) -> str:
        return f"198.51.100.{next(self.addresses)}"


def build_world(app: Flask, team: Team) -> World:
    partner_b_secret = make_partner_b(app)
    visit = Phone(app)
    visit_code = visit.begin(share="yes")
    visit.save_page(1, fill(section_at(1)))
    sent = sent_client(app, "Amal " + marker()[:6])
    assign_in_database(app, sent.id, team.ids["coach"])
    sent.phone.get("/before-a-session")
    sent.phone.post("/before-a-session", {"goal": "to sleep better"})
    refs = {
        name: make_referral(app, PARTNER_B, note=f"note {name}")
        for name in ("api", "page", "link", "other")
    }
    spare_token, _spare = make_api_token(app, PARTNER_B)
    _id, token_b = make_api_token(app, PARTNER_B)
    _id, token_a = make_api_token(app, "partner")
    return World(
        app=app,
        team=team,
        partner_b_secret=partner_b_secret,
        visit=visit,
        visit_code=visit_code,
        client_a=sent.id,
        check_in=check_in_of(app, sent.id),
        others_receipt=consent_events(app, sent.id)[0].id,
        spare_coach=make_coach(app, team, "coach3"),
        refs=refs,
        spare_token=spare_token,
        api_tokens={"A": token_a, "B": token_b},
    )


@pytest.fixture
def world(app: Flask, team: Team) -> World:
    app.config.update(ROOMY_LIMITS)
    return build_world(app, team)


def route_arguments(world: World, rule: Rule) -> dict[str, object]:
    """The real values for a rule's arguments; an argument nobody knows fails the walk."""
    values: dict[str, object] = {
        "number": 1,
        "client_id": world.client_a,
        "check_in_id": world.check_in,
        "event_id": world.others_receipt,
        "staff_id": world.spare_coach,
        "token_id": world.spare_token,
        "token": world.refs["link"].link_token,
        "secret": "made-up-invite-secret",
        "filename": "site.css",
        "reference": world.refs[
            "page" if rule.endpoint.startswith("partner.") else "api"
        ].reference,
    }
    unknown = sorted(set(rule.arguments) - set(values))
    assert not unknown, f"{rule.rule} ({rule.endpoint}) takes {unknown}: add a value here"
    return {name: values[name] for name in rule.arguments}


def path_of(world: World, rule: Rule) -> str:
    built = rule.build(route_arguments(world, rule), append_unknown=False)
    assert built is not None
    return built[1]


# What each POST sends: enough that, let through, it does what the route is for.
def form_for(world: World, endpoint: str) -> dict[str, object]:
    team = world.team
    return {
        # Nothing chosen on the first question: asked again, nothing recorded (a missed tap
        # is never a decision). The yes and the no have tests of their own.
        "client.agree": {"share_with_coach": "yes"},
        "client.agreement": {"kind": "plan", "response": "confirmed", "version": "1"},
        "client.check_in": {"goal": "a calm hour", "off_limits": "", "arriving": "tired"},
        "client.come_back": {"code": ""},
        "client.decide_again": {"purpose": "contact", "decision": "granted"},
        "client.delete_everything": {},
        "client.my_choices": {"purpose": "anonymous_statistics", "decision": "granted"},
        "client.page": {"name": "Noor", "action": "continue"},
        "client.referral_code": {"code": "ABCD-EFGH"},
        "client.send": {"share": "y"},
        "client.your_code": {"saved": "y"},
        "auth.sign_in": {"username": "", "password": ""},
        "auth.two_factor": {"code": "000000"},
        "auth.join": {"username": "newcomer", "password": "x", "password_again": "x"},
        "auth.sign_out": {},
        "coach.change_password": {"current": "", "new": "", "new_again": ""},
        "coach.team": {"role": "coach", "display_name": "Matrix invitee"},
        "coach.consent_texts": {"purpose": "contact", "locale": "en"},
        "coach.deactivate": {},
        "coach.reset_two_step": {},
        "coach.client_assign": {"coach": str(team.ids["coach"])},
        "coach.record_voice_consent": {
            "purpose": "anonymous_statistics",
            "decision": "granted",
            "reason": "said yes on the phone",
        },
        "coach.accept_relationship": {},
        "coach.write_plan": {"goals": "sleep better\nfind a course"},
        "coach.record_agreed": {"agreed": "we talk about the course"},
        "coach.change_status": {"status": "active"},
        "partner.api_tokens": {"label": "our case system"},
        "partner.revoke_token": {},
        "partner.withdraw": {},
        "partner.new_referral": {"locale": "en", "nickname": "Sam", "note": "prefers mornings"},
    }.get(endpoint, {})


def api_body(endpoint: str) -> dict[str, object] | None:
    return {"api.create_referral": {"locale": "en", "note": "made by our system"}}.get(endpoint)


# --- the people of the matrix ----------------------------------------------------------------

OUT = "signed out"
VISIT = "client in a visit"
COACH_A = "coach A"
COACH_B = "coach B"
ADMIN = "admin"
PARTNER_A = "partner A"
PARTNER_B_ACTOR = "partner B"
API_A = "partner A's system"
API_B = "partner B's system"
ACTORS = (OUT, VISIT, COACH_A, COACH_B, ADMIN, PARTNER_A, PARTNER_B_ACTOR, API_A, API_B)
READERS = (COACH_A, COACH_B, ADMIN)
PARTNERS = (PARTNER_A, PARTNER_B_ACTOR)
NO_STAFF = (OUT, VISIT, API_A, API_B)
USERNAMES = {COACH_A: "coach", COACH_B: "coach2", ADMIN: "admin", PARTNER_A: "partner"}


def browser_for(world: World, actor: str, *, fresh: bool = False) -> FlaskClient:
    """This person's browser (their own address, so no one's tries count against another's)."""
    app, team = world.app, world.team
    if actor == OUT:
        browser = app.test_client()
    elif actor == VISIT:
        if fresh:
            phone = Phone(app)
            assert phone.come_back(world.visit_code).status_code == 302
            browser = phone.client
        else:
            browser = world.visit.client
    elif actor in USERNAMES:
        browser = sign_in_as(app, USERNAMES[actor], team=team)
    elif actor == PARTNER_B_ACTOR:
        browser = sign_in_as(
            app, PARTNER_B, password=PARTNER_B_PASSWORD, totp_secret=world.partner_b_secret
        )
    else:
        browser = api_client(app, world.api_tokens["A" if actor == API_A else "B"])
    browser.environ_base["REMOTE_ADDR"] = world.new_address()
    return browser


def token_for(browser: FlaskClient, actor: str) -> str:
    """A valid CSRF token of this browser's own session, from a page it can open."""
    if actor == VISIT:
        return csrf(browser, "/my-choices")
    if actor in READERS or actor in PARTNERS:
        return csrf(browser, "/account/password")
    return csrf(browser, "/staff/sign-in")


def send(world: World, browser: FlaskClient, actor: str, rule: Rule, method: str) -> TestResponse:
    path = path_of(world, rule)
    if method == "GET":
        return browser.get(path)
    body = api_body(rule.endpoint)
    if rule.rule.startswith(API_PREFIX):
        return browser.post(path, json=body) if body is not None else browser.post(path)
    data = {**form_for(world, rule.endpoint), "csrf_token": token_for(browser, actor)}
    return browser.post(path, data=data)


# --- the table: (route, person) -> what they get ---------------------------------------------

Expect = Callable[[World, str, str], str]  # (world, actor, method) -> outcome


def everyone(result: str) -> Expect:
    return lambda _world, _actor, _method: result


def in_a_visit(get: str = "200", post: str = "") -> Expect:
    """A page of the client's own visit: anyone else is asked for their return code."""

    def expect(_world: World, actor: str, method: str) -> str:
        if actor != VISIT:
            return COME_BACK
        return get if method == "GET" else post

    return expect


def staff_page(get: dict[str, str], post: dict[str, str] | None = None) -> Expect:
    """A staff page: the people named get their result; other staff 404; others sign in."""

    def expect(_world: World, actor: str, method: str) -> str:
        named = get if method == "GET" or post is None else post
        if actor in named:
            return named[actor]
        return SIGN_IN if actor in NO_STAFF else "404"

    return expect


def client_record(get: str = "200") -> Expect:
    """A route on coach A's client: coach A and the admin only. A form goes back to the record."""

    def expect(world: World, actor: str, method: str) -> str:
        result = get if method == "GET" else f"→/clients/{world.client_a}"
        return staff_page({COACH_A: result, ADMIN: result})(world, actor, method)

    return expect


def api(a: str, b: str) -> Expect:
    def expect(_world: World, actor: str, _method: str) -> str:
        return {API_A: a, API_B: b}.get(actor, "401")

    return expect


def signed_in_elsewhere(other: str) -> Expect:
    """The sign-in page: signed-in staff go to their own start page."""

    def expect(_world: World, actor: str, _method: str) -> str:
        if actor in READERS:
            return "→/workspace"
        if actor in PARTNERS:
            return "→/partner/"
        return other

    return expect


def choices_first(_world: World, actor: str, method: str) -> str:
    # Someone with a record goes to their space; anyone else is asked, and a missed tap
    # records nothing.
    if actor == VISIT:
        return "→/your-space"
    return "200" if method == "GET" else "400"


def quick_exit(world: World, _actor: str, _method: str) -> str:
    return "→" + str(world.app.config["QUICK_EXIT_URL"])


EXPECTED: dict[str, Expect] = {
    # the client journey: public pages, and the pages of one's own visit
    "client.start": everyone("200"),
    "client.welcome": everyone("200"),
    "client.ended": everyone("200"),
    "client.visit_only": everyone("→/agree"),  # nobody in the walk said no to keeping
    "client.your_code": in_a_visit(post="→/your-space"),  # sent by then (/send comes first)
    "client.agree": choices_first,
    "client.come_back": lambda _w, _a, method: "200" if method == "GET" else "400",
    "client.referral_code": lambda _w, _a, method: "200" if method == "GET" else "400",
    "client.referral_link": everyone("→/referred"),
    "client.referred": everyone("200"),  # after the link (the walk reaches /r/ first)
    "client.deleted": everyone("→/"),  # nobody deleted everything in this browser
    "client.receipt_json": everyone("404"),
    "client.receipts": in_a_visit(),
    "client.receipt_download": in_a_visit(get="404"),  # client A's receipt: not theirs
    "client.your_space": in_a_visit(),
    "client.quick_exit": quick_exit,
    "client.leave": everyone("→/"),
    "client.page": in_a_visit(post="→/page/2"),
    "client.before_agreement": in_a_visit(),
    "client.saved": in_a_visit(),
    "client.check": in_a_visit(),
    "client.send": in_a_visit(post="→/sent"),
    "client.sent": in_a_visit(),  # after /send
    "client.who_looked": in_a_visit(),
    "client.my_data": in_a_visit(),
    "client.my_data_json": in_a_visit(),
    "client.my_choices": in_a_visit(post="→/my-choices"),
    "client.decide_again": in_a_visit(get="→/your-space", post="400"),  # nothing is waiting
    "client.delete_everything": in_a_visit(post="→/deleted"),
    "client.agreement": in_a_visit(post="400"),  # no agreement to answer yet
    "client.check_in": in_a_visit(post="→/before-a-session"),
    # staff sign-in
    "auth.sign_in": signed_in_elsewhere("200"),
    # without a password step: the sign-in page again; signed-in staff stay signed in
    "auth.two_factor": signed_in_elsewhere("200"),
    "auth.sign_out": everyone(SIGN_IN),
    "auth.join": everyone("404"),  # no invite in this session
    "auth.join_link": everyone("→/staff/join"),
    # the workspace
    "coach.workspace": staff_page(dict.fromkeys(READERS, "200")),
    "coach.change_password": staff_page(
        dict.fromkeys(READERS + PARTNERS, "200"), dict.fromkeys(READERS + PARTNERS, "400")
    ),  # a wrong current password
    "coach.access_log": staff_page({ADMIN: "200"}),
    "coach.team": staff_page({ADMIN: "200"}),
    "coach.consent_texts": staff_page({ADMIN: "200"}),  # posted without words: asked again
    "coach.deactivate": staff_page({ADMIN: "→/team"}),
    "coach.reset_two_step": staff_page({ADMIN: "→/team"}),
    "coach.client_record": client_record(),
    "coach.client_print": client_record(),
    "coach.client_export": client_record(),
    "coach.client_assign": staff_page({ADMIN: "→/workspace"}),
    "coach.record_voice_consent": client_record(),
    "coach.accept_relationship": client_record(),
    "coach.write_plan": client_record(),
    "coach.record_agreed": client_record(),
    "coach.change_status": client_record(),
    # partners: partner B owns the referrals and the token asked about
    "partner.home": staff_page(dict.fromkeys(PARTNERS, "200")),
    "partner.new_referral": staff_page(dict.fromkeys(PARTNERS, "200")),
    "partner.api_tokens": staff_page(dict.fromkeys(PARTNERS, "200")),
    "partner.withdraw": staff_page({PARTNER_A: "404", PARTNER_B_ACTOR: "→/partner/"}),
    "partner.revoke_token": staff_page({PARTNER_A: "404", PARTNER_B_ACTOR: "→/partner/api-tokens"}),
    "api.openapi": everyone("200"),
    "api.list_referrals": api("200", "200"),
    "api.create_referral": api("201", "201"),
    "api.read_referral": api("404", "200"),
    "api.withdraw_referral": api("404", "200"),
    "static": everyone("200"),
}

# Routes that end the session they are asked in: each is asked on a browser of its own.
ENDING = {
    ("client.quick_exit", "GET"),
    ("client.leave", "GET"),
    ("auth.sign_out", "POST"),
    ("client.delete_everything", "POST"),  # erases the client: asked last
}
REFUSED = (SIGN_IN, COME_BACK, "401", "404")


def walk(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the app, in the order of their addresses."""
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda pair: (pair[0].rule, pair[1]))


def test_every_route_has_an_entry_in_the_table(app: Flask) -> None:
    missing = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method in walk(app)
        if rule.endpoint not in EXPECTED
    ]
    assert not missing, "routes with no entry in the authorisation table: " + ", ".join(missing)
    blueprints = {rule.endpoint.split(".")[0] for rule, _method in walk(app)}
    assert blueprints == {"client", "coach", "partner", "api", "auth", "static"}, blueprints
    stale = set(EXPECTED) - {rule.endpoint for rule, _method in walk(app)}
    assert not stale, f"the table names routes that are gone: {sorted(stale)}"


def test_the_authorisation_matrix_holds_for_every_route_and_person(world: World) -> None:
    app = world.app
    missing = [f"{m} {r.rule} ({r.endpoint})" for r, m in walk(app) if r.endpoint not in EXPECTED]
    assert not missing, "routes with no entry in the authorisation table: " + ", ".join(missing)
    problems: list[str] = []
    routes = walk(app)
    ordinary = [(r, m) for r, m in routes if (r.endpoint, m) not in ENDING]
    ending = sorted(
        ((r, m) for r, m in routes if (r.endpoint, m) in ENDING),
        key=lambda pair: pair[0].endpoint == "client.delete_everything",
    )

    def ask(browser: FlaskClient, actor: str, rule: Rule, method: str) -> None:
        expected = EXPECTED[rule.endpoint](world, actor, method)
        before = rows(app, sessions=False) if method == "POST" and expected in REFUSED else None
        with send(world, browser, actor, rule, method) as response:  # closes a static file
            got = outcome(response)
        where = f"{actor}: {method} {rule.rule}"
        if got != expected:
            problems.append(f"{where} got {got}, expected {expected}")
        if response.status_code >= 500:
            problems.append(f"{where}: a server error")
        if before is not None and got == expected:
            changed = changed_tables(before, rows(app, sessions=False))
            if changed:
                problems.append(f"{where} was refused but changed {changed}")

    for actor in ACTORS:
        browser = browser_for(world, actor)
        for rule, method in ordinary:
            ask(browser, actor, rule, method)
        for rule, method in ending:
            fresh = browser_for(world, actor, fresh=True)
            ask(fresh, actor, rule, method)
            if rule.endpoint == "client.delete_everything":
                continue
            # The session really ended: the next request of that browser opens nothing.
            if actor in READERS or actor in PARTNERS:
                after = outcome(fresh.get("/account/password"))
                if after != SIGN_IN:
                    problems.append(f"{actor}: still signed in after {method} {rule.rule}")
            if actor == VISIT and fresh.get("/check").status_code == 200:
                problems.append(f"{actor}: the visit goes on after {method} {rule.rule}")
    assert not problems, "\n".join(problems)

    # Partner A never reached partner B's referrals; partner B withdrew the two it asked to.
    with app.app_context():
        db = db_session()
        status = {r.reference: r.status for r in db.scalars(select(Referral))}
    assert status[world.refs["api"].reference] == referrals.Status.WITHDRAWN
    assert status[world.refs["page"].reference] == referrals.Status.WITHDRAWN
    assert status[world.refs["link"].reference] == referrals.Status.INVITED
    assert status[world.refs["other"].reference] == referrals.Status.INVITED


def test_partner_a_never_gets_partner_b_s_referral(app: Flask, team: Team) -> None:
    secret_b = make_partner_b(app)
    theirs = make_referral(app, PARTNER_B, note="for the coach only")
    _id, token_a = make_api_token(app, "partner")
    partner_a = sign_in_as(app, "partner", team=team)
    before = rows(app, sessions=False)

    withdraw = partner_a.post(
        f"/partner/referrals/{theirs.reference}/withdraw",
        data={"csrf_token": csrf(partner_a, "/partner/")},
    )
    assert withdraw.status_code == 404
    assert theirs.reference not in partner_a.get("/partner/").get_data(as_text=True)
    system_a = api_client(app, token_a)
    assert system_a.get(f"/api/v1/referrals/{theirs.reference}").status_code == 404
    assert system_a.post(f"/api/v1/referrals/{theirs.reference}/withdraw").status_code == 404
    listed = system_a.get("/api/v1/referrals").get_json()
    assert theirs.reference not in {r["reference"] for r in listed["referrals"]}
    assert not changed_tables(before, rows(app, sessions=False))
    # Partner B can, through the page: the refusal was about who asked, not what.
    partner_b = sign_in_as(app, PARTNER_B, password=PARTNER_B_PASSWORD, totp_secret=secret_b)
    done = partner_b.post(
        f"/partner/referrals/{theirs.reference}/withdraw",
        data={"csrf_token": csrf(partner_b, "/partner/")},
    )
    assert done.status_code == 302


# --- CSRF ------------------------------------------------------------------------------------


ADMIN_ROUTES = (
    "coach.team",
    "coach.deactivate",
    "coach.reset_two_step",
    "coach.consent_texts",
    "coach.client_assign",
)


def csrf_actor(rule: Rule) -> str:
    """The person a POST route is for: the one whose form a forged request would ride on."""
    endpoint = rule.endpoint
    if endpoint.startswith("client."):
        return "client"
    if endpoint in ADMIN_ROUTES:
        return "admin"
    if endpoint.startswith("coach."):
        return "coach"
    if endpoint.startswith("partner."):
        return "partner"
    return {
        "auth.sign_in": "visitor",
        "auth.two_factor": "half-signed-in",
        "auth.join": "invitee",
        "auth.sign_out": "coach",
    }.get(endpoint, f"nobody: add {endpoint} to csrf_actor")


def half_signed_in(app: Flask, team: Team) -> FlaskClient:
    browser = app.test_client()
    team.forget_used_codes("coach2")
    response = browser.post(
        "/staff/sign-in",
        data={
            "username": "coach2",
            "password": PASSWORDS["coach2"],
            "csrf_token": csrf(browser, "/staff/sign-in"),
        },
    )
    assert response.headers["Location"] == "/staff/two-factor"
    return browser


def invitee(app: Flask, team: Team) -> FlaskClient:
    with app.app_context():
        db = db_session()
        secret = staff.create_invite(
            db,
            role=Role.COACH,
            display_name="New coach",
            keys=staff_crypto(),
            days=7,
            org_private_key=team.org_private_key,
        )
        db.commit()
    browser = app.test_client()
    assert browser.get(f"/staff/join/{secret}").headers["Location"] == "/staff/join"
    return browser


def identities(app: Flask) -> list[str]:
    """Who each session belongs to (a sign-in, sign-out or new visit changes this)."""
    return rows(app)["session_record"]


def test_every_post_route_refuses_a_missing_or_foreign_csrf_token(world: World) -> None:
    app, team = world.app, world.team
    attacker_phone = Phone(app)
    attacker_phone.begin()
    browsers = {
        "client": world.visit.client,
        "coach": sign_in_as(app, "coach", team=team),
        "admin": sign_in_as(app, "admin", team=team),
        "partner": browser_for(world, PARTNER_B_ACTOR),
        "visitor": app.test_client(),
        "half-signed-in": half_signed_in(app, team),
        "invitee": invitee(app, team),
    }
    own_page = {
        "client": "/my-choices",
        "coach": "/account/password",
        "admin": "/team",
        "partner": "/partner/",
        "visitor": "/staff/sign-in",
        "half-signed-in": "/staff/two-factor",
        "invitee": "/staff/join",
    }
    # The attacker's own valid tokens: a client of their own, and a signed-in colleague.
    colleague = sign_in_as(app, "coach2", team=team)
    foreign = {
        "client": csrf(attacker_phone.client, "/my-choices"),
        "coach": csrf(colleague, "/account/password"),
        "admin": csrf(colleague, "/account/password"),
        "partner": csrf(colleague, "/account/password"),
        "visitor": csrf(app.test_client(), "/staff/sign-in"),
        "half-signed-in": csrf(app.test_client(), "/staff/sign-in"),
        "invitee": csrf(app.test_client(), "/staff/sign-in"),
    }
    posts = [(rule, m) for rule, m in walk(app) if m == "POST"]
    assert {r.endpoint for r, _m in posts} >= {"client.page", "coach.write_plan", "auth.sign_out"}
    problems: list[str] = []
    checked: list[str] = []
    for rule, _method in posts:
        path = path_of(world, rule)
        if rule.rule.startswith(API_PREFIX):
            assert rule.endpoint.startswith("api."), f"{rule.rule} is under the API prefix"
            continue
        assert not rule.endpoint.startswith("api."), f"{rule.rule}: an API route elsewhere"
        who = csrf_actor(rule)
        assert who in browsers, f"{rule.rule}: {who}"
        browser = browsers[who]
        browser.get(own_page[who])  # a page of their own is open, as in a browser
        for case, token in (("no token", None), ("another session's token", foreign[who])):
            data = dict(form_for(world, rule.endpoint))
            if token is not None:
                data["csrf_token"] = token
            before, sessions = rows(app, sessions=False), identities(app)
            response = browser.post(path, data=data)
            body = response.get_data(as_text=True)
            where = f"{who}: POST {rule.rule} with {case}"
            if response.status_code != 400:
                problems.append(f"{where}: {response.status_code}, expected 400")
            elif CSRF_REFUSAL not in body and PAGE_NOT_SAVED not in body:
                problems.append(f"{where}: a 400 that is not the CSRF refusal")
            changed = changed_tables(before, rows(app, sessions=False))
            if changed:
                problems.append(f"{where}: changed {changed}")
            if identities(app) != sessions:
                problems.append(f"{where}: a session was made, ended or handed over")
        checked.append(rule.endpoint)
    assert not problems, "\n".join(problems)

    # The same forms with the right token get through to the page behind the check (so the 400s
    # above were the token, nothing else). Sign-out and erasure go last.
    last = ("auth.sign_out", "client.delete_everything")
    for rule, _method in sorted(posts, key=lambda pair: pair[0].endpoint in last):
        if rule.rule.startswith(API_PREFIX):
            continue
        who = csrf_actor(rule)
        browser = browsers[who]
        data = {**form_for(world, rule.endpoint), "csrf_token": csrf(browser, own_page[who])}
        response = browser.post(path_of(world, rule), data=data)
        body = response.get_data(as_text=True)
        assert CSRF_REFUSAL not in body, rule.rule
        assert PAGE_NOT_SAVED not in body, rule.rule
        assert response.status_code < 500, rule.rule
    assert len(checked) == len({r.endpoint for r, _m in posts if not r.rule.startswith(API_PREFIX)})


def test_only_the_bearer_token_api_is_exempt_and_it_ignores_cookies(world: World) -> None:
    app, team = world.app, world.team
    from intake.extensions import csrf as protection

    # The exemption is the API blueprint, and nothing else.
    assert protection._exempt_blueprints == {app.blueprints["api"]}
    assert not protection._exempt_views
    api_rules = [(r, m) for r, m in walk(app) if r.endpoint.startswith("api.")]
    assert api_rules
    assert all(r.rule.startswith(API_PREFIX) for r, _m in api_rules)

    coach = sign_in_as(app, "coach", team=team)
    partner_b = browser_for(world, PARTNER_B_ACTOR)
    for browser in (coach, partner_b):  # both signed in, cookies and all
        assert browser.get("/workspace" if browser is coach else "/partner/").status_code == 200
    before = rows(app, sessions=False)
    for browser in (coach, partner_b):
        for rule, method in api_rules:
            if rule.endpoint == "api.openapi":
                continue
            path = path_of(world, rule)
            body = api_body(rule.endpoint)
            response = (
                browser.get(path)
                if method == "GET"
                else browser.post(path, json=body, headers={"X-CSRFToken": "irrelevant"})
            )
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.get_json() == {"error": "unauthorized"}
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert not changed_tables(before, rows(app, sessions=False))

    # With its token and no CSRF token at all, the API does what it is for.
    system = api_client(app, world.api_tokens["B"])
    made = system.post("/api/v1/referrals", json={"locale": "en"})
    assert made.status_code == 201
    withdrawn = system.post(f"/api/v1/referrals/{made.get_json()['reference']}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["status"] == "withdrawn"


# --- hostile text in every free-text field ---------------------------------------------------

CORPUS = {
    "script": "<script>alert(1)</script>",
    "attribute-breakers": "\"><img src=x onerror=alert(1)>'><svg/onload=alert(2)>",
    "unquoted-attribute": "x onmouseover=alert(1) autofocus onfocus=alert(2)",
    "javascript-url": "javascript:alert(document.cookie)",
    "sql": "'; DROP TABLE client; --",
    "sql-union": '" OR 1=1 UNION SELECT password_hash FROM staff_user --',
    "jinja": "{{7*7}} {{ config.SECRET_KEY }} {% for x in range(3) %}{{x}}{% endfor %}",
    "nul": "be\x00fore\x00 after",
    "rtl-override": "\u202egnp.exe\u202c and \u2067an isolate left open",
}
PLAIN = "plain words"  # the same pages with harmless words, to compare their shape with
HUGE = ("A" * 1023 + "\n") * 64  # 64 KB
MARKUP = re.compile(r"[<>&\"']")


def as_stored(typed: str) -> str:
    """What the coach reads back: what was typed, without NUL characters, trimmed."""
    return typed.replace("\x00", "").strip()


def shape(markup: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every element of a page and the names of its attributes: what text cannot add to."""
    return [(tag, tuple(sorted(attrs))) for tag, attrs in Tree(markup).elements]


@dataclass
class Typed:
    """One person's run through a set of forms with the same text in every free-text field."""

    client_id: str
    pages: dict[str, tuple[FlaskClient, str]]  # name -> (whose browser, address)
    shown: dict[str, list[str]] = field(default_factory=dict)  # name -> texts it must show


def read_pages(typed: Typed) -> dict[str, str]:
    found = {}
    for name, (browser, path) in typed.pages.items():
        response = browser.get(path)
        assert response.status_code == 200, (name, path, response.status_code)
        found[name] = response.get_data(as_text=True)
    return found


def check_pages(
    plain: dict[str, str], hostile: dict[str, str], typed: Typed, text: str, secret: str
) -> None:
    """Hostile words make no element, attribute or script, and are shown escaped."""
    for name, markup in hostile.items():
        where = f"{name} with {text[:30]!r}"
        assert shape(markup) == shape(plain[name]), f"{where}: the words changed the page"
        tree = Tree(markup)
        assert tree.event_handler_attributes() == [], where
        assert tree.inline_scripts() == [], where
        assert "\x00" not in markup, f"{where}: a NUL character reached the page"
        assert secret not in markup, f"{where}: the app's secret key is on the page"
        for value in typed.shown.get(name, []):
            assert str(escape(value)) in markup, f"{where}: not shown, or not escaped"
            if MARKUP.search(value):
                assert value not in markup, f"{where}: shown raw"
        assert "49" not in "".join(t.text for t in tree.texts if "7*7" in t.text), where


def data_key_of(app: Flask, team: Team, client_id: str) -> bytes:
    with app.app_context():
        client = db_session().get(Client, client_id)
        assert client is not None
        return vault.unlock_with_org_key(client, team.org_private_key)


def sent_and_assigned(app: Flask, team: Team, name: str) -> tuple[Phone, str]:
    made = sent_client(app, name)
    assign_in_database(app, made.id, team.ids["coach"])
    return made.phone, made.id


@pytest.fixture
def coach(app: Flask, team: Team) -> FlaskClient:
    return sign_in_as(app, "coach", team=team)


def type_on_client_pages(app: Flask, team: Team, coach: FlaskClient, words: str) -> Typed:
    """Every text question of every page, then sent, and assigned to coach A."""
    phone = Phone(app)
    before = _client_ids(app)
    phone.begin(share="yes")
    for number, section in enumerate(SECTIONS, 1):
        answers = fill(section)
        for question in section.questions:
            if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
                answers[question.key] = words
        phone.save_page(number, answers)
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"
    (client_id,) = _client_ids(app) - before
    assign_in_database(app, client_id, team.ids["coach"])
    stored = [as_stored(words)]
    pages: dict[str, tuple[FlaskClient, str]] = {
        f"page {n}": (phone.client, f"/page/{n}") for n in range(1, len(SECTIONS) + 1)
    }
    pages |= {
        "check": (phone.client, "/check"),
        "my data": (phone.client, "/my-data"),
        "record": (coach, f"/clients/{client_id}"),
        "print": (coach, f"/clients/{client_id}/print"),
    }
    shown = dict.fromkeys(pages, stored)
    return Typed(client_id, pages, shown)


def _client_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db_session().scalars(select(Client.id)))


def test_hostile_words_on_the_client_pages_are_kept_exactly_and_shown_as_words(
    app: Flask, team: Team, coach: FlaskClient
) -> None:
    plain = read_pages(type_on_client_pages(app, team, coach, PLAIN))
    for name, words in CORPUS.items():
        typed = type_on_client_pages(app, team, coach, words)
        check_pages(plain, read_pages(typed), typed, name, app.config["SECRET_KEY"])
        assert_every_table_there(app)
        # The coach reads exactly what was typed, through the vault and in the download.
        with app.app_context():
            db = db_session()
            client = db.get(Client, typed.client_id)
            assert client is not None
            opened = vault.read_sections(db, client, data_key_of(app, team, typed.client_id))
        exported = coach.get(f"/clients/{typed.client_id}/export").get_json()
        for section in SECTIONS:
            for question in section.questions:
                if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
                    got = opened[section.key].fields or {}
                    assert got[question.key] == as_stored(words), (name, section.key)
                    if section.key != "contact":  # held back without consent to contact
                        exported_value = exported["answers"][section.key][question.key]
                        assert exported_value == as_stored(words), (name, section.key)


def type_in_agreements(app: Flask, team: Team, coach: FlaskClient, words: str) -> Typed:
    """The coach's plan, voice-consent reason and session agreement; the client's check-in and
    their note asking to change the plan."""
    phone, client_id = sent_and_assigned(app, team, "Sam")
    record = f"/clients/{client_id}"
    # The token from another page: the record's first look is the one the pages are read at.
    token = csrf(coach, "/account/password")
    plan = coach.post(f"{record}/plan", data={"goals": words, "csrf_token": token})
    assert plan.status_code == 302, plan.status_code
    voice = coach.post(
        f"{record}/consent",
        data={
            "purpose": "anonymous_statistics",
            "decision": "granted",
            "reason": words,
            "csrf_token": token,
        },
    )
    assert voice.status_code == 302, voice.status_code
    phone.get("/before-a-session")
    phone.post("/before-a-session", {"goal": words, "off_limits": words, "arriving": words})
    phone.get("/agreement")
    phone.post(
        "/agreement",
        {"kind": "plan", "response": "change_requested", "version": "1", "note": words},
    )
    check_in = check_in_of(app, client_id)
    agreed = coach.post(
        f"{record}/check-ins/{check_in}/agreed", data={"agreed": words, "csrf_token": token}
    )
    assert agreed.status_code == 302, agreed.status_code
    stored = [as_stored(words)]
    pages = {
        "check-in": (phone.client, "/before-a-session"),
        "agreement": (phone.client, "/agreement"),
        "decide again": (phone.client, "/decide-again"),
        "my data": (phone.client, "/my-data"),
        "record": (coach, record),
        "print": (coach, f"{record}/print"),
    }
    return Typed(client_id, pages, {name: stored for name in pages if name != "print"})


def test_hostile_words_in_agreements_check_ins_and_coach_notes_are_kept_exactly(
    app: Flask, team: Team, coach: FlaskClient
) -> None:
    plain = read_pages(type_in_agreements(app, team, coach, PLAIN))
    for name, words in CORPUS.items():
        typed = type_in_agreements(app, team, coach, words)
        check_pages(plain, read_pages(typed), typed, name, app.config["SECRET_KEY"])
        assert_every_table_there(app)
        expected = as_stored(words)
        data_key = data_key_of(app, team, typed.client_id)
        with app.app_context():
            db = db_session()
            (check_in,) = [
                agreements.open_check_in(c, data_key)
                for c in agreements.check_ins(db, typed.client_id)
            ]
            plan = agreements.latest(db, typed.client_id, AgreementKind.PLAN)
            assert plan is not None
            opened_plan = agreements.open_agreement(plan, data_key)
            (voice,) = db.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.client_id == typed.client_id, ConsentEvent.reason_ct.is_not(None)
                )
            )
            reason = vault.open_json(
                data_key, voice.reason_ct, consent.reason_aad(typed.client_id, voice.purpose)
            )
        assert check_in.brought == dict.fromkeys(agreements.CHECK_IN_FIELDS, expected), name
        assert check_in.agreed == expected, name
        assert opened_plan.content == {"goals": [expected]}, name
        assert opened_plan.note == expected, name
        assert reason == expected, name


REFERRAL_LINK = re.compile(r"<bdi>(https?://[^<]*/r/([A-Za-z0-9_-]+))</bdi>")


def referred_and_sent(app: Flask, team: Team, link_token: str) -> str:
    """Someone opens the link, agrees (to keep, share, and tell the referrer), and sends."""
    phone = Phone(app)
    before = _client_ids(app)
    assert phone.get(f"/r/{link_token}", status=302).headers["Location"] == "/referred"
    phone.get("/referred")
    phone.get("/welcome")
    phone.get("/agree")
    phone.post(
        "/agree", {"store_answers": "yes", "share_with_coach": "yes", "status_to_referrer": "no"}
    )
    phone.take_code()
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"
    (client_id,) = _client_ids(app) - before
    assign_in_database(app, client_id, team.ids["coach"])
    return client_id


def referral_of(app: Flask, client_id: str) -> Referral:
    with app.app_context():
        db = db_session()
        found = db.scalar(
            select(Referral)
            .join(Client, Client.referral_id == Referral.id)
            .where(Client.id == client_id)
        )
        assert found is not None
        db.expunge(found)
        return found


def type_in_referrals(
    app: Flask,
    team: Team,
    coach: FlaskClient,
    partner: FlaskClient,
    system: FlaskClient,
    words: str,
) -> list[Typed]:
    """A note and a nickname for the coach, on the partner's page and through the API; each
    referral is used by a person who sends, and is assigned to coach A."""
    tokens = []
    page = partner.post(
        "/partner/referrals/new",
        data={
            "locale": "en",
            "nickname": words,
            "note": words,
            "csrf_token": csrf(partner, "/partner/referrals/new"),
        },
    )
    assert page.status_code == 200, page.status_code
    found = REFERRAL_LINK.search(page.get_data(as_text=True))
    assert found, "no link on the page"
    tokens.append(found.group(2))
    before = counts(app)["referral"]
    made = system.post("/api/v1/referrals", json={"locale": "en", "nickname": words, "note": words})
    if "\x00" in words:
        # The API refuses a NUL outright (the page drops it): nothing is made.
        assert made.status_code == 400, made.status_code
        assert made.get_json()["error"] in ("bad_nickname", "bad_note")
        assert counts(app)["referral"] == before
    else:
        assert made.status_code == 201, made.status_code
        tokens.append(urlsplit(made.get_json()["link"]).path.rsplit("/", 1)[1])
    typed = []
    for link_token in tokens:
        client_id = referred_and_sent(app, team, link_token)
        record = f"/clients/{client_id}"
        pages = {"record": (coach, record), "print": (coach, f"{record}/print")}
        typed.append(Typed(client_id, pages, {"record": [as_stored(words)]}))
    return typed


def test_hostile_words_in_referral_notes_and_nicknames_reach_the_coach_as_words(
    app: Flask, team: Team, coach: FlaskClient
) -> None:
    partner = sign_in_as(app, "partner", team=team)
    _id, token = make_api_token(app, "partner")
    system = api_client(app, token)
    (plain_page, plain_api) = (
        read_pages(t) for t in type_in_referrals(app, team, coach, partner, system, PLAIN)
    )
    for name, words in CORPUS.items():
        made = type_in_referrals(app, team, coach, partner, system, words)
        assert len(made) == (1 if "\x00" in words else 2)
        for typed, plain in zip(made, (plain_page, plain_api), strict=False):
            check_pages(plain, read_pages(typed), typed, name, app.config["SECRET_KEY"])
            nickname, note = referrals.open_sealed(
                referral_of(app, typed.client_id), team.org_private_key
            )
            assert (nickname, note) == (as_stored(words), as_stored(words)), name
        assert_every_table_there(app)


def test_64_kb_of_text_is_refused_kindly_everywhere_and_nothing_is_stored(
    app: Flask, team: Team, coach: FlaskClient
) -> None:
    phone, client_id = sent_and_assigned(app, team, "Ola")
    record = f"/clients/{client_id}"
    partner = sign_in_as(app, "partner", team=team)
    _id, token = make_api_token(app, "partner")
    before = rows(app, sessions=False)
    # The client's own pages: a short and a long answer, a check-in, a note on the plan.
    for number, key in ((1, "name"), (4, "reasons")):
        phone.get(f"/page/{number}")
        refused = phone.post(f"/page/{number}", {key: HUGE, "action": "continue"}, status=400)
        assert TOO_LONG in refused.get_data(as_text=True)
    phone.get("/before-a-session")
    refused = phone.post("/before-a-session", {"goal": HUGE}, status=400)
    assert TOO_LONG in refused.get_data(as_text=True)
    # The coach's forms.
    token_ = csrf(coach, "/account/password")
    for path, data in (
        (f"{record}/plan", {"goals": HUGE}),
        (f"{record}/consent", {"purpose": "contact", "decision": "granted", "reason": HUGE}),
    ):
        assert coach.post(path, data={**data, "csrf_token": token_}).status_code == 400, path
    # The partner's page and API.
    refused = partner.post(
        "/partner/referrals/new",
        data={"locale": "en", "note": HUGE, "csrf_token": csrf(partner, "/partner/referrals/new")},
    )
    assert refused.status_code == 400
    assert TOO_LONG in refused.get_data(as_text=True)
    for body in ({"note": HUGE}, {"nickname": HUGE}):
        answer = api_client(app, token).post("/api/v1/referrals", json=body)
        assert answer.status_code == 400
        assert answer.get_json()["error"] in ("bad_note", "bad_nickname")
    assert not changed_tables(before, rows(app, sessions=False))
    # A plan written before, answered with 64 KB: refused, and the plan is as it was.
    plan = coach.post(f"{record}/plan", data={"goals": "one goal", "csrf_token": token_})
    assert plan.status_code == 302
    before = rows(app, sessions=False)
    phone.get("/agreement")
    answer = phone.client.post(
        "/agreement",
        data={
            "kind": "plan",
            "response": "change_requested",
            "version": "1",
            "note": HUGE,
            "csrf_token": phone.token,
        },
    )
    assert answer.status_code in (200, 400)
    assert TOO_LONG in answer.get_data(as_text=True)
    assert not changed_tables(before, rows(app, sessions=False))


# --- brute force: the throttles no other test reaches ----------------------------------------

TOO_MANY_CODES = "There have been many tries. Please wait 15 minutes and try again."
CODE_NOT_FOUND = "We could not find that code."
RETURN_CODE_NOT_FOUND = "We could not find answers for that code."


def from_address(browser: FlaskClient, number: int) -> FlaskClient:
    browser.environ_base["REMOTE_ADDR"] = f"203.0.113.{number}"
    return browser


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
        "/staff/two-factor", data={"code": code, "csrf_token": csrf(browser, "/staff/two-factor")}
    )


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
    app: Flask, team: Team
) -> None:
    # Each guess from its own address at its own account: no per-address or per-account
    # limit, and no account pause, is ever reached.
    for number, username in enumerate(("coach", "coach2", "admin", "nobody"), 1):
        browser = from_address(app.test_client(), number)
        refused = post_password(browser, username, "a wrong password here")
        assert refused.status_code == 200
        assert GENERIC in refused.get_data(as_text=True)
    team.forget_used_codes("partner")
    late = from_address(app.test_client(), 99)
    refused = post_password(late, "partner", PASSWORDS["partner"])
    assert refused.status_code == 429
    assert GENERIC in refused.get_data(as_text=True)
    assert late.get("/partner/").headers["Location"].startswith("/staff/sign-in")
    assert failed_sign_ins(app, "coach") == 1, "no account was paused: the limit did it"


@with_settings(SIGN_IN_LIMIT_PER_ADDRESS="3 per hour", SIGN_IN_LIMIT_PER_ACCOUNT="100 per hour")
def test_six_digit_code_guesses_from_one_address_across_accounts_are_throttled(
    app: Flask, team: Team
) -> None:
    """Someone who has two people's passwords guesses both 6-digit codes from one address."""
    first, second = from_address(app.test_client(), 7), from_address(app.test_client(), 7)
    for browser, username in ((first, "coach"), (second, "coach2")):
        team.forget_used_codes(username)
        assert post_password(browser, username, PASSWORDS[username]).status_code == 302
    for browser, username in ((first, "coach"), (first, "coach"), (second, "coach2")):
        refused = post_code(browser, wrong_code(team.totp[username]))
        assert refused.status_code == 200
        assert GENERIC in refused.get_data(as_text=True)
    refused = post_code(second, team.code("coach2"))
    assert refused.status_code == 429
    assert GENERIC in refused.get_data(as_text=True)
    assert not signed_in(second)
    # Neither account reached its own limit or a pause: the address did.
    assert failed_sign_ins(app, "coach") == 2
    assert failed_sign_ins(app, "coach2") == 1
    elsewhere = from_address(app.test_client(), 8)
    team.forget_used_codes("coach2")
    assert post_password(elsewhere, "coach2", PASSWORDS["coach2"]).status_code == 302
    assert post_code(elsewhere, team.code("coach2")).status_code == 302
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


# --- request bodies over the cap --------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_kindly_and_nothing_is_stored(
    app: Flask, team: Team
) -> None:
    cap = int(app.config["MAX_CONTENT_LENGTH"])
    assert cap == 512 * 1024
    phone = Phone(app)
    phone.begin()
    phone.save_page(1, fill(section_at(1)))
    partner = sign_in_as(app, "partner", team=team)
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


# --- session fixation and cookie flags, for clients --------------------------------------------


def session_cookie(app: Flask, browser: FlaskClient) -> str | None:
    cookie = browser.get_cookie(cookie_name(app))
    return cookie.value if cookie else None


def set_cookie_header(response: TestResponse, name: str) -> dict[str, str]:
    """The attributes of the one Set-Cookie header for `name`, by lower-case name."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    attributes = {"value": headers[0].split(";")[0].split("=", 1)[1]}
    for part in headers[0].split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return attributes


def assert_host_only_session_cookie(attributes: dict[str, str], *, deleting: bool = False) -> None:
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    if deleting:
        assert attributes["value"] in ("", '""')
    else:
        assert "expires" not in attributes
        assert "max-age" not in attributes


def test_a_client_s_cookie_is_host_only_and_renewed_at_each_step_of_trust(
    app: Flask, team: Team
) -> None:
    name = cookie_name(app)
    assert name == "__Host-session"
    phone = Phone(app)
    phone.get("/")
    assert session_cookie(app, phone.client) is None, "a visitor who keeps nothing gets none"
    phone.get("/welcome")
    first = phone.client.get("/agree")
    assert_host_only_session_cookie(set_cookie_header(first, name))
    before_agreeing = session_cookie(app, phone.client)
    phone.see(first, "/agree")
    agreed = phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    assert_host_only_session_cookie(set_cookie_header(agreed, name))
    in_visit = session_cookie(app, phone.client)
    assert in_visit not in (None, before_agreeing)
    left = phone.client.get("/exit")
    assert_host_only_session_cookie(set_cookie_header(left, name), deleting=True)


@pytest.mark.parametrize("step", ["agreeing", "coming back"])
def test_a_cookie_planted_in_a_client_s_browser_opens_nothing_afterwards(
    app: Flask, team: Team, step: str
) -> None:
    name = cookie_name(app)
    owner_code = ""
    if step == "coming back":
        owner = Phone(app)
        owner_code = owner.begin()
        owner.save_page(1, {"name": "Hana"})
        owner.client.get("/exit")
    # The attacker gets a session of their own and plants its cookie in the person's browser.
    attacker = Phone(app)
    attacker.get("/agree")
    planted = session_cookie(app, attacker.client)
    assert planted is not None
    victim = Phone(app)
    victim.client.set_cookie(name, planted, path="/", secure=True)
    if step == "agreeing":
        victim.get("/welcome")
        victim.agree("yes", "yes")
        victim.take_code()
        victim.save_page(1, {"name": "Hana"})
    else:
        victim.keep_private(owner_code)
        assert victim.come_back(owner_code).headers["Location"] == "/your-space"
    assert session_cookie(app, victim.client) != planted
    assert victim.get("/page/1").get_data(as_text=True).count("Hana") == 1
    # The planted cookie now opens nothing of the person's visit.
    for path in ("/check", "/page/1", "/my-data", "/my-data.json", "/who-looked"):
        response = attacker.client.get(path)
        assert response.status_code == 302, path
        assert "Hana" not in response.get_data(as_text=True)
    with app.app_context():
        visits = db_session().scalar(
            select(func.count()).select_from(SessionRecord).where(SessionRecord.kind == "client")
        )
    assert visits == 1, "only the person's own session holds their key"


# --- odd numbers in addresses ------------------------------------------------------------------

ODD_NUMBERS = (
    "%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
    "%D9%A1",  # an Arabic-Indic one
    "%EF%BC%91",  # a full-width one
    "9" * 5000,  # more digits than int() converts
    "99999999999999999999",  # more than a database integer holds
    "0",
    "-1",
)


def test_odd_numbers_in_an_address_never_give_a_server_error(app: Flask, team: Team) -> None:
    admin = sign_in_as(app, "admin", team=team)
    partner = sign_in_as(app, "partner", team=team)
    _id, token = make_api_token(app, "partner")
    system = api_client(app, token)
    phone = Phone(app)
    phone.begin()
    problems = []
    for value in ODD_NUMBERS:
        for browser, path, fine in (
            (admin, f"/workspace?page={value}", (200,)),
            (admin, f"/workspace?waiting_page={value}", (200,)),
            (admin, f"/access-log?page={value}", (200,)),
            (partner, f"/partner/?page={value}", (200,)),
            (phone.client, f"/receipt.json?n={value}", (200, 404)),
            (system, f"/api/v1/referrals?page={value}", (200, 400)),
        ):
            status = browser.get(path).status_code
            if status not in fine:
                problems.append(f"{path[:60]}: {status}")
    assert not problems, "\n".join(problems)


# --- logs: no personal data, no secrets ------------------------------------------------------

LOGGERS = ("", "werkzeug", "sqlalchemy", "intake", "gunicorn", "gunicorn.access", "gunicorn.error")


class KeepEverything(logging.Handler):
    """Every record, whole: its message, its arguments, and any exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, str(record.msg), repr(record.args)]
        try:
            parts.append(record.getMessage())
        except (TypeError, ValueError):
            parts.append("(a message that does not format)")
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        parts += [record.exc_text or "", record.stack_info or ""]
        self.records.append("\n".join(parts))


@pytest.fixture
def every_log_record() -> Iterator[KeepEverything]:
    handler = KeepEverything()
    before = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        before.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level in before:
            logger.removeHandler(handler)
            logger.setLevel(level)


class RequestLines:
    """The request line a server writes for every request, as the development server (through
    the "werkzeug" logger) and gunicorn's access log (through "gunicorn.access", in its default
    format) write it, so that what they would log is logged, through their loggers' filters.
    Also notes every session cookie the app sets, to look for it in the logs."""

    def __init__(self, wsgi_app: Callable[..., object]) -> None:
        self.wsgi_app = wsgi_app
        self.cookies: set[str] = set()

    def __call__(self, environ: dict[str, object], start_response: Callable[..., object]) -> object:
        status: list[str] = []

        def remember(code: str, headers: list[tuple[str, str]], *rest: object) -> object:
            status.append(code.split()[0])
            for name, value in headers:
                if name.lower() == "set-cookie":
                    self.cookies.add(value.split(";")[0].split("=", 1)[1])
            return start_response(code, headers, *rest)

        result = self.wsgi_app(environ, remember)
        line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        address = environ.get("REMOTE_ADDR", "-")
        when = datetime.now(UTC).strftime("%d/%b/%Y %H:%M:%S")
        logging.getLogger("werkzeug").info(
            f'{address} - - [{when}] "%s" %s %s', line, status[0] if status else "-", "-"
        )
        atoms = {"h": address, "l": "-", "u": "-", "t": f"[{when}]", "r": line}
        atoms |= {"s": status[0] if status else "-", "b": "-", "f": "-", "a": "test"}
        logging.getLogger("gunicorn.access").info(
            '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"', atoms
        )
        return result


def test_no_answer_code_password_or_secret_reaches_any_log_record(
    every_log_record: KeepEverything, app: Flask, team: Team
) -> None:
    lines = RequestLines(app.wsgi_app)
    app.wsgi_app = lines  # type: ignore[method-assign]
    secrets_: set[str] = {*PASSWORDS.values(), *team.totp.values(), team.recovery_phrase}
    markers: list[str] = []

    def mark(label: str) -> str:
        value = f"{label}-{marker()}"
        markers.append(value)
        return value

    # A whole journey: every page, a check-in, sent; left; back with the code on another phone.
    phone = Phone(app)
    code = phone.begin(share="yes")
    for number, section in enumerate(SECTIONS, 1):
        answers = fill(section)
        markers.extend(typed_words(section, answers))
        phone.save_page(number, answers)
    phone.get("/before-a-session")
    phone.post("/before-a-session", {"goal": mark("goal"), "off_limits": mark("off")})
    phone.get("/check")
    phone.post("/send", {})
    phone.get("/exit", status=303)
    again = Phone(app)
    again.keep_private(code)
    again.come_back(code)
    again.save_page(1, {"name": mark("name-again")})
    client_id = next(iter(_client_ids(app)))

    # The admin assigns; the coach reads, prints, downloads, writes a plan and a reason.
    admin = sign_in_as(app, "admin", team=team)
    assigned = admin.post(
        f"/clients/{client_id}/assign",
        data={"coach": str(team.ids["coach"]), "csrf_token": csrf(admin, "/account/password")},
    )
    assert assigned.status_code == 302
    coach = sign_in_as(app, "coach", team=team)
    for view in ("", "/print", "/export"):
        assert coach.get(f"/clients/{client_id}{view}").status_code == 200
    token = csrf(coach, "/account/password")
    coach.post(f"/clients/{client_id}/plan", data={"goals": mark("goal"), "csrf_token": token})
    coach.post(
        f"/clients/{client_id}/consent",
        data={
            "purpose": "contact",
            "decision": "granted",
            "reason": mark("reason"),
            "csrf_token": token,
        },
    )

    # A partner refers two people, on the page and through the API, with marked notes.
    partner = sign_in_as(app, "partner", team=team)
    made = partner.post(
        "/partner/referrals/new",
        data={
            "locale": "en",
            "nickname": mark("nick"),
            "note": mark("note"),
            "csrf_token": csrf(partner, "/partner/referrals/new"),
        },
    )
    link = REFERRAL_LINK.search(made.get_data(as_text=True))
    shown_code = re.search(
        r"<bdi>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</bdi>", made.get_data(as_text=True)
    )
    assert link
    assert shown_code
    page = partner.post(
        "/partner/api-tokens",
        data={"label": "our system", "csrf_token": csrf(partner, "/partner/api-tokens")},
    )
    api_token = re.search(r"<bdi>(gw_[^<]+)</bdi>", page.get_data(as_text=True))
    assert api_token
    by_api = api_client(app, api_token.group(1)).post(
        "/api/v1/referrals", json={"locale": "en", "note": mark("api-note")}
    )
    assert by_api.status_code == 201
    referred = by_api.get_json()
    secrets_ |= {link.group(2), shown_code.group(1), api_token.group(1), referred["code"]}
    secrets_.add(urlsplit(referred["link"]).path.rsplit("/", 1)[1])
    referred_codes = []
    for how in ("link", "code"):
        person = Phone(app)
        if how == "link":
            person.get(f"/r/{link.group(2)}", status=302)
        else:
            person.get("/referral-code")
            person.post("/referral-code", {"code": referred["code"]})
        person.get("/referred")
        person.get("/welcome")
        person.get("/agree")
        person.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
        referred_codes.append(person.take_code())
        person.save_page(1, {"name": mark("referred")})

    # Things that fail: a 404, a CSRF failure, a field too long, a wrong sign-in, a bad API call.
    assert coach.get(f"/clients/{marker()}").status_code == 404
    assert app.test_client().get("/no-such-page").status_code == 404
    again.get("/page/2")
    again.post("/page/2", {"languages": mark("no-token")}, token=False, status=400)
    again.get("/page/4")
    again.post("/page/4", {"reasons": mark("too-long") + " x" * 60000}, status=400)
    wrong = app.test_client()
    post_password(wrong, mark("user"), mark("password"))
    api_client(app, api_token.group(1)).post("/api/v1/referrals", json={"oops": mark("api")})

    # Nothing above is in any record, nor any code, password, key or cookie.
    cookies = lines.cookies - {""}
    assert cookies, "no session cookie was seen"
    digits = [c.replace(" ", "") for c in (code, *referred_codes)]
    looked_for = {*markers, *secrets_, *cookies, code, *referred_codes, *digits}
    records = every_log_record.records
    assert len(records) > 100, "the logs were not captured"
    assert any(" /r/" in r or "/r/" in r for r in records), "the request lines were not logged"
    found = sorted({value[:24] for value in looked_for for r in records if value in r})
    assert not found, f"in the logs: {found}"


# --- property-based fuzzing of every client form -----------------------------------------------

PAGE_PATHS = [f"/page/{n}" for n in range(1, len(SECTIONS) + 1)]
VISIT_FORMS = ["/before-a-session", "/agreement", "/my-choices", "/your-code"]
VISITOR_FORMS = ["/come-back", "/agree", "/referral-code"]
FIELD_NAMES = sorted(
    {q.key for s in SECTIONS for q in s.questions}
    | {"consent_choice", "action", "kind", "response", "version", "note", "goal", "off_limits"}
    | {"arriving", "code", "saved", "purpose", "decision", "store_answers", "share_with_coach"}
    | {"status_to_referrer", "carried_page", "carried_answers", "share"}
)
WORDS = sorted(
    {key for s in SECTIONS for q in s.questions for key, _label in q.choices}
    | {"yes", "no", "continue", "later", "without", "granted", "withdrawn", "declined", "plan"}
    | {"relationship", "confirmed", "change_requested", "1", "2", "y", "on", "contact"}
    | {"share_with_coach", "store_answers", "anonymous_statistics", "status_to_referrer"}
)
any_text = st.text(max_size=40)  # any letters, control characters and all, no surrogates
huge_text = st.builds(
    lambda letter, times: letter * times,
    st.characters(codec="utf-8"),
    st.sampled_from([201, 2001, 20_000]),  # up to 240 KB as sent: under the cap
)
a_value = st.one_of(
    any_text,
    st.sampled_from(WORDS),
    huge_text,
    st.lists(st.one_of(any_text, st.sampled_from(WORDS)), max_size=3),
)
a_form = st.dictionaries(
    st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12)).filter(
        lambda key: key != "csrf_token"
    ),
    a_value,
    max_size=8,
)
FUZZING = hypothesis_settings(
    max_examples=90,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@dataclass
class Fuzzed:
    """One app, one person in a visit with every page saved (sent, assigned, with a plan), one
    visitor who has been shown a code, and what the person's answers must read as."""

    app: Flask
    team: Team
    phone: Phone
    client_id: str
    visitor: Phone
    expected: dict[str, dict[str, object]] = field(default_factory=dict)
    clients: int = 0

    def new_visitor(self) -> None:
        self.visitor = Phone(self.app)
        self.visitor.get("/agree")

    def stored(self) -> dict[str, dict[str, object]]:
        with self.app.app_context():
            db = db_session()
            client = db.get(Client, self.client_id)
            assert client is not None
            data_key = vault.unlock_with_org_key(client, self.team.org_private_key)
            opened = vault.read_sections(db, client, data_key)
            return {key: dict(section.fields or {}) for key, section in opened.items()}


@pytest.fixture
def fuzzed(app: Flask, team: Team) -> Fuzzed:
    app.config.update(ROOMY_LIMITS)
    phone = Phone(app)
    phone.begin(share="yes")
    for number, section in enumerate(SECTIONS, 1):
        phone.save_page(number, fill(section))
    phone.get("/check")
    phone.post("/send", {})
    (client_id,) = _client_ids(app)
    assign_in_database(app, client_id, team.ids["coach"])
    coach = sign_in_as(app, "coach", team=team)
    plan = coach.post(
        f"/clients/{client_id}/plan",
        data={"goals": "one\ntwo", "csrf_token": csrf(coach, "/account/password")},
    )
    assert plan.status_code == 302
    world = Fuzzed(app, team, phone, client_id, Phone(app))
    world.new_visitor()
    world.expected = world.stored()
    world.clients = len(_client_ids(app))
    return world


def accepted(app: Flask, path: str, fields: dict[str, object], number: int) -> dict[str, object]:
    """What the page's own form makes of these fields (the fields as the app parses them)."""
    section = section_at(number)
    assert section is not None
    with app.test_request_context(path, method="POST", data=fields):
        form = form_class(section)(meta={"csrf": False})
        assert form.validate(), form.errors
        kept = dict(answers_from(form, section))
        posted = MultiDict(request.form)
    # Independently of the form: a text answer is what was typed first, NUL dropped, trimmed.
    for question in section.questions:
        if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
            typed = as_stored(str(posted.get(question.key) or ""))
            assert kept.get(question.key, "") == typed, question.key
    return kept


def post_fuzzed(world: Fuzzed, path: str, fields: dict[str, object]) -> TestResponse:
    browser = world.visitor if path in VISITOR_FORMS else world.phone
    token = csrf(browser.client, path)  # read from the form's own page, as a browser would
    response = browser.client.post(path, data={**fields, "csrf_token": token})
    assert response.status_code < 500, (path, response.status_code)
    return response


def assert_nothing_lost(world: Fuzzed) -> None:
    assert world.stored() == world.expected


@FUZZING
@given(number=st.integers(1, len(SECTIONS)), fields=a_form)
@example(number=1, fields={"name": ["first", "second"], "pronouns": ["she", "he"]})
@example(number=3, fields={"channels": ["", "phone"], "consent_choice": "maybe"})
@example(number=1, fields={"name": "a\x00b\x00", "action": "later"})
@example(number=4, fields={"reasons": "x" * 2001})
def test_fuzzed_pages_never_fail_and_never_lose_an_answer(
    fuzzed: Fuzzed, number: int, fields: dict[str, object]
) -> None:
    path = f"/page/{number}"
    response = post_fuzzed(fuzzed, path, fields)
    section = section_at(number)
    assert section is not None
    if response.status_code == 302:
        went = urlsplit(response.headers["Location"]).path
        assert went not in ("/come-back", "/ended", "/decide-again"), went
        fuzzed.expected[section.key] = accepted(fuzzed.app, path, fields, number)
    else:
        assert response.status_code in (400, 413), response.status_code
    assert_nothing_lost(fuzzed)


@FUZZING
@given(path=st.sampled_from(VISIT_FORMS + VISITOR_FORMS), fields=a_form)
@example(
    path="/come-back",
    fields={"code": "1234 5678 9012 3456", "carried_page": "1", "carried_answers": "[" * 100_000},
)
@example(path="/come-back", fields={"carried_page": "-1", "carried_answers": '{"name": "x"}'})
@example(path="/agreement", fields={"kind": "plan", "version": "1", "response": "no such"})
@example(path="/agree", fields={"store_answers": ["yes", "no"], "share_with_coach": "maybe"})
@example(path="/my-choices", fields={"purpose": "store_answers", "decision": "withdrawn"})
def test_fuzzed_client_forms_never_fail_and_never_lose_an_answer(
    fuzzed: Fuzzed, path: str, fields: dict[str, object]
) -> None:
    response = post_fuzzed(fuzzed, path, fields)
    if path == "/agree" and response.headers.get("Location") == "/your-code":
        # They agreed: a new person with their own record, and nobody else's changed.
        assert len(_client_ids(fuzzed.app)) == fuzzed.clients + 1
        fuzzed.clients += 1
        fuzzed.new_visitor()
    assert len(_client_ids(fuzzed.app)) == fuzzed.clients
    assert_nothing_lost(fuzzed)
    # The person's visit goes on.
    assert fuzzed.phone.client.get("/check").status_code == 200


# --- NUL characters and JSON nested too deep -----------------------------------------------------


def test_a_nul_character_anywhere_is_dropped_or_not_found_never_a_database_error(
    app: Flask, team: Team
) -> None:
    """PostgreSQL refuses NUL in text: a NUL typed into any form is dropped, and one in an
    address names nothing. Neither ever reaches the database as "service not available"."""
    visitor = app.test_client()
    refused = post_password(visitor, "co\x00ach", "not the\x00 password")
    assert refused.status_code == 200
    assert GENERIC in refused.get_data(as_text=True)
    partner = sign_in_as(app, "partner", team=team)
    made = partner.post(
        "/partner/api-tokens",
        data={"label": "our\x00 system", "csrf_token": csrf(partner, "/partner/api-tokens")},
    )
    assert made.status_code == 200
    assert "our system" in made.get_data(as_text=True)
    admin = sign_in_as(app, "admin", team=team)
    invited = admin.post(
        "/team",
        data={
            "role": "partner",
            "display_name": "Ana\x00 Lopez",
            "partner_org": "Harbour\x00 project",
            "csrf_token": csrf(admin, "/team"),
        },
    )
    assert invited.status_code == 200
    with app.app_context():
        db = db_session()
        assert db.scalar(select(PartnerOrg).where(PartnerOrg.name == "Harbour project"))
        labels = set(db.scalars(select(ApiToken.label)))
    assert "our system" in labels
    coach = sign_in_as(app, "coach", team=team)
    for browser, path in (
        (coach, "/clients/ab%00cd"),
        (coach, "/clients/ab%00cd/print"),
        (partner, "/partner/referrals/R-%00/withdraw"),
    ):
        response = (
            browser.post(path, data={"csrf_token": csrf(browser, "/account/password")})
            if path.endswith("withdraw")
            else browser.get(path)
        )
        assert response.status_code == 404, path
    _id, token = make_api_token(app, "partner")
    answer = api_client(app, token).get("/api/v1/referrals/R-%00")
    assert answer.status_code == 404
    assert answer.get_json() == {"error": "not_found"}
    assert_every_table_there(app)


def test_json_nested_too_deep_gets_a_json_400_not_a_server_error(app: Flask, team: Team) -> None:
    _id, token = make_api_token(app, "partner")
    before = counts(app)["referral"]
    for body in ("[" * 100_000, '{"note": ' + "[" * 50_000 + "}"):
        answer = api_client(app, token).post(
            "/api/v1/referrals", data=body, content_type="application/json"
        )
        assert answer.status_code == 400
        assert answer.get_json() == {"error": "bad_body"}
    assert counts(app)["referral"] == before
