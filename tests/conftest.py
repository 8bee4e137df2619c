"""Shared fixtures: a fresh app on a real database per test, staff accounts, and the staff
browser (`auth`). The plain helpers the tests share are in `support/` (see its __init__).

The suite runs on a real SQLite file by default, and on a real PostgreSQL server with
`pytest --database=postgresql` (TEST_DATABASE_URL names the server). Without that server the
PostgreSQL run skips locally and fails in CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session
from support.app import need
from support.app import settings_for as _settings  # the name the database fixtures use
from support.staff import StaffBrowser
from support.team import Team, make_team

from intake import create_app
from intake.cli import publish_shipped, upgrade_database
from intake.models import Base


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="which real database the app tests run on",
    )


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
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        need("set TEST_DATABASE_URL to run the suite on PostgreSQL")
    assert server is not None
    url = _own_schema(server)
    app = create_app(_settings(url), instance_path="/nonexistent-groundwork-instance")
    upgrade_database(app)
    from intake.db import database

    database(app).engine.dispose()
    return url


def _own_schema(server_url: str) -> str:
    """A new, empty schema for this run: `public` when the suite runs in one process, one of
    its own for each pytest-xdist worker (the role owns the test database, so it may make
    schemas; it need not be allowed to make databases). Tables are found through the
    connection's search_path, so the app and its migrations need not know."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    schema = f"worker_{worker}" if worker else "public"
    engine = create_engine(server_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    if schema == "public":
        return server_url
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


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
        # As `flask db upgrade` leaves it: the shipped consent texts and forms published.
        with Session(engine) as db:
            publish_shipped(db)
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
    `@with_settings(...)` (support.app), the one override: a module's own `settings` fixture
    builds on this one."""
    return {**_settings(database_url), **getattr(request, "param", {})}


@pytest.fixture
def app(settings: dict[str, object], instance_path: Path) -> Iterator[Flask]:
    application = create_app(settings, instance_path=str(instance_path))
    (instance_path / "groundwork.cfg").write_text(
        f'SECRET_KEY = "{settings["SECRET_KEY"]}"\nLOOKUP_PEPPER = "{settings["LOOKUP_PEPPER"]}"\n'
    )
    yield application
    from intake.code_copies import CodeCopies
    from intake.db import database

    copies = application.extensions.get("groundwork.code_copies")
    if isinstance(copies, CodeCopies):  # no return code's copy left half-made by a test
        copies.settle(timeout=60)
    database(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def team(app: Flask) -> Team:
    return make_team(app)


@pytest.fixture
def auth(app: Flask, team: Team) -> StaffBrowser:
    """The staff browser: `auth.sign_in("coach")` is a new browser, signed in as the coach."""
    return StaffBrowser(app, team)
