"""Who may open what: every route of every blueprint, asked by everyone (DESIGN.md §1, §4, §10).

- The table: for every route the url_map holds and nine people (signed out, a client in a
  visit, coaches A and B, the admin, partners A and B on their pages and through their API
  tokens), what each gets. A route without an entry fails, and so does an entry for a route
  that is gone. A refusal changes nothing in the database, and a route that ends a session
  really ends it.
- Partner A never gets partner B's referral: not on their page, not through their API token,
  not by withdrawing it; partner B can.
- Client records: every route whose address takes a client id is asked for five kinds of
  client (coach A's, coach B's, sent but unassigned, a draft nobody sent, and an id that was
  never made) by five people (coach A, coach B, the admin, partner staff, and someone signed
  out). A refusal is a 404 (or, signed out, the way to sign-in) that looks the same whichever
  client was asked for, shows nothing of any client, and leaves no entry in the access log.
  Each coach's list holds only their own clients.
- Staff pages without a client id open only to their people; nobody can lock the admin out;
  deactivating a coach signs them out everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.clients import HELD_BACK, MadeClient, assign_in_database, assignments, make_client
from support.database import access_events, database_state
from support.journey import section_at
from support.pages import csrf, without_csrf_tokens
from support.staff import GENERIC_REFUSAL, SIGN_IN_PATH, StaffBrowser, session_rows_of, staff_row
from support.team import PASSWORDS, Team
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from intake import referrals
from intake.db import db_session
from intake.models import Referral, StaffInvite
from intake.sessions import cookie_name

from .world import (
    ACTORS,
    ADMIN,
    API_A,
    API_B,
    API_PREFIX,
    COACH_A,
    NO_STAFF,
    PARTNER_A,
    PARTNER_B,
    PARTNER_B_ACTOR,
    PARTNER_B_PASSWORD,
    PARTNERS,
    READERS,
    VISIT,
    World,
    api_body,
    api_client,
    browser_for,
    changed_tables,
    form_for,
    make_api_token,
    make_partner_b,
    make_referral,
    path_of,
    rows,
    walk,
)

SIGN_IN = "→/staff/sign-in"
COME_BACK = "→/come-back"


def outcome(response: TestResponse) -> str:
    """What a person gets, in one word: a status, or where they are sent."""
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        parts = urlsplit(location)
        return "→" + (location if parts.scheme else parts.path)
    return str(response.status_code)


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


# --- the table: (route, person) -> what they get --------------------------------------------------

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
    "client.review": in_a_visit(post="→/review"),
    "client.respond_to_session": in_a_visit(post="404"),  # client A's session, not theirs
    "client.add_strength": in_a_visit(post="→/agreement"),
    "client.recording": everyone("200"),  # a form's recording: nothing personal in it
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
    "coach.own_words": staff_page(dict.fromkeys(READERS, "200")),  # saved, and shown again
    "coach.notice_email": staff_page(dict.fromkeys(READERS, "200")),  # saved, and shown again
    "coach.access_log": staff_page({ADMIN: "200"}),
    "coach.notice_queue": staff_page({ADMIN: "200"}),
    "coach.team": staff_page({ADMIN: "200"}),
    "coach.consent_texts": staff_page({ADMIN: "200"}),  # posted without words: asked again
    "coach.forms": staff_page({ADMIN: "200"}, {ADMIN: "400"}),  # posted without a file
    "coach.form_draft": staff_page({ADMIN: "200"}),  # the admin's own draft
    "coach.form_preview": staff_page({ADMIN: "200"}),
    "coach.form_recordings": staff_page({ADMIN: "200"}),
    # the draft's version is out already: back to the draft, which says so
    "coach.publish_form": lambda world, actor, method: staff_page(
        {ADMIN: f"→/forms/drafts/{world.form_draft}"}
    )(world, actor, method),
    "coach.remove_form_draft": staff_page({ADMIN: "→/forms"}),
    "coach.deactivate": staff_page({ADMIN: "→/team"}),
    "coach.reset_two_step": staff_page({ADMIN: "→/team"}),
    "coach.client_record": client_record(),
    "coach.client_print": client_record(),
    "coach.client_export": client_record(),
    "coach.client_assign": staff_page({ADMIN: "→/workspace"}),
    "coach.record_voice_consent": client_record(),
    "coach.accept_relationship": client_record(),
    "coach.write_plan": client_record(),
    # Only the person's own coach signs, and this world has nothing written to sign yet: 404
    # for everyone on the staff (tests/test_signatures.py signs).
    "coach.sign_agreement": staff_page({}),
    "coach.record_agreed": client_record(),
    "coach.review_view": client_record(),
    "coach.record_session": client_record(),
    "coach.add_strength": client_record(),
    "coach.change_status": client_record(),
    # partners: partner B owns the referrals and the token asked about
    "partner.home": staff_page(dict.fromkeys(PARTNERS, "200")),
    "partner.new_referral": staff_page(dict.fromkeys(PARTNERS, "200")),
    "partner.api_tokens": staff_page(dict.fromkeys(PARTNERS, "200")),
    "partner.withdraw": staff_page({PARTNER_A: "404", PARTNER_B_ACTOR: "→/partner/"}),
    "partner.revoke_token": staff_page({PARTNER_A: "404", PARTNER_B_ACTOR: "→/partner/api-tokens"}),
    # an address on loopback is refused (400) outside tests that allow it
    "partner.webhook_endpoints": staff_page(
        dict.fromkeys(PARTNERS, "200"), dict.fromkeys(PARTNERS, "400")
    ),
    "partner.remove_webhook": staff_page({PARTNER_A: "404", PARTNER_B_ACTOR: "→/partner/webhooks"}),
    "partner.test_webhook": staff_page({PARTNER_A: "404", PARTNER_B_ACTOR: "→/partner/webhooks"}),
    "partner.new_webhook_secret": staff_page({PARTNER_A: "404", PARTNER_B_ACTOR: "200"}),
    "partner.send_webhook_again": staff_page(
        {PARTNER_A: "404", PARTNER_B_ACTOR: "→/partner/webhooks"}
    ),
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


# --- partner A and partner B's referral -----------------------------------------------------------


def test_partner_a_never_gets_partner_b_s_referral(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    secret_b = make_partner_b(app)
    theirs = make_referral(app, PARTNER_B, note="for the coach only")
    _id, token_a = make_api_token(app, "partner")
    partner_a = auth.sign_in("partner")
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
    partner_b = auth.sign_in(PARTNER_B, password=PARTNER_B_PASSWORD, totp_secret=secret_b)
    done = partner_b.post(
        f"/partner/referrals/{theirs.reference}/withdraw",
        data={"csrf_token": csrf(partner_b, "/partner/")},
    )
    assert done.status_code == 302


# --- client records: five kinds of client, five people --------------------------------------------

STAFF_ACTORS = ("coach", "coach2", "admin", "partner", None)  # None: signed out
STAFF_ACTOR_IDS = ["coach-A", "coach-B", "admin", "partner", "signed-out"]
KINDS = ("A", "B", "unassigned", "draft", "made-up")
SENT_KINDS = ("A", "B", "unassigned")

# Routes only an admin may use, even on a client a coach can see.
ADMIN_ONLY = frozenset({"coach.client_assign"})
# What each known route writes to the access log when it is allowed.
LOGGED_ACTION = {
    "coach.client_record": "viewed",
    "coach.client_print": "printed",
    "coach.client_export": "exported",
    "coach.client_assign": "assigned",
}
# Routes that show the client's answers when they are allowed.
SHOWS_ANSWERS = frozenset({"coach.client_record", "coach.client_print", "coach.client_export"})


def client_routes(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the app whose address takes a client id."""
    found = []
    for rule in app.url_map.iter_rules():
        if "client_id" in rule.arguments:
            found.extend((rule, method) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return found


def route_id(rule: Rule, method: str) -> str:
    return f"{method} {rule.rule}"


def browser_as(auth: StaffBrowser, actor: str | None) -> FlaskClient:
    """A new browser, signed in as `actor` (or nobody's)."""
    return auth.app.test_client() if actor is None else auth.sign_in(actor)


def visible_headers(response: TestResponse) -> list[str]:
    """The headers of a response, but for the session cookie (renewed on every request)."""
    return sorted(f"{k}: {v}" for k, v in response.headers.items() if k != "Set-Cookie")


@dataclass
class FiveClients:
    """A client of each kind, for the client routes to be asked about."""

    app: Flask
    team: Team
    clients: dict[str, MadeClient]
    ids: dict[str, str]  # kind -> client id (made-up included)
    owner: dict[str, int | None]  # kind -> the coach assigned in the database

    @property
    def markers(self) -> list[str]:
        return [word for made in self.clients.values() for word in made.typed]

    def markers_of(self, kind: str) -> list[str]:
        return self.clients[kind].typed if kind in self.clients else []

    def shown_markers(self, kind: str) -> list[str]:
        """What a coach reads of this client: all they typed but what is held back without
        their consent (contact details, without consent to be contacted)."""
        answers = self.clients[kind].answers
        return [
            str(value)
            for number, fields in answers.items()
            for key, value in fields.items()
            if (section_at(number).key, key) not in HELD_BACK and value in self.markers_of(kind)
        ]


@pytest.fixture
def five_clients(app: Flask, team: Team) -> FiveClients:
    clients = {
        "A": make_client(app),
        "B": make_client(app),
        "unassigned": make_client(app),
        "draft": make_client(app, send=False),
    }
    owner: dict[str, int | None] = {
        "A": team.ids["coach"],
        "B": team.ids["coach2"],
        "unassigned": None,
        "draft": team.ids["coach"],  # even assigned, a draft is nobody's to read yet
    }
    for kind, coach_id in owner.items():
        assign_in_database(app, clients[kind].id, coach_id)
    ids = {kind: made.id for kind, made in clients.items()}
    ids["made-up"] = uuid4().hex
    assert len(set(ids.values())) == len(KINDS)
    assert all(len(value) == 32 for value in ids.values())
    return FiveClients(app, team, clients, ids, owner)


def allowed(actor: str | None, kind: str, endpoint: str) -> bool:
    if actor == "admin":
        return kind in SENT_KINDS
    if endpoint in ADMIN_ONLY:
        return False
    return (actor, kind) in (("coach", "A"), ("coach2", "B"))


def form_token(browser: FlaskClient, actor: str | None) -> str:
    """A real CSRF token for this browser, from a page this person can open."""
    if actor is None:
        return csrf(browser, SIGN_IN_PATH)
    return csrf(browser, "/account/password")


def assign_choice(world: FiveClients, kind: str) -> int:
    """A valid coach to assign to: one that would change something if the request went through."""
    return world.team.ids["coach2" if kind == "A" else "coach"]


def path_for(rule: Rule, client_id: str) -> str:
    """The route's address for this client; any other part of it (a check-in's number) is 1."""
    values: dict[str, object] = dict.fromkeys(rule.arguments, 1)
    values["client_id"] = client_id
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def ask_about_client(
    world: FiveClients,
    browser: FlaskClient,
    actor: str | None,
    rule: Rule,
    method: str,
    kind: str,
) -> TestResponse:
    path = path_for(rule, world.ids[kind])
    if method == "GET":
        return browser.get(path)
    return browser.post(
        path,
        data={
            "csrf_token": form_token(browser, actor),
            "coach": str(assign_choice(world, kind)),
        },
    )


def let_in(rule: Rule, method: str, response: TestResponse) -> str | None:
    """What is wrong, if anything, with the answer to someone who may use this route."""
    status = response.status_code
    location = urlsplit(response.headers.get("Location", "")).path
    if rule.endpoint in LOGGED_ACTION:  # the routes this file knows: exactly
        expected = 200 if method == "GET" else 302
        if status != expected:
            return f"{status}, expected {expected}"
        if method != "GET" and location != "/workspace":
            return f"went to {location}"
        return None
    if set(rule.arguments) != {"client_id"}:
        # Another id in the address (say, a check-in) that this file cannot make: the
        # refusals below still hold, but a 404 here may be that other thing not existing.
        return None if status < 500 else f"{status}"
    # A route added since: a page opens; a form without its fields is let in and refused
    # for its content (400), or done (a redirect that is not to sign-in).
    if method == "GET":
        return None if status == 200 else f"{status}, expected 200"
    if status == 400 or (status in (302, 303) and location != SIGN_IN_PATH):
        return None
    return f"{status} to {location!r}, expected 400 or a redirect"


def test_every_client_route_is_found_in_the_url_map(app: Flask) -> None:
    found = {rule.endpoint for rule, _method in client_routes(app)}
    assert set(LOGGED_ACTION) <= found, "a known client route is no longer found"
    for rule, _method in client_routes(app):
        assert rule.endpoint.startswith("coach."), (
            f"{rule.rule} takes a client id outside the staff workspace: add it here"
        )


@pytest.mark.parametrize("actor", STAFF_ACTORS, ids=STAFF_ACTOR_IDS)
def test_client_routes_open_only_to_the_right_staff(
    five_clients: FiveClients, auth: StaffBrowser, actor: str | None
) -> None:
    world = five_clients
    app = world.app
    browser = browser_as(auth, actor)
    actor_id = world.team.ids.get(actor or "")
    problems: list[str] = []

    for rule, method in client_routes(app):
        refusals: dict[str, str] = {}
        for kind in KINDS:
            where = f"{actor or 'signed out'} {route_id(rule, method)} on {kind}'s client"
            events_before = access_events(app)
            state_before = database_state(app)
            response = ask_about_client(world, browser, actor, rule, method, kind)
            body = response.get_data(as_text=True)
            new_events = access_events(app)[len(events_before) :]
            others = [m for m in world.markers if m not in world.markers_of(kind)]

            if allowed(actor, kind, rule.endpoint):
                wrong = let_in(rule, method, response)
                if wrong:
                    problems.append(f"{where}: {wrong}")
                    continue
                if any(m in body for m in others):
                    problems.append(f"{where}: shows another client's answers")
                if rule.endpoint in LOGGED_ACTION:
                    wanted = [(actor_id, world.ids[kind], LOGGED_ACTION[rule.endpoint])]
                    if new_events != wanted:
                        problems.append(f"{where}: access log got {new_events}, not {wanted}")
                if rule.endpoint in SHOWS_ANSWERS:
                    missing = [m for m in world.shown_markers(kind) if m not in body]
                    if missing:
                        problems.append(f"{where}: {len(missing)} of their answers missing")
                if rule.endpoint == "coach.client_assign":
                    if assignments(app)[world.ids[kind]] != assign_choice(world, kind):
                        problems.append(f"{where}: the client was not assigned")
                    assign_in_database(app, world.ids[kind], world.owner[kind])
                continue

            # A refusal: the way to sign-in, or 404; nothing shown, nothing written.
            location = response.headers.get("Location", "")
            if actor is None:
                if response.status_code != 302 or urlsplit(location).path != SIGN_IN_PATH:
                    problems.append(f"{where}: {response.status_code} to {location!r}")
            elif response.status_code != 404:
                problems.append(f"{where}: {response.status_code}, expected 404")
            if new_events:
                problems.append(f"{where}: a refusal wrote to the access log: {new_events}")
            if database_state(app) != state_before:
                problems.append(f"{where}: a refused request changed the database")
            for client_id in world.ids.values():
                if any(client_id[:6] in text for text in (body, location)):
                    problems.append(f"{where}: the refusal shows a client id")
            if any(m in body for m in world.markers):
                problems.append(f"{where}: the refusal shows a client's answers")
            refusals[kind] = "\n".join([*visible_headers(response), without_csrf_tokens(body)])

        # A refusal is the same page whichever client was asked for: no hint that one exists.
        for kind, refusal in refusals.items():
            if refusal != refusals["made-up"]:
                problems.append(
                    f"{actor or 'signed out'} {route_id(rule, method)}: the refusal for "
                    f"{kind}'s client differs from the one for a made-up id"
                )

    assert not problems, "\n".join(problems)


def test_each_coach_lists_only_their_own_clients(
    five_clients: FiveClients, auth: StaffBrowser
) -> None:
    world = five_clients
    names = {kind: made.name for kind, made in world.clients.items()}
    listed = {
        actor: auth.sign_in(actor).get("/workspace").get_data(as_text=True)
        for actor in ("coach", "coach2", "admin")
    }
    assert names["A"] in listed["coach"]
    assert all(names[k] not in listed["coach"] for k in ("B", "unassigned", "draft"))
    assert names["B"] in listed["coach2"]
    assert all(names[k] not in listed["coach2"] for k in ("A", "unassigned", "draft"))
    # The admin sees who is waiting for a coach; nobody sees a draft.
    assert names["unassigned"] in listed["admin"]
    assert names["draft"] not in listed["admin"]


# --- staff pages without a client id --------------------------------------------------------------


@dataclass(frozen=True)
class StaffRoute:
    method: str
    path: str
    expect: dict[str, int]  # signed-in person -> status; signed out is always the sign-in page


def staff_routes(team: Team) -> list[StaffRoute]:
    def only(who: tuple[str, ...], status: int = 200, **others: int) -> dict[str, int]:
        return {
            actor: status if actor in who else 404
            for actor in ("coach", "coach2", "admin", "partner")
        } | others

    admin_id, made_up = team.ids["admin"], 987654
    others = ("coach", "coach2", "partner")
    return [
        StaffRoute("GET", "/workspace", only(("coach", "coach2", "admin"))),
        StaffRoute("GET", "/team", only(("admin",))),
        StaffRoute("POST", "/team", only(("admin",))),  # an invite
        StaffRoute("GET", "/access-log", only(("admin",))),
        StaffRoute("GET", "/account/password", only(("coach", "coach2", "admin", "partner"))),
        StaffRoute("GET", "/partner/", only(("partner",))),
        # Aimed at the admin: nobody else may lock the admin out; the admin cannot either.
        StaffRoute("POST", f"/team/{admin_id}/deactivate", only((), admin=400)),
        # (An admin resetting their own codes is left out: it would sign this browser out.)
        StaffRoute("POST", f"/team/{admin_id}/reset-two-step", dict.fromkeys(others, 404)),
        StaffRoute("POST", f"/team/{made_up}/deactivate", only(())),
        StaffRoute("POST", f"/team/{made_up}/reset-two-step", only(())),
    ]


def invites(app: Flask) -> int:
    with app.app_context():
        return int(db_session().scalar(select(func.count()).select_from(StaffInvite)) or 0)


@pytest.mark.parametrize("actor", STAFF_ACTORS, ids=STAFF_ACTOR_IDS)
def test_staff_pages_open_only_to_their_people(
    app: Flask, team: Team, auth: StaffBrowser, actor: str | None
) -> None:
    browser = browser_as(auth, actor)
    problems = []
    not_found: dict[str, str] = {}
    for route in staff_routes(team):
        expected = 302 if actor is None else route.expect.get(actor)
        if expected is None:
            continue
        where = f"{actor or 'signed out'} {route.method} {route.path}"
        invites_before = invites(app)
        if route.method == "GET":
            response = browser.get(route.path)
        else:
            data = {
                "csrf_token": form_token(browser, actor),
                "role": "coach",
                "display_name": "Mallory",
            }
            response = browser.post(route.path, data=data)
        if response.status_code != expected:
            problems.append(f"{where}: {response.status_code}, expected {expected}")
            continue
        if expected == 302:
            location = urlsplit(response.headers.get("Location", "")).path
            if location != SIGN_IN_PATH:
                problems.append(f"{where}: sent to {location!r}, not to sign-in")
        if expected == 404:
            not_found[where] = without_csrf_tokens(response.get_data(as_text=True))
        made = invites(app) - invites_before
        if made != (1 if (actor, route.method, route.path) == ("admin", "POST", "/team") else 0):
            problems.append(f"{where}: {made} invites made")
    # Every page someone may not open says the same thing: nothing about why.
    if len(set(not_found.values())) > 1:
        problems.append(f"the 404 pages differ between {sorted(not_found)}")
    assert not problems, "\n".join(problems)
    # Nobody could touch the admin's account.
    admin = staff_row(app, team.ids["admin"])
    assert admin.active
    assert admin.wrapped_org_key is not None
    assert admin.totp_secret_ct is not None


def test_admin_can_reset_a_coachs_codes_and_a_coach_cannot_reset_the_admins(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    coach = auth.sign_in("coach")
    refused = coach.post(
        f"/team/{team.ids['admin']}/reset-two-step",
        data={"csrf_token": form_token(coach, "coach")},
    )
    assert refused.status_code == 404
    assert staff_row(app, team.ids["admin"]).totp_secret_ct is not None

    admin = auth.sign_in("admin")
    done = admin.post(
        f"/team/{team.ids['coach']}/reset-two-step",
        data={"csrf_token": csrf(admin, "/team")},
    )
    assert done.status_code == 302
    assert staff_row(app, team.ids["coach"]).totp_secret_ct is None
    # The coach is signed out and enrols again at their next sign-in.
    assert urlsplit(coach.get("/workspace").headers["Location"]).path == SIGN_IN_PATH
    assert session_rows_of(app, team.ids["coach"]) == 0


# --- deactivating a coach -------------------------------------------------------------------------


def test_deactivating_a_coach_signs_them_out_everywhere_at_once(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    laptop = auth.sign_in("coach")
    phone = auth.sign_in("coach")
    theirs = make_client(app)
    assign_in_database(app, theirs.id, team.ids["coach"])
    for browser in (laptop, phone):
        page = browser.get(f"/clients/{theirs.id}")
        assert page.status_code == 200
        assert theirs.name in page.get_data(as_text=True)
    assert session_rows_of(app, team.ids["coach"]) == 2
    cookie = laptop.get_cookie(cookie_name(app))
    assert cookie is not None
    old_cookie = cookie.value
    coach2 = auth.sign_in("coach2")

    admin = auth.sign_in("admin")
    response = admin.post(
        f"/team/{team.ids['coach']}/deactivate", data={"csrf_token": csrf(admin, "/team")}
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/team"

    # The very next request, on either browser, goes to sign-in and shows nothing.
    for browser in (laptop, phone):
        for path in ("/workspace", f"/clients/{theirs.id}", f"/clients/{theirs.id}/export"):
            answer = browser.get(path)
            assert answer.status_code == 302, path
            assert urlsplit(answer.headers["Location"]).path == SIGN_IN_PATH
            assert not any(m in answer.get_data(as_text=True) for m in theirs.typed)
    assert session_rows_of(app, team.ids["coach"]) == 0

    # The old cookie, replayed on another machine, opens nothing.
    replay = app.test_client()
    replay.set_cookie(cookie_name(app), old_cookie, path="/", secure=True)
    for path in ("/workspace", f"/clients/{theirs.id}", f"/clients/{theirs.id}/print"):
        answer = replay.get(path)
        assert answer.status_code == 302, path
        assert urlsplit(answer.headers["Location"]).path == SIGN_IN_PATH
        assert not any(m in answer.get_data(as_text=True) for m in theirs.typed)

    # Their copy of the organisation key is gone: their password alone opens nothing now.
    member = staff_row(app, team.ids["coach"])
    assert not member.active
    assert member.wrapped_org_key is None

    # Signing in again is refused with the same sentence as a wrong password.
    again = app.test_client()
    refused = again.post(
        SIGN_IN_PATH,
        data={
            "username": "coach",
            "password": PASSWORDS["coach"],
            "csrf_token": csrf(again, SIGN_IN_PATH),
        },
    )
    assert refused.status_code == 200
    assert GENERIC_REFUSAL in refused.get_data(as_text=True)
    assert urlsplit(again.get("/workspace").headers["Location"]).path == SIGN_IN_PATH
    assert session_rows_of(app, team.ids["coach"]) == 0

    # Nobody else was signed out.
    assert coach2.get("/workspace").status_code == 200
    assert admin.get("/team").status_code == 200
