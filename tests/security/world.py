"""What the attack tests share: the database read as rows, the people and referrals they make,
and the "world" every route can be asked about (a client in a visit, coach A's client, partner
B's referrals and tokens), with the nine people of the authorisation matrix.

Plain functions and dataclasses; the fixtures that build them are in conftest.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text, update
from support.clients import assign_in_database, sent_client
from support.consent import consent_events
from support.journey import Phone, fill, marker, section_at
from support.recordings import DEFINITION, FILES, FORM_ID, spoken
from support.referrals import (
    OTHER_PARTNER,
    OTHER_PASSWORD,
    MadeReferral,
    make_other_partner,
    make_referral,
)
from support.staff import StaffBrowser
from support.team import Team
from werkzeug.routing import Rule

from intake import crypto, recordings, referrals, staff, webhooks
from intake.context import form_library, key_settings, staff_crypto
from intake.db import database, db_session
from intake.form_definition import FORMS_FOLDER
from intake.models import (
    ApiToken,
    Base,
    CheckIn,
    FormDraft,
    Review,
    Role,
    WebhookDelivery,
    utcnow,
)

API_PREFIX = "/api/v1/"
GENERIC = "We could not sign you in. Check your details and try again."
TOO_LONG = "Please make this shorter."

# The second partner's caseworker is the one tests/support/referrals.py makes.
PARTNER_B = OTHER_PARTNER
PARTNER_B_PASSWORD = OTHER_PASSWORD
make_partner_b = make_other_partner

# The link to a new referral, as the partner's page shows it once.
REFERRAL_LINK = re.compile(r"<bdi>(https?://[^<]*/r/([A-Za-z0-9_-]+))</bdi>")

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


def as_stored(typed: str) -> str:
    """What the coach reads back: what was typed, without NUL characters, trimmed."""
    return typed.replace("\x00", "").strip()


# --- the database, as rows ------------------------------------------------------------------------

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


# --- people, referrals and tokens -----------------------------------------------------------------


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


def given_up_message(app: Flask, endpoint_id: int) -> int:
    """A test message to this endpoint that was given up (nothing is ever sent here)."""
    with app.app_context():
        db = db_session()
        member = staff.find_staff(db, PARTNER_B)
        assert member is not None
        assert member.partner_org_id is not None
        assert webhooks.send_test(db, member.partner_org_id, endpoint_id)
        db.execute(update(WebhookDelivery).values(given_up_at=utcnow(), tries=10))
        db.commit()
        found = db.scalar(select(WebhookDelivery.id))
        assert found is not None
        return found


def make_webhook(app: Flask, username: str, url: str) -> int:
    """An endpoint of this partner's organisation (on loopback: nothing is ever sent to it)."""
    with app.app_context():
        db = db_session()
        member = staff.find_staff(db, username)
        assert member is not None
        assert member.partner_org is not None
        made = webhooks.register(
            db, member.partner_org, url, member, key_settings().pepper, allow_private=True
        )
        db.commit()
        return made.endpoint.id


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


def review_of(app: Flask, client_id: str) -> int:
    with app.app_context():
        found = db_session().scalar(select(Review.id).where(Review.client_id == client_id))
        assert found is not None
        return found


# --- the world: everyone and everything a route can be asked about --------------------------------


@dataclass
class World:
    app: Flask
    team: Team
    partner_b_secret: str
    visit: Phone  # a client in a visit: a draft, agreed to keep and share, page 1 saved
    visit_code: str
    client_a: str  # sent, assigned to coach A, with a check-in and a review
    check_in: int
    review: int
    others_receipt: int  # a consent decision of client A's, never the visiting client's
    spare_coach: int  # a coach nobody signs in as: deactivated and reset by the admin
    refs: dict[str, MadeReferral]  # partner B's referrals, each for one route
    spare_token: int  # partner B's API token that gets revoked
    api_tokens: dict[str, str]  # "A"/"B" -> each organisation's API token
    webhooks: dict[str, int]  # partner B's webhook endpoints: one to test, one to remove
    given_up: int  # a message to partner B's first endpoint that was given up
    form_draft: int  # a form the admin uploaded and has not published
    recording: str  # the address of a recording of a published form
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
    sent.phone.get("/review")
    sent.phone.post("/review", {"working": "the walks"})
    refs = {
        name: make_referral(app, PARTNER_B, note=f"note {name}")
        for name in ("api", "page", "link", "other")
    }
    spare_token, _spare = make_api_token(app, PARTNER_B)
    _id, token_b = make_api_token(app, PARTNER_B)
    _id, token_a = make_api_token(app, "partner")
    endpoints = {
        action: make_webhook(app, PARTNER_B, f"https://localhost:9/{action}")
        for action in ("test", "remove")
    }
    return World(
        app=app,
        team=team,
        partner_b_secret=partner_b_secret,
        visit=visit,
        visit_code=visit_code,
        client_a=sent.id,
        check_in=check_in_of(app, sent.id),
        review=review_of(app, sent.id),
        others_receipt=consent_events(app, sent.id)[0].id,
        spare_coach=make_coach(app, team, "coach3"),
        refs=refs,
        spare_token=spare_token,
        api_tokens={"A": token_a, "B": token_b},
        webhooks=endpoints,
        given_up=given_up_message(app, endpoints["test"]),
        form_draft=make_form_draft(app, team.ids["admin"]),
        recording=publish_form_with_recordings(app),
    )


def publish_form_with_recordings(app: Flask) -> str:
    """A small form whose questions can be heard; the address of one of its recordings."""
    with app.app_context():
        db = db_session()
        sent = {name: spoken(seconds) for name, seconds in FILES.items()}
        form = form_library().publish(db, DEFINITION, f"{FORM_ID}.toml", None, sent)
        db.commit()
        return recordings.addresses(db, form)["name-en.wav"]


def make_form_draft(app: Flask, admin_id: int) -> int:
    """Groundwork's own form, uploaded again by the admin: it can be looked at, not published
    (its version is out already)."""
    with app.app_context():
        db = db_session()
        draft = FormDraft(
            source_name="groundwork.toml",
            definition=(FORMS_FOLDER / "groundwork.toml").read_text("utf-8"),
            uploaded_by_id=admin_id,
        )
        db.add(draft)
        db.commit()
        return draft.id


def route_arguments(world: World, rule: Rule) -> dict[str, object]:
    """The real values for a rule's arguments; an argument nobody knows fails the walk."""
    values: dict[str, object] = {
        "number": 1,
        "client_id": world.client_a,
        "check_in_id": world.check_in,
        "review_id": world.review,
        "event_id": world.others_receipt,
        "staff_id": world.spare_coach,
        "token_id": world.spare_token,
        "delivery_id": world.given_up,
        "endpoint_id": world.webhooks[
            "remove" if rule.endpoint == "partner.remove_webhook" else "test"
        ],
        "token": world.refs["link"].link_token,
        "secret": "made-up-invite-secret",
        "filename": "site.css",
        "draft_id": world.form_draft,
        "address": world.recording,
        "form_id": FORM_ID,
        "version": 1,
        "language": "en",
        "kind": "plan",
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
        "client.agreement": {"kind": "plan", "response": "confirmed", "version": "1", "agree": "y"},
        "client.check_in": {"goal": "a calm hour", "off_limits": "", "arriving": "tired"},
        "client.review": {"working": "the walks", "goals": "still_fit", "safe": "safe"},
        "client.respond_to_session": {"response": "confirmed", "note": ""},
        "client.add_strength": {"text": "I found a flat"},
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
        "coach.sign_agreement": {"version": "1"},
        "coach.record_agreed": {"agreed": "we talk about the course"},
        "coach.review_view": {"view": "steady progress", "goals": "still_fit"},
        "coach.record_session": {"agreed": "we met by phone and agreed a walk"},
        "coach.add_strength": {"text": "spoke up at the meeting"},
        "coach.change_status": {"status": "active"},
        "partner.api_tokens": {"label": "our case system"},
        "partner.revoke_token": {},
        "partner.webhook_endpoints": {"url": "https://localhost:9/ours"},
        "partner.remove_webhook": {},
        "partner.test_webhook": {},
        "partner.new_webhook_secret": {},
        "partner.send_webhook_again": {},
        "partner.withdraw": {},
        "partner.new_referral": {"locale": "en", "nickname": "Sam", "note": "prefers mornings"},
    }.get(endpoint, {})


def api_body(endpoint: str) -> dict[str, object] | None:
    return {"api.create_referral": {"locale": "en", "note": "made by our system"}}.get(endpoint)


def walk(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the app, in the order of their addresses."""
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda pair: (pair[0].rule, pair[1]))


# --- the people of the matrix ---------------------------------------------------------------------

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
    app = world.app
    auth = StaffBrowser(app, world.team)
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
        browser = auth.sign_in(USERNAMES[actor])
    elif actor == PARTNER_B_ACTOR:
        browser = auth.sign_in(
            PARTNER_B, password=PARTNER_B_PASSWORD, totp_secret=world.partner_b_secret
        )
    else:
        browser = api_client(app, world.api_tokens["A" if actor == API_A else "B"])
    browser.environ_base["REMOTE_ADDR"] = world.new_address()
    return browser
