"""Faults under a real server: gunicorn workers and `flask keys rotate` killed with SIGKILL
half-way, and the database going away and coming back (the issue's "Faults").

Every test runs the app as production does, `gunicorn` with two workers of two threads, and
talks to it over loopback with the standard library (tools/journey.py), on the database of
this pass of the suite (SQLite, or PostgreSQL with --database=postgresql). Key derivation is
cheap here (FAST_KEYS of support/app.py); `make bench` measures the production cost.

What is checked is what a person relies on, never how long anything takes:
- a save whose response came back (302 onwards) is stored exactly, and a save that was cut
  off is either stored whole or not at all; every stored answer opens, and every client
  still has both copies of their data key;
- a rotation killed half-way leaves every data key sealed to the old key, and a second run
  re-seals them all to the new one;
- while the database is away every page is the calm 503 page, and the app answers again by
  itself when it comes back.

A kill lands at a known point with the test-only wrappers in tests/support/faults.py; one more
kill lands wherever it falls. Waits poll with generous bounds, so a busy machine only makes
the tests slower, never wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url
from support.team import PASSWORDS, Team

from intake import audit, consent, crypto, staff, vault
from intake.context import key_settings, staff_crypto
from intake.db import db_session
from intake.models import Answer, Client, Organisation
from intake.questionnaire import DEFAULT_FORM
from tools.journey import (
    Browser,
    Fields,
    JourneyBroken,
    RequestFailed,
    Response,
    answers_for,
    expect,
    next_after,
    send,
    start,
)
from tools.serve import Gunicorn, environment, flask_command

TESTS = Path(__file__).resolve().parent
HOLD_DIR = "GROUNDWORK_TEST_HOLD_DIR"
NOT_AVAILABLE = "This service is not available right now"
PATIENCE = 300.0  # seconds a wait may take on a very busy machine before the test gives up


def wait_for(what: str, check: Callable[[], object], within: float = PATIENCE) -> object:
    """Poll until `check()` is truthy; a bound so a broken run fails instead of hanging."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def server_env(settings: dict[str, object], instance_path: Path, **extra: object) -> dict[str, str]:
    """The test's settings, for gunicorn on http://127.0.0.1 (no Secure cookies there)."""
    return environment(
        {**settings, "SECURE_COOKIES": False, "BEHIND_TLS": False, **extra}, instance_path
    )


def gunicorn(env: dict[str, str], log: Path, app: str = "wsgi:app") -> Gunicorn:
    return Gunicorn(
        env,
        app=app,
        workers=2,
        threads=2,
        log_path=log,
        extra_args=("--pythonpath", str(TESTS)),
    )


# --- SIGKILL a worker in the middle of saves ----------------------------------------------


@dataclass
class Attempt:
    """One save of one page: what was sent, when, and whether it was acknowledged."""

    page: int
    values: Fields
    started: float
    ended: float
    acknowledged: bool


@dataclass
class Person:
    code: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    sent: bool = False


@dataclass
class Crowd:
    """People walking the journey at once, and what they saw."""

    url: str
    people: list[Person] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # answers no fault can excuse
    cut_off: int = 0  # requests that got no response (a worker died under them)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acknowledged(self) -> int:
        with self.lock:
            return sum(a.acknowledged for p in self.people for a in p.attempts)

    def walk(self, journeys: int) -> None:
        """Whole journeys, one after another; some pages are saved twice (a change)."""
        for _ in range(journeys):
            if self.stop.is_set():
                return
            person = Person()
            with self.lock:
                self.people.append(person)
            try:
                with Browser.at(self.url, timeout=PATIENCE) as browser:
                    self._journey(browser, person)
            except RequestFailed:
                with self.lock:
                    self.cut_off += 1  # cut off outside a save: this person starts again
            except JourneyBroken as problem:
                with self.lock:
                    self.problems.append(str(problem))

    def _journey(self, browser: Browser, person: Person) -> None:
        person.code = start(browser)
        for number, section in enumerate(DEFAULT_FORM.sections, start=1):
            for _change in range(2 if number % 4 == 0 else 1):
                if self.stop.is_set():
                    return
                self._save(browser, person, number, section)
        person.sent = send(browser)
        if not person.sent:
            raise JourneyBroken("the send was not acknowledged")

    def _save(self, browser: Browser, person: Person, number: int, section: object) -> None:
        """Save a page; when the response is cut off, open the page again and save anew."""
        for _try in range(5):
            expect(browser.get(f"/page/{number}"), 200)
            values = answers_for(section)  # type: ignore[arg-type]
            started = time.monotonic()
            try:
                response = browser.post(f"/page/{number}", {**values, "action": "continue"})
            except RequestFailed:
                with self.lock:
                    person.attempts.append(
                        Attempt(number, values, started, time.monotonic(), False)
                    )
                    self.cut_off += 1
                continue
            expect(response, 302, next_after(number))
            with self.lock:
                person.attempts.append(Attempt(number, values, started, time.monotonic(), True))
            return
        raise JourneyBroken(f"page {number} was cut off five times")


def stored_values(app: Flask, org_key: bytes, code: str) -> dict[str, dict | None]:
    """What this person's record holds, opened with the organisation key."""
    with app.app_context():
        db = db_session()
        client = vault.find_client(db, code, key_settings())
        assert client is not None, "a person whose agreement was acknowledged has a record"
        data_key = vault.unlock_with_org_key(client, org_key)
        assert vault.unlock_with_code(client, code, key_settings()) == data_key
        return {
            key: opened.fields for key, opened in vault.read_sections(db, client, data_key).items()
        }


def allowed_values(attempts: list[Attempt], held: Attempt | None) -> list[Fields | None]:
    """The values a page may hold: the last acknowledged save's, or one sent after it that
    was cut off (it may have been committed before its worker died). Never the save that
    was held open, uncommitted, when its worker was killed."""
    last = max((i for i, a in enumerate(attempts) if a.acknowledged), default=-1)
    allowed: list[Fields | None] = [attempts[last].values] if last >= 0 else [None]
    allowed += [a.values for a in attempts[last + 1 :] if a is not held]
    return allowed


def assert_everything_opens(app: Flask, org_key: bytes) -> int:
    """Every client has both copies of their data key, and every stored answer opens."""
    opened = 0
    with app.app_context():
        db = db_session()
        for client in db.scalars(select(Client)):
            assert client.dek_by_code is not None, client.id
            assert client.dek_by_org is not None, client.id
            data_key = vault.unlock_with_org_key(client, org_key)
            for answer in db.scalars(select(Answer).where(Answer.client_id == client.id)):
                assert vault.open_answer(answer, data_key).fields is not None, answer.id
                opened += 1
        assert consent.broken_chains(db) == []
        assert audit.verify(db) is None
    return opened


def test_a_worker_killed_in_the_middle_of_saves_loses_no_acknowledged_save(
    app: Flask,
    team: Team,
    settings: dict[str, object],
    instance_path: Path,
    tmp_path: Path,
) -> None:
    hold = tmp_path / "hold"
    hold.mkdir()
    env = server_env(settings, instance_path)
    env[HOLD_DIR] = str(hold)
    server = gunicorn(env, tmp_path / "gunicorn.log", app="support.faults:held_saves_app()")
    crowd = Crowd("")
    walkers: list[threading.Thread] = []
    with server:
        crowd.url = server.url
        walkers = [threading.Thread(target=crowd.walk, args=(6,), daemon=True) for _ in range(4)]
        for walker in walkers:
            walker.start()

        def walking() -> bool:
            return any(walker.is_alive() for walker in walkers)

        def saved_at_least(count: int) -> Callable[[], bool]:
            return lambda: crowd.acknowledged >= count or not walking()

        def two_workers_without(*killed: int) -> Callable[[], bool]:
            def check() -> bool:
                pids = set(server.worker_pids())
                return len(pids) == 2 and not pids & set(killed)

            return check

        # 1. A kill in the middle of a save: its answer written, not yet committed.
        wait_for("the first saves", saved_at_least(15))
        (hold / "armed").touch()
        wait_for("a save to be held open", lambda: list(hold.glob("holding-*")) or not walking())
        holding = list(hold.glob("holding-*"))
        assert holding, f"nobody was saving any more: {crowd.problems}"
        held_pid = int(holding[0].name.split("-")[1])
        held_client, held_section = holding[0].read_text().split()
        killed_at = time.monotonic()
        os.kill(held_pid, signal.SIGKILL)
        wait_for("gunicorn to replace the first worker", two_workers_without(held_pid))

        # 2. A kill wherever it falls, while people carry on saving.
        wait_for("saves after the first kill", saved_at_least(crowd.acknowledged + 20))
        victim = server.worker_pids()[-1]
        os.kill(victim, signal.SIGKILL)
        wait_for("saves after the second kill", saved_at_least(crowd.acknowledged + 20))

        # gunicorn replaced both workers by itself.
        wait_for("gunicorn to replace the killed workers", two_workers_without(held_pid, victim))
        crowd.stop.set()
        for walker in walkers:
            walker.join(PATIENCE)
            assert not walker.is_alive()
        assert server.answers("/") == 200

    assert crowd.problems == [], crowd.problems
    assert crowd.acknowledged >= 55, "the crowd kept saving after each kill"

    # Every acknowledged save is stored exactly; a cut-off one whole or not at all.
    held: Attempt | None = None
    checked = 0
    for person in crowd.people:
        if person.code is None:
            continue  # cut off before their agreement was acknowledged
        stored = stored_values(app, team.org_private_key, person.code)
        with app.app_context():
            client = vault.find_client(db_session(), person.code, key_settings())
            assert client is not None
            client_id = client.id
        for number, section in enumerate(DEFAULT_FORM.sections, start=1):
            attempts = [a for a in person.attempts if a.page == number]
            this_held = None
            if client_id == held_client and section.key == held_section:
                in_flight = [a for a in attempts if a.started <= killed_at <= a.ended]
                assert len(in_flight) == 1
                assert not in_flight[0].acknowledged
                this_held = held = in_flight[0]
            assert stored.get(section.key) in allowed_values(attempts, this_held), (
                person.code,
                number,
            )
            checked += sum(a.acknowledged for a in attempts)
    assert held is not None, "the save held open when its worker was killed was found"
    assert checked == crowd.acknowledged
    assert assert_everything_opens(app, team.org_private_key) > 0


# --- SIGKILL `flask keys rotate` half-way -------------------------------------------------

CLIENTS_TO_ROTATE = 300


def make_clients(app: Flask, count: int) -> dict[str, bytes]:
    """`count` clients with real envelopes and one saved page each; returns id → data key."""
    keys: dict[str, bytes] = {}
    with app.app_context():
        db = db_session()
        org = staff.organisation(db)
        assert org is not None
        for n in range(count):
            code = crypto.normalise_return_code(crypto.generate_return_code())
            assert code is not None
            client, data_key = vault.create_client(db, org, code, key_settings())
            vault.save_section(
                db, client, data_key, DEFAULT_FORM.sections[0].key, {"name": f"Person {n}"}
            )
            keys[client.id] = data_key
        db.commit()
    return keys


def org_key_of_admin(app: Flask) -> bytes:
    """The organisation key as the admin's own copy opens it (what a coach session holds)."""
    with app.app_context():
        db = db_session()
        found = staff.check_password(
            db, "admin", PASSWORDS["admin"], staff_crypto(), staff.SignInPolicy()
        )
        assert found is not None
        key = staff.open_org_key(*found)
        db.commit()
        assert key is not None
        return key


def organisation_row(app: Flask) -> tuple[bytes, bytes, bytes | None]:
    with app.app_context():
        org = db_session().scalars(select(Organisation)).one()
        return org.public_key, org.key_id, org.recovery_wrapped_key


def data_keys_open_with(app: Flask, org_key: bytes, expected: dict[str, bytes]) -> None:
    with app.app_context():
        clients = list(db_session().scalars(select(Client)))
        assert len(clients) == len(expected)
        for client in clients:
            assert vault.unlock_with_org_key(client, org_key) == expected[client.id], client.id


def rotate(env: dict[str, str], *command: str) -> subprocess.Popen[str]:
    """`flask keys rotate --admin admin` (or the held version), the password on its stdin.

    A new session has no terminal, so the password prompt reads stdin, as in a script."""
    process = subprocess.Popen(
        [*command, "keys", "rotate", "--admin", "admin"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(PASSWORDS["admin"] + "\n")
    process.stdin.flush()
    return process


def test_keys_rotate_killed_half_way_changes_nothing_and_runs_again(
    app: Flask,
    team: Team,
    settings: dict[str, object],
    instance_path: Path,
    tmp_path: Path,
) -> None:
    data_keys = make_clients(app, CLIENTS_TO_ROTATE)
    before = organisation_row(app)
    hold = tmp_path / "hold"
    hold.mkdir()
    env = server_env(settings, instance_path)
    env.update({HOLD_DIR: str(hold), "GROUNDWORK_TEST_HOLD_AFTER": str(CLIENTS_TO_ROTATE // 2)})

    held = rotate(env, sys.executable, str(TESTS / "support" / "faults.py"))
    try:
        wait_for(
            "the rotation to re-seal half the data keys",
            lambda: list(hold.glob("holding-*")) or held.poll() is not None,
        )
        assert held.poll() is None, held.communicate()[0]
        os.kill(held.pid, signal.SIGKILL)
        held.wait(PATIENCE)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(held.pid, signal.SIGKILL)
        held.communicate()
    assert held.returncode == -signal.SIGKILL

    # Nothing half-rotated: the organisation and every data key are as they were.
    assert organisation_row(app) == before
    assert org_key_of_admin(app) == team.org_private_key
    data_keys_open_with(app, team.org_private_key, data_keys)

    finished = rotate(env, *flask_command())
    output, _ = finished.communicate(timeout=PATIENCE)
    assert finished.returncode == 0, output
    assert f"Re-sealed the data keys of {CLIENTS_TO_ROTATE} clients." in output

    new_key = org_key_of_admin(app)
    assert new_key != team.org_private_key
    assert organisation_row(app)[0] == crypto.public_key_of(new_key)
    data_keys_open_with(app, new_key, data_keys)
    with app.app_context():
        client = db_session().scalars(select(Client)).first()
        assert client is not None
        with pytest.raises(crypto.CannotOpen):
            vault.unlock_with_org_key(client, team.org_private_key)


# --- the database going away --------------------------------------------------------------


class Proxy:
    """A TCP proxy to the PostgreSQL server, which the test can cut (and every connection
    through it) and bring back on the same port, leaving the real server alone."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=30)
                upstream.settimeout(None)
            except OSError:
                downstream.close()
                continue
            with self.lock:
                self.sockets.update((downstream, upstream))
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """No more connections, and every open one cut: the database has gone away."""
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for end in self.sockets:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            self.sockets.clear()


@contextlib.contextmanager
def database_away(
    kind: str, settings: dict[str, object], instance_path: Path, tmp_path: Path
) -> Iterator[tuple[dict[str, str], Callable[[Gunicorn], None], Callable[[], None]]]:
    """(gunicorn's environment, take the database away, bring it back) for this database."""
    if kind == "postgresql":
        url = make_url(str(settings["DATABASE_URL"]))
        proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
        proxy.start()
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = server_env({**settings, "DATABASE_URL": through}, instance_path)
        try:
            yield env, lambda _server: proxy.stop(), proxy.start
        finally:
            proxy.stop()
        return

    # SQLite: the folder with the database file is moved away and back. A connection that is
    # already open keeps its file open (it goes on working, on the same file), so the workers
    # are reloaded while the folder is away (SIGHUP, as a deploy does): the new workers open
    # their connections while the database is gone.
    away = tmp_path / "moved-away"

    def take_away(server: Gunicorn) -> None:
        before = set(server.worker_pids())
        instance_path.rename(away)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGHUP)
        wait_for(
            "the workers to be reloaded",
            lambda: (
                len(set(server.worker_pids()) - before) == server.workers
                and not set(server.worker_pids()) & before
            ),
        )

    def bring_back() -> None:
        away.rename(instance_path)

    try:
        yield server_env(settings, instance_path), take_away, bring_back
    finally:
        if away.exists() and not instance_path.exists():
            bring_back()


def get_once(url: str, path: str) -> Response:
    """One GET from a newcomer's browser (no cookie)."""
    with Browser.at(url, timeout=PATIENCE) as browser:
        return browser.get(path)


def assert_calm_503(response: Response, where: str) -> None:
    assert response.status == 503, (where, response.status)
    assert NOT_AVAILABLE in response.body, where
    assert "Your saved answers are safe" in response.body, where
    assert "Traceback" not in response.body, where


def test_the_database_going_away_gives_503_and_the_app_comes_back_by_itself(
    app: Flask,
    team: Team,
    settings: dict[str, object],
    instance_path: Path,
    tmp_path: Path,
    database_kind: str,
) -> None:
    with (
        database_away(database_kind, settings, instance_path, tmp_path) as (env, away, back),
        gunicorn(env, tmp_path / "gunicorn.log") as server,
        contextlib.ExitStack() as stack,
    ):
        person = stack.enter_context(Browser.at(server.url, timeout=PATIENCE))
        code = start(person)
        first = answers_for(DEFAULT_FORM.sections[0])
        expect(person.get("/page/1"), 200)
        person.close()  # each form is posted on a new connection: a POST is never retried
        expect(person.post("/page/1", {**first, "action": "continue"}), 302, next_after(1))
        expect(person.get("/page/2"), 200)

        away(server)
        assert_calm_503(get_once(server.url, "/"), "a newcomer's first page")
        assert_calm_503(person.get("/page/2"), "a page of a person half-way")
        refused = answers_for(DEFAULT_FORM.sections[1])
        person.close()
        assert_calm_503(
            person.post("/page/2", {**refused, "action": "continue"}), "a save while away"
        )
        assert_calm_503(get_once(server.url, "/staff/sign-in"), "staff sign-in")
        expect(get_once(server.url, "/exit"), 303)  # leaving always works

        back()
        wait_for("the app to answer again", lambda: server.answers("/") == 200)
        # The same person carries on where they were: their session outlived the outage.
        expect(person.get("/page/2"), 200)
        second = answers_for(DEFAULT_FORM.sections[1])
        person.close()
        expect(person.post("/page/2", {**second, "action": "continue"}), 302, next_after(2))

    stored = stored_values(app, team.org_private_key, code)
    assert stored[DEFAULT_FORM.sections[0].key] == first
    assert stored[DEFAULT_FORM.sections[1].key] == second


def test_the_fault_hooks_are_not_part_of_the_app() -> None:
    """The wrappers that hold a write open live in tests/ only."""
    root = TESTS.parent
    for folder in ("intake", "config", "tools"):
        for path in (root / folder).rglob("*.py"):
            assert HOLD_DIR not in path.read_text(), path
