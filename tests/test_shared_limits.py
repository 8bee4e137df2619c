"""Tries counted in Redis are counted once for every host (the several-hosts issue, point 1).

Two apps made from the same settings stand for two hosts; a real `redis-server` on loopback
holds the counts. A guesser whose requests a proxy spreads over both hosts gets the allowance
once, not once per host.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.app import need
from support.pages import csrf
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team, make_team

from intake import create_app
from tools.services import RedisServer, ServiceMissing

pytestmark = pytest.mark.once  # its own Redis; the database is the suite's SQLite file

TRIES = 5


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path / "redis")
    except ServiceMissing as missing:
        need(str(missing))
        raise
    with server:
        yield server


@pytest.fixture
def hosts(
    settings: dict[str, object], instance_path: Path, redis_server: RedisServer
) -> Iterator[tuple[Flask, Flask]]:
    shared = {
        **settings,
        "RATELIMIT_STORAGE_URI": redis_server.url,
        "SIGN_IN_LIMIT_PER_ACCOUNT": f"{TRIES} per hour",
        "SIGN_IN_LIMIT_PER_ADDRESS": "1000 per hour",
        "FAILED_SIGN_INS_BEFORE_PAUSE": 1000,
        "RETURN_CODE_LIMIT_PER_ADDRESS": f"{TRIES} per hour",
    }
    first = create_app(shared, instance_path=str(instance_path))
    second = create_app(shared, instance_path=str(instance_path))
    yield first, second
    from intake.db import database

    for app in (first, second):
        database(app).engine.dispose()


def wrong_password(browser: FlaskClient, attempt: int) -> int:
    return StaffBrowser.post_password(
        browser, "coach", f"a wrong password, try {attempt}"
    ).status_code


def test_wrong_passwords_spread_over_two_hosts_are_counted_once(
    hosts: tuple[Flask, Flask],
) -> None:
    first, second = hosts
    team: Team = make_team(first)
    auth = StaffBrowser(first, team)
    on_first, on_second = first.test_client(), second.test_client()
    spread = [on_first, on_second] * TRIES
    statuses = [wrong_password(browser, n) for n, browser in enumerate(spread[:TRIES])]
    assert statuses == [200] * TRIES  # checked, and refused
    # The next try is refused whichever host it reaches, right password or not.
    assert wrong_password(on_second, 99) == 429
    assert wrong_password(on_first, 100) == 429
    right = auth.post_password(on_first, "coach", PASSWORDS["coach"])
    assert right.status_code == 429
    assert team.ids["coach"]


def test_return_codes_guessed_on_two_hosts_are_counted_once(
    hosts: tuple[Flask, Flask],
) -> None:
    first, second = hosts
    make_team(first)
    browsers = [first.test_client(), second.test_client()]

    def guess(browser: FlaskClient) -> int:
        code = "".join(secrets.choice("0123456789") for _ in range(16))
        return browser.post(
            "/come-back", data={"code": code, "csrf_token": csrf(browser, "/come-back")}
        ).status_code

    statuses = [guess(browsers[n % 2]) for n in range(TRIES)]
    assert statuses == [400] * TRIES  # looked up, and found nothing
    assert guess(browsers[0]) == 429
    assert guess(browsers[1]) == 429


def test_when_redis_stops_people_still_sign_in_and_come_back_and_tries_are_still_counted(
    hosts: tuple[Flask, Flask], redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = hosts
    team = make_team(first)
    auth = StaffBrowser(first, team)
    redis_server.stop()
    assert not redis_server.answers()

    # Pages, sign-in and coming back with a code all still answer.
    browser = second.test_client()
    assert browser.get("/").status_code == 200
    assert wrong_password(browser, 0) == 200
    team.forget_used_codes("coach")
    right = auth.post_password(browser, "coach", PASSWORDS["coach"])
    assert right.status_code == 302
    assert auth.post_code(browser, team.code("coach")).status_code == 302
    assert browser.get("/workspace").status_code == 200
    warned = [r.getMessage() for r in caplog.records if "shared count of tries" in r.getMessage()]
    assert warned == [
        "The shared count of tries does not answer: this process counts sign-in and code "
        "tries on its own until it does."
    ]

    # Each host now counts on its own: the allowance holds per host, no more.
    guesser = first.test_client()
    statuses = [wrong_password(guesser, n) for n in range(TRIES)]
    assert statuses == [200] * TRIES
    assert wrong_password(guesser, 99) == 429
