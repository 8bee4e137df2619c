"""Forged forms: a request another site makes a signed-in browser send (DESIGN.md §6, §10).

Every POST route in the url_map refuses a form without its CSRF token, and one carrying a
token from another session (the attacker's own client, a signed-in colleague), for the person
the route is for: the answer is the "we could not save that page" refusal, and nothing changes
in the database, nor who is signed in. With the right token the same forms get through, so the
refusals were the token and nothing else. Only the bearer-token API is exempt, and it ignores
cookies: a signed-in coach's or partner's browser cannot use it.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from support.journey import Phone
from support.pages import csrf
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team
from werkzeug.routing import Rule

from intake import staff
from intake.context import staff_crypto
from intake.db import db_session
from intake.models import Role

from .world import (
    API_PREFIX,
    PARTNER_B_ACTOR,
    World,
    api_body,
    api_client,
    browser_for,
    changed_tables,
    form_for,
    path_of,
    rows,
    walk,
)

CSRF_REFUSAL = "We could not save that page"  # the heading of the CSRF error page
PAGE_NOT_SAVED = "We could not save this page."  # a client page posted without its token

ADMIN_ROUTES = (
    "coach.team",
    "coach.deactivate",
    "coach.reset_two_step",
    "coach.consent_texts",
    "coach.client_assign",
    "coach.forms",
    "coach.publish_form",
    "coach.remove_form_draft",
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


def test_every_post_route_refuses_a_missing_or_foreign_csrf_token(
    world: World, auth: StaffBrowser
) -> None:
    app, team = world.app, world.team
    attacker_phone = Phone(app)
    attacker_phone.begin()
    browsers = {
        "client": world.visit.client,
        "coach": auth.sign_in("coach"),
        "admin": auth.sign_in("admin"),
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
    colleague = auth.sign_in("coach2")
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


def test_only_the_bearer_token_api_is_exempt_and_it_ignores_cookies(
    world: World, auth: StaffBrowser
) -> None:
    app = world.app
    from intake.extensions import csrf as protection

    # The exemption is the API blueprint, and nothing else.
    assert protection._exempt_blueprints == {app.blueprints["api"]}
    assert not protection._exempt_views
    api_rules = [(r, m) for r, m in walk(app) if r.endpoint.startswith("api.")]
    assert api_rules
    assert all(r.rule.startswith(API_PREFIX) for r, _m in api_rules)

    coach = auth.sign_in("coach")
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
