"""Shared fixtures: a fresh app on a real database per test, staff accounts, and sign-in.

The suite runs on a real SQLite file by default, and on a real PostgreSQL server with
`pytest --database=postgresql` (TEST_DATABASE_URL names the server). Without that server the
PostgreSQL run skips locally and fails in CI (CI=true).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text, update
from sqlalchemy.orm import Session

from intake import consent, create_app, staff
from intake.cli import upgrade_database
from intake.context import staff_crypto
from intake.db import db_session
from intake.models import Base, PartnerOrg, Role, StaffUser

# Cheap key derivation so the suite is quick; the envelopes record their own cost, and the
# production cost is exercised by `make bench`.
FAST_KEYS = {
    "KDF_ITERATIONS": 1,
    "KDF_MEMORY_KIB": 256,
    "KDF_LANES": 1,
    "LOOKUP_KDF_ITERATIONS": 1,
    "LOOKUP_KDF_MEMORY_KIB": 256,
    "LOOKUP_KDF_LANES": 1,
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_KIB": 256,
    "PASSWORD_HASH_PARALLELISM": 1,
}

PASSWORDS = {
    "admin": "lighthouse over the bay",
    "coach": "river stones and moss",
    "coach2": "paper boats at dawn",
    "partner": "orchard in late summer",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="which real database the app tests run on",
    )


def need(reason: str) -> None:
    """Skip locally with a reason; in CI a missing part is a failure, never a silent skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this and it is missing: {reason}")
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `once` run in the SQLite run only: they bring their own server and store.
    Tests marked `postgres` run in the PostgreSQL run only: they race processes against a
    real server, the failure SQLite's single writer would hide."""
    unwanted = "once" if config.getoption("--database") == "postgresql" else "postgres"
    left_out = [item for item in items if item.get_closest_marker(unwanted)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


@pytest.fixture(scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--database"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once by Alembic; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "groundwork.sqlite"
    app = create_app(_settings(f"sqlite:///{path}"), instance_path=str(folder))
    upgrade_database(app)
    from intake.db import database

    database(app).engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url(database_kind: str) -> str | None:
    if database_kind != "postgresql":
        return None
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        need("set TEST_DATABASE_URL to run the suite on PostgreSQL")
    assert url is not None
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app(_settings(url), instance_path="/nonexistent-groundwork-instance")
    upgrade_database(app)
    from intake.db import database

    database(app).engine.dispose()
    return url


def _settings(url: str, **extra: object) -> dict[str, object]:
    return {
        "ENV": "testing",
        "SECRET_KEY": secrets.token_hex(32),
        "LOOKUP_PEPPER": secrets.token_hex(32),
        "DATABASE_URL": url,
        "SECURE_COOKIES": True,
        "BEHIND_TLS": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        **FAST_KEYS,
        **extra,
    }


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def database_url(
    database_kind: str, instance_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    if database_kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        yield url
        engine = create_engine(url)
        with engine.begin() as connection:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # As `flask db upgrade` leaves it: the shipped consent texts published.
        with Session(engine) as db:
            consent.sync_texts(db, consent.TEXTS_FOLDER)
            db.commit()
        engine.dispose()
        return
    template = request.getfixturevalue("sqlite_template")
    target = instance_path / "groundwork.sqlite"
    shutil.copyfile(template, target)
    yield f"sqlite:///{target}"


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> dict[str, object]:
    """The app's settings; a test may change them before asking for `app`, or with
    `@with_settings(...)`."""
    return {**_settings(database_url), **getattr(request, "param", {})}


def with_settings(**changes: object) -> pytest.MarkDecorator:
    """Build this test's app with these settings changed."""
    return pytest.mark.parametrize("settings", [changes], indirect=True, ids=["settings"])


@pytest.fixture
def app(settings: dict[str, object], instance_path: Path) -> Iterator[Flask]:
    application = create_app(settings, instance_path=str(instance_path))
    (instance_path / "groundwork.cfg").write_text(
        f'SECRET_KEY = "{settings["SECRET_KEY"]}"\nLOOKUP_PEPPER = "{settings["LOOKUP_PEPPER"]}"\n'
    )
    yield application
    from intake.db import database

    database(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Team:
    """An organisation with an admin, two coaches and a partner, all set up for 2FA."""

    app: Flask
    org_private_key: bytes
    recovery_phrase: str
    totp: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def code(self, username: str, offset_steps: int = 0) -> str:
        import time

        return pyotp.TOTP(self.totp[username]).at(time.time() + 30 * offset_steps)

    def forget_used_codes(self, username: str) -> None:
        with self.app.app_context():
            db = db_session()
            db.execute(
                update(StaffUser)
                .where(StaffUser.username == username)
                .values(totp_last_step=None, failed_sign_ins=0, paused_until=None)
            )
            db.commit()


@pytest.fixture
def team(app: Flask) -> Team:
    return make_team(app)


def make_team(app: Flask) -> Team:
    """An organisation, an admin, two coaches and a partner, each with 6-digit codes set up.

    A plain function as well as the `team` fixture, so the browser tests' server can use it."""
    with app.app_context():
        db = db_session()
        keys = staff_crypto()
        _org, admin, phrase = staff.init_organisation(
            db, "Test coaching", "admin", "Ada Admin", PASSWORDS["admin"], keys
        )
        org_key = staff.open_org_key(
            *staff.check_password(db, "admin", PASSWORDS["admin"], keys, staff.SignInPolicy())  # type: ignore[misc]
        )
        assert org_key is not None
        partner_org = PartnerOrg(name="Test charity")
        db.add(partner_org)
        members = {"admin": admin}
        for username, role in (("coach", Role.COACH), ("coach2", Role.COACH)):
            members[username] = staff.create_staff(
                db,
                username=username,
                display_name=username.title(),
                role=role,
                password=PASSWORDS[username],
                keys=keys,
                org_private_key=org_key,
            )
        members["partner"] = staff.create_staff(
            db,
            username="partner",
            display_name="Pat Partner",
            role=Role.PARTNER,
            password=PASSWORDS["partner"],
            keys=keys,
            partner_org=partner_org,
        )
        result = Team(app=app, org_private_key=org_key, recovery_phrase=phrase)
        for username, member in members.items():
            found = staff.check_password(
                db, username, PASSWORDS[username], keys, staff.SignInPolicy()
            )
            assert found is not None
            secret = staff.new_totp_secret()
            staff.store_totp_secret(member, found[1], secret)
            result.totp[username] = secret
            result.ids[username] = member.id
        db.commit()
    return result


@pytest.fixture
def sign_in(client: FlaskClient, team: Team):
    """Sign a team member in through the real two-step pages; returns the final response."""

    def _sign_in(username: str = "coach") -> object:
        team.forget_used_codes(username)
        first = client.post(
            "/staff/sign-in",
            data={
                "username": username,
                "password": PASSWORDS[username],
                "csrf_token": csrf(client, "/staff/sign-in"),
            },
        )
        assert first.status_code == 302, first.get_data(as_text=True)
        response = client.post(
            "/staff/two-factor",
            data={"code": team.code(username), "csrf_token": csrf(client, "/staff/two-factor")},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return _sign_in


def csrf(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on `path`, read from the page like a browser would."""
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)
