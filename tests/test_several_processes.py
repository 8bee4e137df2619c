"""Several processes on one PostgreSQL server, as an organisation that outgrows one host runs
Groundwork: what they write at the same moment must all land, and be counted once.

Runs in the PostgreSQL run only. The races are run by threads that each hold their own
connection and transaction, as requests on different hosts do; the lists test runs two real
gunicorn workers (its database is emptied and migrated again; the next test's truncate leaves
it as every test expects).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier
from typing import TypeVar

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support.clients import sent_client
from support.team import Team

from intake import consent, staff
from intake.db import database, db_session
from intake.models import Client, StaffUser, utcnow
from tools.bench import real_client, seed_clients
from tools.journey import Browser, sign_in_staff
from tools.serve import PASSWORDS, Gunicorn, Instance, prepare

pytestmark = pytest.mark.postgres
T = TypeVar("T")


@pytest.fixture
def instance(database_url: str, tmp_path: Path) -> Instance:
    return prepare(database_url, folder=tmp_path / "instance", fast_keys=True, reset=True)


def test_eight_coaches_lists_opened_at_once_on_two_workers_all_answer(
    instance: Instance, tmp_path: Path
) -> None:
    """Each list writes one access-log entry per name shown, all on one chain: 320 lists
    opened by 8 browsers on 2 workers × 4 threads all answer 200, and the chain is whole."""
    from intake import audit
    from intake.models import AccessEvent

    app = instance.app()

    def lists_written() -> int:
        with app.app_context():
            return int(
                db_session().scalar(
                    select(func.count()).where(AccessEvent.action == audit.Action.LISTED)
                )
                or 0
            )

    coach_id = instance.ids["coach"]
    log = tmp_path / "gunicorn.log"
    with Gunicorn(instance.env, workers=2, threads=4, log_path=log) as server:
        real_client(instance, server.url, coach_id)
        seed_clients(instance, 19, coach_id)
        first = Browser.at(server.url)
        sign_in_staff(first, "coach", PASSWORDS["coach"], instance.totp["coach"])
        browsers = [first]
        for _ in range(7):
            browser = Browser.at(server.url)
            browser.cookies.update(first.cookies)
            browsers.append(browser)
        before = lists_written()

        def open_lists(browser: Browser) -> list[int]:
            return [browser.get("/workspace").status for _ in range(40)]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(s for got in pool.map(open_lists, browsers) for s in got)
        for browser in browsers:
            browser.close()
    assert statuses == Counter({200: 320}), statuses
    try:
        assert lists_written() - before == 320 * 20  # 20 names in each list
        with app.app_context():
            assert audit.verify(db_session()) is None
    finally:
        database(app).engine.dispose()


# --- races closed at the database ---------------------------------------------------------

RACERS = 10


def _all_at_once(app: Flask, work: Callable[[Session], T]) -> list[T | BaseException]:
    """`work` run by RACERS threads at the same moment, each with its own connection and
    transaction, as requests on different hosts would; what each returned (or raised)."""
    start = Barrier(RACERS)

    def one(_n: int) -> T | BaseException:
        db = database(app).sessions()
        try:
            start.wait()
            result = work(db)
            db.commit()
            return result
        except Exception as problem:
            db.rollback()
            return problem
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def _coach(db: Session) -> StaffUser:
    member = db.scalar(select(StaffUser).where(StaffUser.username == "coach"))
    assert member is not None
    return member


def test_ten_wrong_sign_ins_at_once_count_ten(app: Flask, team: Team) -> None:
    policy = staff.SignInPolicy(failures_before_pause=1000)

    def wrong_password(db: Session) -> None:
        staff.register_failure(db, _coach(db), policy, utcnow())

    results = _all_at_once(app, wrong_password)
    assert [r for r in results if r is not None] == []
    with app.app_context():
        assert _coach(db_session()).failed_sign_ins == RACERS


def test_one_six_digit_code_sent_ten_times_at_once_is_accepted_once(app: Flask, team: Team) -> None:
    team.forget_used_codes("coach")
    code = team.code("coach")
    secret = team.totp["coach"]

    def send_code(db: Session) -> bool:
        return staff.accept_totp(db, _coach(db), secret, code, utcnow())

    results = _all_at_once(app, send_code)
    assert results.count(True) == 1, results
    assert results.count(False) == RACERS - 1, results


def test_ten_decisions_at_once_all_land_in_one_unbroken_chain(app: Flask, team: Team) -> None:
    person = sent_client(app, "Mira")
    with app.app_context():
        before = len(consent.history(db_session(), person.id))

    def decide(db: Session) -> int:
        client = db.get(Client, person.id)
        assert client is not None
        text = consent.current_text(db, consent.Purpose.SHARE_WITH_COACH, "en")
        event = consent.decide(
            db, client, consent.Purpose.SHARE_WITH_COACH, consent.Decision.GRANTED, text
        )
        return event.id

    results = _all_at_once(app, decide)
    assert all(isinstance(r, int) for r in results), results
    with app.app_context():
        db = db_session()
        assert len(consent.history(db, person.id)) == before + RACERS
        assert consent.verify_chain(db, person.id)


def test_a_decision_that_lost_the_race_follows_the_winner_and_keeps_the_rest(
    app: Flask, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain's end read before another decision landed: the unique index refuses the
    write, and the decision is written again after the winner, in a savepoint, so what else
    the request wrote (here, the client's status) is kept."""
    person = sent_client(app, "Dara")
    with app.app_context():
        db = db_session()
        stale = consent._last_event(db, person.id)
        client = db.get(Client, person.id)
        assert client is not None
        text = consent.current_text(db, consent.Purpose.SHARE_WITH_COACH, "en")
        winner = consent.record(
            db, person.id, consent.Purpose.SHARE_WITH_COACH, consent.Decision.GRANTED, text
        )
        db.commit()

        reads: list[object] = []
        original = consent._last_event

        def last_event(session: Session, client_id: str) -> object:
            found = stale if not reads else original(session, client_id)
            reads.append(found)
            return found

        monkeypatch.setattr(consent, "_last_event", last_event)
        client.status = "archived"
        late = consent.record(
            db, person.id, consent.Purpose.SHARE_WITH_COACH, consent.Decision.WITHDRAWN, text
        )
        db.commit()
        assert reads[0] is stale
        assert late.prev_hash == winner.hash
        assert consent.verify_chain(db, person.id)
        db.expire_all()
        refreshed = db.get(Client, person.id)
        assert refreshed is not None
        assert refreshed.status == "archived"
