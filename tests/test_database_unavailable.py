"""When the database cannot be reached, people get a calm 503 page, never a crash (§10, §11).

The page holds no exception text; the log names the exception's class and nothing more: no
SQL, no database address or password.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from support.pages import csrf
from support.staff import StaffBrowser
from werkzeug.test import TestResponse

from intake import create_app
from intake.db import database, make_engine
from intake.models import SessionRecord

DATABASE_PASSWORD = "hunter2-do-not-log-me"
NOT_AVAILABLE = "not available right now"
EXCEPTION_TEXT = (
    "Traceback",
    "OperationalError",
    "ProgrammingError",
    "DatabaseUnavailable",
    "Exception",
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "SELECT",
    "session_record",
    "staff_user",
    "127.0.0.1",
    DATABASE_PASSWORD,
)
PAGES = ("/", "/staff/sign-in", "/workspace")
ALL_LEVELS = 1  # below DEBUG: every record any logger lets through


def broken_url(kind: str, tmp_path: Path, working_url: str) -> str:
    """A database URL that fails in the way `kind` names."""
    if kind == "server-down":  # nothing listens on port 1
        return f"postgresql+psycopg://nobody:{DATABASE_PASSWORD}@127.0.0.1:1/none"
    if kind == "folder-gone":  # a SQLite file in a folder that does not exist
        return f"sqlite:///{tmp_path}/no-such-folder/groundwork.sqlite"
    # "no-tables": the server answers, but the tables are not there (a wrong database); the
    # driver's error then quotes the SQL it tried.
    if working_url.startswith("sqlite"):
        empty = tmp_path / "empty"
        empty.mkdir(exist_ok=True)
        return f"sqlite:///{empty}/groundwork.sqlite"
    return working_url + "?options=-csearch_path%3Dno_such_schema"


def expected_error(url: str) -> str:
    """The class name of the error this URL really gives, found by trying it."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(select(SessionRecord).limit(1))
    except DBAPIError as error:
        return type(error).__name__
    finally:
        engine.dispose()
    raise AssertionError(f"{url} worked")


class Broken(NamedTuple):
    app: Flask
    error: str  # the class name of the database error it gives


UNREACHABLE = ["server-down", "folder-gone"]


@pytest.fixture(params=[*UNREACHABLE, "no-tables"])
def broken(
    request: pytest.FixtureRequest,
    settings: dict[str, object],
    tmp_path: Path,
    app: Flask,
) -> Iterator[Broken]:
    """A second app with the same secrets as `app`, whose database cannot be used."""
    url = broken_url(request.param, tmp_path, str(settings["DATABASE_URL"]))
    folder = tmp_path / "broken-instance"
    folder.mkdir()
    other = create_app({**settings, "DATABASE_URL": url}, instance_path=str(folder))
    yield Broken(other, expected_error(url))
    database(other).engine.dispose()


def assert_calm_503(response: TestResponse, where: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 503, f"{where}: {response.status_code}"
    assert NOT_AVAILABLE in page, where
    assert "Your saved answers are safe" in page, where
    for text in EXCEPTION_TEXT:
        assert text not in page, f"{where}: the page shows {text!r}"
    assert "no-store" in response.headers.get("Cache-Control", "")


def assert_log_names_only_the_class(caplog: pytest.LogCaptureFixture, expected: str) -> None:
    logged = "\n".join(
        record.getMessage() + " " + str(record.exc_text or "") + " " + str(record.exc_info or "")
        for record in caplog.records
    )
    assert expected in logged, f"the log does not name {expected}: {logged}"
    for text in ("SELECT", "session_record", "staff_user", "[SQL", DATABASE_PASSWORD):
        assert text not in logged, f"the log holds {text!r}"
    for record in caplog.records:
        assert record.exc_info is None, "a traceback in the log quotes the error's message"


def signed_in_cookie(client: FlaskClient, auth: StaffBrowser) -> tuple[str, str]:
    auth.sign_in("coach", browser=client)
    assert client.get("/workspace").status_code == 200
    cookie = client.get_cookie("__Host-session")
    assert cookie is not None
    return cookie.key, cookie.value


@pytest.mark.parametrize("broken", UNREACHABLE, indirect=True)
@pytest.mark.parametrize("path", PAGES)
def test_without_a_cookie_every_page_says_not_available(
    broken: Broken, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(ALL_LEVELS)

    response = broken.app.test_client().get(path)

    assert_calm_503(response, f"no cookie, {path}")
    assert_log_names_only_the_class(caplog, broken.error)


@pytest.mark.parametrize("broken", UNREACHABLE, indirect=True)
def test_without_a_cookie_a_form_post_says_not_available(broken: Broken) -> None:
    response = broken.app.test_client().post(
        "/staff/sign-in", data={"username": "coach", "password": "river stones and moss"}
    )

    assert_calm_503(response, "no cookie, sign-in form")


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_in_coach_gets_503_not_500_when_the_database_goes_away(
    client: FlaskClient,
    auth: StaffBrowser,
    broken: Broken,
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    name, value = signed_in_cookie(client, auth)
    caplog.set_level(ALL_LEVELS)
    caplog.clear()
    away = broken.app.test_client()
    away.set_cookie(name, value, path="/", secure=True)

    response = away.get(path)

    assert_calm_503(response, f"signed in, {path}")
    assert_log_names_only_the_class(caplog, broken.error)


def test_a_form_sent_by_a_signed_in_coach_gets_503(
    client: FlaskClient, auth: StaffBrowser, broken: Broken, caplog: pytest.LogCaptureFixture
) -> None:
    """Not "we could not save that page, go back": the token is fine, the database is not."""
    name, value = signed_in_cookie(client, auth)
    token = csrf(client, "/workspace")
    caplog.set_level(ALL_LEVELS)
    away = broken.app.test_client()
    away.set_cookie(name, value, path="/", secure=True)

    response = away.post("/staff/sign-out", data={"csrf_token": token})

    assert_calm_503(response, "sign-out form")
    assert_log_names_only_the_class(caplog, broken.error)


def test_the_session_survives_until_the_database_is_back(
    client: FlaskClient, auth: StaffBrowser, broken: Broken
) -> None:
    name, value = signed_in_cookie(client, auth)
    away = broken.app.test_client()
    away.set_cookie(name, value, path="/", secure=True)

    response = away.get("/workspace")

    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers, "a database blip must not sign anyone out"
    assert client.get("/workspace").status_code == 200


def test_quick_exit_still_leaves_when_the_database_is_gone(
    client: FlaskClient, auth: StaffBrowser, broken: Broken
) -> None:
    """Leaving in one tap matters most when something is wrong: it must never show a 503."""
    name, value = signed_in_cookie(client, auth)
    for cookie in (None, value):
        away = broken.app.test_client()
        if cookie:
            away.set_cookie(name, cookie, path="/", secure=True)

        response = away.get("/exit")

        assert response.status_code == 303
        assert response.headers["Location"] == broken.app.config["QUICK_EXIT_URL"]
        assert "cookies" in response.headers.get("Clear-Site-Data", "")


def test_a_view_that_fails_on_the_database_gives_503(
    broken: Broken, caplog: pytest.LogCaptureFixture
) -> None:
    """Even past the first check (here with CSRF off), a database error is a 503, not a 500."""
    broken.app.config["WTF_CSRF_ENABLED"] = False
    caplog.set_level(ALL_LEVELS)

    response = broken.app.test_client().post(
        "/staff/sign-in", data={"username": "coach", "password": "river stones and moss"}
    )

    assert_calm_503(response, "sign-in")
    assert "river stones" not in caplog.text
    assert_log_names_only_the_class(caplog, broken.error)
