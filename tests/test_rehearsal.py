"""A rehearsal of the several-hosts shape that docs/deployment.md describes, for real: two
gunicorn "hosts" on two loopback ports with the same settings, PostgreSQL, a real
`redis-server` for the count of tries, and nginx in front running the site file shipped in
`deploy/nginx/groundwork.conf` over TLS (the several-hosts issue, point 3).

Runs in the PostgreSQL run only; in CI every part is installed by `.ci/run`, so it never
skips there. Through the proxy: a person walks the whole journey with requests answered by
both hosts; a staff member signed in through one host is signed out on both; wrong passwords
are counted across both; a host is killed mid-journey and the person carries on through the
other; Redis stops and the service keeps serving.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.app import need

from tools.journey import (
    Browser,
    answers_for,
    save_page,
    send,
    sign_in_staff,
    start,
    whole_journey,
)
from tools.journey import Journey as Sent
from tools.load import check_database
from tools.serve import PASSWORDS, Gunicorn, Instance, prepare
from tools.services import Nginx, RedisServer, ServiceMissing, free_port

pytestmark = pytest.mark.postgres

WRONG_BEFORE_REFUSED = 5


@dataclass
class Shape:
    instance: Instance
    redis: RedisServer
    hosts: list[Gunicorn]
    proxy: Nginx

    def browser(self) -> Browser:
        trust = ssl.create_default_context(cafile=str(self.proxy.certificate))
        return Browser.at(self.proxy.url, tls=trust)

    def answered_by(self) -> set[str]:
        """The hosts (upstream addresses) that answered, from the proxy's access log."""
        lines = self.proxy.access_log.read_text().splitlines()
        return {line.rsplit(" ", 1)[-1] for line in lines if "127.0.0.1:" in line}


@pytest.fixture
def shape(database_url: str, tmp_path: Path) -> Iterator[Shape]:
    try:
        redis = RedisServer(tmp_path / "redis")
        https_port = free_port()
        proxy_folder = tmp_path / "nginx"
        proxy_folder.mkdir()
        with redis:
            instance = prepare(
                database_url,
                folder=tmp_path / "instance",
                fast_keys=True,
                reset=True,
                HOSTS=2,
                RATELIMIT_STORAGE_URI=redis.url,
                TRUSTED_PROXIES=1,
                SECURE_COOKIES=True,
                BEHIND_TLS=True,
                PUBLIC_URL=f"https://127.0.0.1:{https_port}",
                SIGN_IN_LIMIT_PER_ACCOUNT=f"{WRONG_BEFORE_REFUSED} per hour",
                FAILED_SIGN_INS_BEFORE_PAUSE=1000,
            )
            hosts = [
                Gunicorn(instance.env, workers=1, threads=4, log_path=tmp_path / f"host{n}.log")
                for n in (1, 2)
            ]
            with hosts[0], hosts[1]:
                proxy = Nginx(proxy_folder, [h.port for h in hosts], https_port=https_port)
                with proxy:
                    yield Shape(instance, redis, hosts, proxy)
    except ServiceMissing as missing:
        need(str(missing))


def test_a_whole_journey_through_the_proxy_is_answered_by_both_hosts_and_stored(
    shape: Shape,
) -> None:
    with shape.browser() as phone:
        journey = whole_journey(phone)
    assert journey.sent
    assert shape.answered_by() == {f"127.0.0.1:{h.port}" for h in shape.hosts}
    stored, opened, problems = check_database(shape.instance, [journey])
    assert (stored, opened, problems) == (1, 1, [])
    # The proxy's log holds no query string and no secret-bearing path.
    log = shape.proxy.access_log.read_text()
    assert "?" not in log
    assert "/r/" not in log
    assert journey.code not in log


def test_signed_in_through_one_host_and_signed_out_on_both(shape: Shape) -> None:
    with shape.browser() as coach:
        sign_in_staff(coach, "coach", PASSWORDS["coach"], shape.instance.totp["coach"])
        kept = dict(coach.cookies)
        assert any(name.startswith("__Host-session") for name in kept)
        assert coach.get("/workspace").status == 200
        assert coach.post("/staff/sign-out", {}).status == 302
    for host in shape.hosts:
        with Browser.at(host.url) as replay:
            replay.cookies.update(kept)
            answer = replay.get("/workspace")
            assert answer.status == 302
            assert answer.location.startswith("/staff/sign-in")


def test_wrong_passwords_are_counted_across_both_hosts(shape: Shape) -> None:
    def wrong(browser: Browser, n: int) -> int:
        browser.get("/staff/sign-in")
        return browser.post(
            "/staff/sign-in", {"username": "coach", "password": f"a wrong password {n}"}
        ).status

    statuses = []
    for n in range(WRONG_BEFORE_REFUSED):
        with shape.browser() as browser:  # a new connection each: the proxy spreads them
            statuses.append(wrong(browser, n))
    assert statuses == [200] * WRONG_BEFORE_REFUSED
    assert len(shape.answered_by()) == 2
    # The next is refused whichever host gets it: through the proxy, or at each host.
    with shape.browser() as browser:
        assert wrong(browser, 99) == 429
    for host in shape.hosts:
        with Browser.at(host.url) as direct:
            direct.get("/staff/sign-in")
            refused = direct.post(
                "/staff/sign-in", {"username": "coach", "password": PASSWORDS["coach"]}
            )
            assert refused.status == 429


def test_a_host_killed_mid_journey_and_the_person_carries_on_through_the_other(
    shape: Shape,
) -> None:
    from intake.questionnaire import DEFAULT_FORM

    journey = Sent()
    with shape.browser() as phone:
        journey.code = start(phone)
        half = len(DEFAULT_FORM.sections) // 2
        for number, section in enumerate(DEFAULT_FORM.sections[:half], start=1):
            answers = answers_for(section)
            assert save_page(phone, number, answers)
            journey.saved[number] = answers
        shape.hosts[0].kill()
        for number, section in enumerate(DEFAULT_FORM.sections[half:], start=half + 1):
            answers = answers_for(section)
            assert save_page(phone, number, answers), f"page {number} was lost"
            journey.saved[number] = answers
        journey.sent = send(phone)
    assert journey.sent
    stored, opened, problems = check_database(shape.instance, [journey])
    assert (stored, opened, problems) == (1, 1, [])


def test_redis_stops_and_the_service_keeps_serving(shape: Shape) -> None:
    shape.redis.stop()
    with shape.browser() as phone:
        journey = whole_journey(phone)
    assert journey.sent
    with shape.browser() as coach:
        sign_in_staff(coach, "coach", PASSWORDS["coach"], shape.instance.totp["coach"])
    warned = [host.log().count("The shared count of tries does not answer") for host in shape.hosts]
    assert sum(warned) >= 1, "no host said that the shared count is away"
    assert not any(re.search(r"Traceback", host.log()) for host in shape.hosts)
