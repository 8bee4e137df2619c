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
