"""Who may open what in the staff workspace (DESIGN.md §1, §4, §10).

Every route whose address takes a client id is found by walking the app's url_map, so a
route added later is held to the same rules without anyone remembering to add it here. Each
is asked for five kinds of client (coach A's, coach B's, sent but unassigned, a draft nobody
sent, and an id that was never made) by five people (coach A, coach B, the admin, partner
staff, and someone signed out). A refusal is a 404 (or, signed out, the way to sign-in) that
looks the same whichever client was asked for, shows nothing of any client, and leaves no
entry in the access log. Around that: the staff pages without a client id, and deactivating
a coach, which signs them out everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from conftest import PASSWORDS, Team, csrf
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse
from workspace_helpers import (
    GENERIC_REFUSAL,
    HELD_BACK,
    SIGN_IN_PATH,
    MadeClient,
    access_events,
    assign_in_database,
    assignments,
    browser_as,
    database_state,
    make_client,
    session_rows_of,
    staff_row,
    without_csrf_tokens,
)

from intake.db import db_session
from intake.models import StaffInvite
from intake.sessions import cookie_name

ACTORS = ("coach", "coach2", "admin", "partner", None)  # None: signed out
ACTOR_IDS = ["coach-A", "coach-B", "admin", "partner", "signed-out"]
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


def visible_headers(response: TestResponse) -> list[str]:
    """The headers of a response, but for the session cookie (renewed on every request)."""
    return sorted(f"{k}: {v}" for k, v in response.headers.items() if k != "Set-Cookie")


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
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
            for section, fields in answers.items()
            for key, value in fields.items()
            if (section, key) not in HELD_BACK and value in self.markers_of(kind)
        ]


@pytest.fixture
def world(app: Flask, team: Team) -> World:
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
    return World(app, team, clients, ids, owner)


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


def assign_choice(world: World, kind: str) -> int:
    """A valid coach to assign to: one that would change something if the request went through."""
    return world.team.ids["coach2" if kind == "A" else "coach"]


def path_for(rule: Rule, client_id: str) -> str:
    """The route's address for this client; any other part of it (a check-in's number) is 1."""
    values: dict[str, object] = dict.fromkeys(rule.arguments, 1)
    values["client_id"] = client_id
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def ask(
    world: World, browser: FlaskClient, actor: str | None, rule: Rule, method: str, kind: str
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


# --- the matrix ---------------------------------------------------------------------------


def test_every_client_route_is_found_in_the_url_map(app: Flask) -> None:
    found = {rule.endpoint for rule, _method in client_routes(app)}
    assert set(LOGGED_ACTION) <= found, "a known client route is no longer found"
    for rule, _method in client_routes(app):
        assert rule.endpoint.startswith("coach."), (
            f"{rule.rule} takes a client id outside the staff workspace: add it here"
        )


@pytest.mark.parametrize("actor", ACTORS, ids=ACTOR_IDS)
def test_client_routes_open_only_to_the_right_staff(world: World, actor: str | None) -> None:
    app = world.app
    browser = browser_as(app, world.team, actor)
    actor_id = world.team.ids.get(actor or "")
    problems: list[str] = []

    for rule, method in client_routes(app):
        refusals: dict[str, str] = {}
        for kind in KINDS:
            where = f"{actor or 'signed out'} {route_id(rule, method)} on {kind}'s client"
            events_before = access_events(app)
            state_before = database_state(app)
            response = ask(world, browser, actor, rule, method, kind)
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


def test_each_coach_lists_only_their_own_clients(world: World) -> None:
    names = {kind: str(made.answers["name"]["name"]) for kind, made in world.clients.items()}
    listed = {
        actor: browser_as(world.app, world.team, actor).get("/workspace").get_data(as_text=True)
        for actor in ("coach", "coach2", "admin")
    }
    assert names["A"] in listed["coach"]
    assert all(names[k] not in listed["coach"] for k in ("B", "unassigned", "draft"))
    assert names["B"] in listed["coach2"]
    assert all(names[k] not in listed["coach2"] for k in ("A", "unassigned", "draft"))
    # The admin sees who is waiting for a coach; nobody sees a draft.
    assert names["unassigned"] in listed["admin"]
    assert names["draft"] not in listed["admin"]


# --- staff pages without a client id ------------------------------------------------------


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


@pytest.mark.parametrize("actor", ACTORS, ids=ACTOR_IDS)
def test_staff_pages_open_only_to_their_people(app: Flask, team: Team, actor: str | None) -> None:
    browser = browser_as(app, team, actor)
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
    app: Flask, team: Team
) -> None:
    coach = browser_as(app, team, "coach")
    refused = coach.post(
        f"/team/{team.ids['admin']}/reset-two-step",
        data={"csrf_token": form_token(coach, "coach")},
    )
    assert refused.status_code == 404
    assert staff_row(app, team.ids["admin"]).totp_secret_ct is not None

    admin = browser_as(app, team, "admin")
    done = admin.post(
        f"/team/{team.ids['coach']}/reset-two-step",
        data={"csrf_token": csrf(admin, "/team")},
    )
    assert done.status_code == 302
    assert staff_row(app, team.ids["coach"]).totp_secret_ct is None
    # The coach is signed out and enrols again at their next sign-in.
    assert urlsplit(coach.get("/workspace").headers["Location"]).path == SIGN_IN_PATH
    assert session_rows_of(app, team.ids["coach"]) == 0


# --- deactivating a coach -----------------------------------------------------------------


def test_deactivating_a_coach_signs_them_out_everywhere_at_once(app: Flask, team: Team) -> None:
    laptop = browser_as(app, team, "coach")
    phone = browser_as(app, team, "coach")
    theirs = make_client(app)
    assign_in_database(app, theirs.id, team.ids["coach"])
    for browser in (laptop, phone):
        page = browser.get(f"/clients/{theirs.id}")
        assert page.status_code == 200
        assert str(theirs.answers["name"]["name"]) in page.get_data(as_text=True)
    assert session_rows_of(app, team.ids["coach"]) == 2
    cookie = laptop.get_cookie(cookie_name(app))
    assert cookie is not None
    old_cookie = cookie.value
    coach2 = browser_as(app, team, "coach2")

    admin = browser_as(app, team, "admin")
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
