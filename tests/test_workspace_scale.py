"""The workspace costs the same with 10,000 clients as with 100 (the issue's "Done when").

A coach's first page, and an admin's "Waiting for a coach" list, sort and count in the
database and open names only for the one page shown. So one page view makes the same number
of database queries, and opens the same number of envelopes, whether 100 or 10,000 people
are in the database.

A handful of real clients walk the client journey, so their names open; the rest are
bulk-inserted with well-formed-looking envelopes that no key opens, and older dates, so the
real ones come first. Every fake also has a "what to call you" answer: a workspace that
opened names beyond the page would try (and count) them all.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert, update
from support.clients import sent_client
from support.staff import StaffBrowser
from support.team import Team
from werkzeug.test import TestResponse

from intake import crypto, staff
from intake.db import database, db_session
from intake.models import Answer, Client, ClientStatus, utcnow
from intake.workspace import PER_PAGE

REAL_NAMES = ("Amara Stillriver", "Bashir Lowfield", "Carmen Oakhollow")
CLIENT_LINK = re.compile(r'<a href="/clients/([0-9a-f]{32})">')


# --- making many clients cheaply ----------------------------------------------------------


def _header(kind: int, kid: bytes) -> bytes:
    return struct.pack(">BB8s", crypto.ENVELOPE_VERSION, kind, kid)


def _fake_sealed(org_kid: bytes) -> bytes:
    """Looks like a data key sealed to the organisation (right header and length)."""
    return _header(crypto.KIND_SEALED, org_kid) + os.urandom(32 + crypto.NONCE_SIZE + 32 + 16)


def _fake_wrapped() -> bytes:
    """Looks like a data key wrapped under a return code (header, cost, salt, nonce, body)."""
    return (
        _header(crypto.KIND_SECRET_WRAPPED, os.urandom(crypto.KEY_ID_SIZE))
        + struct.pack(">IIB", 1, 256, 1)
        + os.urandom(crypto.SALT_SIZE + crypto.NONCE_SIZE + 32 + 16)
    )


def _fake_answer() -> bytes:
    """Looks like one section of answers under a data key."""
    return _header(crypto.KIND_SECRET_KEY, os.urandom(crypto.KEY_ID_SIZE)) + os.urandom(
        crypto.NONCE_SIZE + 40 + 16
    )


@dataclass
class Population:
    app: Flask
    coach_id: int | None  # None: sent, but waiting for a coach
    made: int = 0

    @property
    def long_ago(self) -> datetime:
        return utcnow() - timedelta(days=1000)

    def add_real(self, names: tuple[str, ...]) -> list[str]:
        """Clients who walked the journey and sent, so their names open with the org key.
        They were sent first and changed last, so they lead both lists."""
        ids = [sent_client(self.app, name).id for name in names]
        with self.app.app_context():
            db = db_session()
            for n, client_id in enumerate(ids):
                db.execute(
                    update(Client)
                    .where(Client.id == client_id)
                    .values(
                        assigned_coach_id=self.coach_id,
                        submitted_at=self.long_ago + timedelta(minutes=n),
                        updated_at=utcnow(),
                    )
                )
            db.commit()
        self.made += len(names)
        return ids

    def add_fakes(self, count: int) -> None:
        """Bulk-insert clients (and a name answer each) in one transaction."""
        with self.app.app_context():
            org = staff.organisation(db_session())
            assert org is not None
            org_kid = org.key_id
        clients: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        changed = utcnow() - timedelta(days=500)
        sent = self.long_ago + timedelta(days=1)
        # Sent with "share with a coach" granted, where the model records when that was.
        shared = {"shared_at": sent} if "shared_at" in Client.__table__.c else {}
        for n in range(self.made, self.made + count):
            client_id = os.urandom(16).hex()
            clients.append(
                {
                    "id": client_id,
                    "lookup_hash": os.urandom(32),
                    "status": ClientStatus.SUBMITTED.value,
                    "locale": "en",
                    "assigned_coach_id": self.coach_id,
                    "referral_id": None,
                    "dek_by_code": _fake_wrapped(),
                    "dek_by_org": _fake_sealed(org_kid),
                    "created_at": sent,
                    "updated_at": changed - timedelta(minutes=n),
                    "submitted_at": sent + timedelta(minutes=n),
                    "erased_at": None,
                    **shared,
                }
            )
            answers.append(
                {
                    "client_id": client_id,
                    "section_key": "name",
                    "version": 1,
                    "schema_version": 1,
                    "ciphertext": _fake_answer(),
                    "created_at": sent,
                    "updated_at": changed - timedelta(minutes=n),
                }
            )
        with database(self.app).engine.begin() as connection:
            connection.execute(insert(Client.__table__), clients)
            connection.execute(insert(Answer.__table__), answers)
        self.made += count


# --- counting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    queries: int
    unseals: int  # data keys opened (or tried) with the organisation key
    decrypts: int  # envelopes opened under a symmetric key (answers, the session itself)


@contextmanager
def counting(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    counts = {"queries": 0, "unseals": 0, "decrypts": 0}
    engine = database(app).engine

    def on_query(*_args: object) -> None:
        counts["queries"] += 1

    def counted(name: str, original: Callable[..., bytes]) -> Callable[..., bytes]:
        def wrapper(*args: Any, **kwargs: Any) -> bytes:
            counts[name] += 1
            return original(*args, **kwargs)

        return wrapper

    event.listen(engine, "before_cursor_execute", on_query)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(crypto, "unseal", counted("unseals", crypto.unseal))
            patch.setattr(crypto, "decrypt", counted("decrypts", crypto.decrypt))
            yield counts
    finally:
        event.remove(engine, "before_cursor_execute", on_query)


def first_page(
    app: Flask, browser: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> tuple[Cost, TestResponse]:
    """One GET /workspace, counted. A first GET just before takes any once-a-minute write of
    the session's last-seen time, so the counted one is the same request every time."""
    assert browser.get("/workspace").status_code == 200
    with counting(app, monkeypatch) as counts:
        response = browser.get("/workspace")
    assert response.status_code == 200
    return Cost(**counts), response


def shown(response: TestResponse) -> tuple[list[str], str]:
    page = response.get_data(as_text=True)
    return CLIENT_LINK.findall(page), page


# --- the tests ----------------------------------------------------------------------------


def test_a_coachs_first_page_costs_the_same_with_100_and_10000_clients(
    app: Flask, team: Team, monkeypatch: pytest.MonkeyPatch, auth: StaffBrowser
) -> None:
    people = Population(app, team.ids["coach"])
    real_ids = people.add_real(REAL_NAMES)
    people.add_fakes(100 - len(REAL_NAMES))
    coach = auth.sign_in("coach")

    small, response = first_page(app, coach, monkeypatch)
    rows, page = shown(response)
    assert len(rows) == PER_PAGE
    assert set(rows[: len(REAL_NAMES)]) == set(real_ids), "changed last, so shown first"
    for name in REAL_NAMES:
        assert f"<bdi>{name}</bdi>" in page
    assert "People assigned to you: 100" in page
    assert "Page 1 of 4" in page
    assert small.queries > 0
    assert small.unseals == PER_PAGE, "one data key per row shown, and no more"

    people.add_fakes(10_000 - 100)
    large, response = first_page(app, coach, monkeypatch)
    rows, page = shown(response)
    assert len(rows) == PER_PAGE
    assert set(rows[: len(REAL_NAMES)]) == set(real_ids)
    for name in REAL_NAMES:
        assert f"<bdi>{name}</bdi>" in page
    assert "People assigned to you: 10000" in page
    assert "Page 1 of 400" in page

    assert large == small, f"100 clients: {small}; 10,000 clients: {large}"

    # The last page is reached through the pager and shows the oldest change.
    last = coach.get("/workspace?page=400")
    assert "Page 400 of 400" in last.get_data(as_text=True)
    assert len(CLIENT_LINK.findall(last.get_data(as_text=True))) == PER_PAGE


def test_the_waiting_list_costs_the_same_with_100_and_10000_clients(
    app: Flask, team: Team, monkeypatch: pytest.MonkeyPatch, auth: StaffBrowser
) -> None:
    people = Population(app, coach_id=None)
    real_ids = people.add_real(REAL_NAMES)
    people.add_fakes(100 - len(REAL_NAMES))
    admin = auth.sign_in("admin")

    small, response = first_page(app, admin, monkeypatch)
    rows, page = shown(response)
    assert "Waiting for a coach" in page
    assert "Nobody has been assigned to you yet." in page, "the admin's own list is empty"
    assert len(rows) == PER_PAGE
    assert rows[: len(REAL_NAMES)] == real_ids, "sent first, so waiting longest, so first"
    for name in REAL_NAMES:
        assert f"<bdi>{name}</bdi>" in page
    assert "Sent, with no coach yet, or whose coach has left: 100" in page
    assert "Page 1 of 4" in page
    assert page.count('<form method="post" action="/clients/') == PER_PAGE
    assert small.unseals == PER_PAGE

    people.add_fakes(10_000 - 100)
    large, response = first_page(app, admin, monkeypatch)
    rows, page = shown(response)
    assert len(rows) == PER_PAGE
    assert rows[: len(REAL_NAMES)] == real_ids
    for name in REAL_NAMES:
        assert f"<bdi>{name}</bdi>" in page
    assert "Sent, with no coach yet, or whose coach has left: 10000" in page
    assert "Page 1 of 400" in page

    assert large == small, f"100 waiting: {small}; 10,000 waiting: {large}"
