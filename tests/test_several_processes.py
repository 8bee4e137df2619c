"""Several gunicorn workers on one PostgreSQL server, as an organisation that outgrows one
process runs Groundwork: what they write at the same moment must all land.

Runs in the PostgreSQL run only. The suite's database is emptied and migrated again here
(the next test's truncate leaves it as every test expects).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tools.bench import real_client, seed_clients
from tools.journey import Browser, sign_in_staff
from tools.serve import PASSWORDS, Gunicorn, Instance, prepare

pytestmark = pytest.mark.postgres


@pytest.fixture
def instance(database_url: str, tmp_path: Path) -> Instance:
    return prepare(database_url, folder=tmp_path / "instance", fast_keys=True, reset=True)


def test_eight_coaches_lists_opened_at_once_on_two_workers_all_answer(
    instance: Instance, tmp_path: Path
) -> None:
    """Each list writes one access-log entry per name shown, all on one chain: 320 lists
    opened by 8 browsers on 2 workers × 4 threads all answer 200, and the chain is whole."""
    from intake import audit
    from intake.db import database, db_session
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
