"""Throttles that hold under a burst of parallel requests, on a real gunicorn (the security
issue, point 3).

A limit that is looked at when a request starts and counted when it ends lets a burst through
together. Here forty guesses (or wrong passwords) arrive at once, from one address, at one
gunicorn worker with eight threads; no more of them may do the costly work than the limit
allows, and every wrong password is counted.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest

from tools.journey import Browser
from tools.serve import Gunicorn, Instance, prepare

BURST = 40
ALLOWED = 8


pytestmark = pytest.mark.once  # the counts live in the rate-limit store: one run is enough


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Gunicorn]:
    instance: Instance = prepare(
        folder=tmp_path / "instance",
        fast_keys=True,
        RETURN_CODE_LIMIT_PER_ADDRESS=f"{ALLOWED} per hour",
        REFERRAL_CODE_LIMIT_PER_ADDRESS=f"{ALLOWED} per hour",
        RETURN_CODE_LIMIT_GLOBAL="10000 per hour",
        CODE_TRIES_PER_ADDRESS="10000 per hour",
    )
    # One process: the memory store is that process's own (several hosts use Redis).
    with Gunicorn(instance.env, workers=1, threads=8, log_path=tmp_path / "gunicorn.log") as g:
        yield g


def _wrong_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(16))


def _burst(server: Gunicorn, path: str, fields: list[dict[str, str]]) -> list[int]:
    """Each request from a browser of its own (a page read first for its token), all sent at
    the same moment; the status of each."""
    browsers = []
    for _ in fields:
        browser = Browser.at(server.url)
        browser.get(path)
        browsers.append(browser)
    start = Barrier(len(browsers))

    def send(pair: tuple[Browser, dict[str, str]]) -> int:
        browser, form = pair
        start.wait()
        return browser.post(path, form).status

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        statuses = list(pool.map(send, zip(browsers, fields, strict=True)))
    for browser in browsers:
        browser.close()
    return statuses


def test_a_burst_of_guessed_return_codes_gets_no_more_lookups_than_the_limit(
    server: Gunicorn,
) -> None:
    statuses = _burst(server, "/come-back", [{"code": _wrong_code()} for _ in range(BURST)])
    assert statuses.count(400) == ALLOWED, statuses  # looked up, and found nothing
    assert statuses.count(429) == BURST - ALLOWED, statuses


def test_a_burst_of_guessed_referral_codes_gets_no_more_lookups_than_the_limit(
    server: Gunicorn,
) -> None:
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
    guesses = [{"code": "".join(secrets.choice(alphabet) for _ in range(8))} for _ in range(BURST)]
    statuses = _burst(server, "/referral-code", guesses)
    assert statuses.count(400) == ALLOWED, statuses
    assert statuses.count(429) == BURST - ALLOWED, statuses


# --- staff sign-in ------------------------------------------------------------------------

WRONG_PASSWORDS = 30


def _sign_in_server(tmp_path: Path, per_account: str) -> tuple[Instance, Gunicorn]:
    instance = prepare(
        folder=tmp_path / "instance",
        fast_keys=True,
        SIGN_IN_LIMIT_PER_ACCOUNT=per_account,
        SIGN_IN_LIMIT_PER_ADDRESS="10000 per hour",
        SIGN_IN_LIMIT_GLOBAL="10000 per hour",
        FAILED_SIGN_INS_BEFORE_PAUSE=10_000,  # the count, not the pause, is looked at here
    )
    return instance, Gunicorn(
        instance.env, workers=1, threads=8, log_path=tmp_path / "gunicorn.log"
    )


def _failed_sign_ins(instance: Instance) -> int:
    from sqlalchemy import select

    from intake.db import db_session
    from intake.models import StaffUser

    with instance.app().app_context():
        count = db_session().scalar(
            select(StaffUser.failed_sign_ins).where(StaffUser.username == "coach")
        )
    return int(count or 0)


def _wrong_passwords() -> list[dict[str, str]]:
    return [
        {"username": "coach", "password": f"a wrong password, try {n}"}
        for n in range(WRONG_PASSWORDS)
    ]


def test_a_burst_of_wrong_passwords_gets_no_more_checks_than_the_limit(tmp_path: Path) -> None:
    instance, gunicorn = _sign_in_server(tmp_path, f"{ALLOWED} per hour")
    with gunicorn as server:
        statuses = _burst(server, "/staff/sign-in", _wrong_passwords())
    assert statuses.count(200) == ALLOWED, statuses  # checked, and refused
    assert statuses.count(429) == WRONG_PASSWORDS - ALLOWED, statuses
    assert _failed_sign_ins(instance) == ALLOWED


def test_every_wrong_password_in_a_burst_is_counted(tmp_path: Path) -> None:
    instance, gunicorn = _sign_in_server(tmp_path, "10000 per hour")
    with gunicorn as server:
        statuses = _burst(server, "/staff/sign-in", _wrong_passwords())
    assert statuses == [200] * WRONG_PASSWORDS, statuses
    assert _failed_sign_ins(instance) == WRONG_PASSWORDS  # none lost to a read-modify-write


def test_one_six_digit_code_sent_by_ten_browsers_at_once_signs_in_exactly_one(
    tmp_path: Path,
) -> None:
    import pyotp

    from tools.serve import PASSWORDS

    instance, gunicorn = _sign_in_server(tmp_path, "10000 per hour")
    with gunicorn as server:
        browsers = []
        for _ in range(10):
            browser = Browser.at(server.url)
            browser.get("/staff/sign-in")
            answer = browser.post(
                "/staff/sign-in", {"username": "coach", "password": PASSWORDS["coach"]}
            )
            assert answer.status == 302
            browser.get("/staff/two-factor")
            browsers.append(browser)
        code = pyotp.TOTP(instance.totp["coach"]).now()
        start = Barrier(len(browsers))

        def send(browser: Browser) -> int:
            start.wait()
            return browser.post("/staff/two-factor", {"code": code}).status

        with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
            statuses = list(pool.map(send, browsers))
        signed_in = [b.get("/workspace").status for b in browsers]
        for browser in browsers:
            browser.close()
    assert statuses.count(302) == 1, statuses
    assert signed_in.count(200) == 1, signed_in
