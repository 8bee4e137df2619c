"""Every response carries the security headers of DESIGN.md §10, and personal pages are never
cached (§2, §9).

The routes are read from the app's own url_map, so a route added tomorrow is walked too: it
cannot ship without these headers. Each route is asked with GET when it allows GET, and with
its other methods both without and with a CSRF token, by a visitor and by a signed-in coach.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from support.staff import StaffBrowser
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from intake import create_app
from intake.db import database

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
ONE_YEAR = 365 * 24 * 60 * 60
STATES = ("signed-out", "coach")


def _route_map() -> list[Rule]:
    """The rules of an app built like the real one (no database is touched to build it)."""
    with tempfile.TemporaryDirectory(prefix="groundwork-routes-") as folder:
        app = create_app(
            {
                "ENV": "testing",
                "SECRET_KEY": secrets.token_hex(32),
                "LOOKUP_PEPPER": secrets.token_hex(32),
                "DATABASE_URL": f"sqlite:///{folder}/unused.sqlite",
            },
            instance_path=folder,
        )
        database(app).engine.dispose()
    return sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))


RULES = _route_map()


def _made_up_value(rule: Rule, name: str) -> str:
    converter = type(rule._converters[name]).__name__
    if converter == "IntegerConverter":  # small, so that a real page is likely to answer
        return "1"
    if converter == "FloatConverter":
        return "42.5"
    if converter == "UUIDConverter":
        return str(uuid.UUID(int=4242))
    if converter == "AnyConverter":
        choices = rule._converters[name].regex.removeprefix("(?:").removesuffix(")")
        return re.sub(r"\\(.)", r"\1", choices.split("|")[0])
    return "made-up-value-" + name


def _static_file() -> str:
    folder = Path(__file__).resolve().parent.parent / "static"
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert files, "the static folder is empty"
    return files[0]


def url_for_rule(rule: Rule) -> str:
    """The rule's path with made-up values (a real file for static files)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if rule.endpoint == "static" and name == "filename":
            return _static_file()
        return _made_up_value(rule, name)

    return re.sub(r"<(?:[^<>]*:)?(\w+)>", fill, rule.rule)


def _cases() -> list[object]:
    cases = []
    for rule in RULES:
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for method in methods:
            variants = ("plain",) if method == "GET" else ("no-csrf", "csrf")
            for variant in variants:
                for state in STATES:
                    cases.append(
                        pytest.param(
                            rule,
                            method,
                            variant,
                            state,
                            id=f"{state}-{method}-{variant}-{rule.endpoint}-{rule.rule}",
                        )
                    )
    return cases


def assert_baseline_headers(response: TestResponse, where: str) -> None:
    headers = response.headers
    assert headers.get("Content-Security-Policy") == CSP, where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    permissions = headers.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions, f"{where}: Permissions-Policy lacks {feature}"
    hsts = headers.get("Strict-Transport-Security", "")
    match = re.match(r"max-age=(\d+)", hsts)
    assert match, f"{where}: no HSTS"
    assert int(match.group(1)) >= ONE_YEAR, f"{where}: HSTS shorter than a year"


def cache_directives(response: TestResponse) -> set[str]:
    values = ",".join(response.headers.getlist("Cache-Control"))
    return {part.strip().lower() for part in values.split(",") if part.strip()}


def assert_not_stored(response: TestResponse, where: str) -> None:
    assert "no-store" in cache_directives(response), f"{where}: may be cached"


def _any_csrf_token(client: FlaskClient) -> str:
    """A CSRF token for this client's session, read from whichever page shows a form."""
    for path in ("/staff/sign-in", "/workspace", "/"):
        page = client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if match:
            return match.group(1)
    raise AssertionError("no page offered a CSRF token")


def _as(request: pytest.FixtureRequest, state: str) -> FlaskClient:
    client: FlaskClient = request.getfixturevalue("client")
    if state == "coach":
        request.getfixturevalue("auth").sign_in("coach", browser=client)
        assert client.get("/workspace").status_code == 200, "the coach is not signed in"
    return client


def test_the_walk_covers_the_routes_people_use() -> None:
    endpoints = {rule.endpoint for rule in RULES}
    for expected in ("static", "client.start", "auth.sign_in", "auth.sign_out"):
        assert expected in endpoints


@pytest.mark.parametrize(("rule", "method", "variant", "state"), _cases())
def test_every_route_sends_the_security_headers(
    request: pytest.FixtureRequest, rule: Rule, method: str, variant: str, state: str
) -> None:
    client = _as(request, state)
    url = url_for_rule(rule)
    data: dict[str, str] = {}
    if variant == "csrf":
        data["csrf_token"] = _any_csrf_token(client)
    response = client.open(url, method=method, data=data if method != "GET" else None)
    response.close()
    where = f"{state} {method} {url} ({variant}) -> {response.status_code}"

    assert response.status_code < 500, where
    if variant == "no-csrf" and rule.endpoint.startswith("api."):
        # The partner API takes bearer tokens, not cookies: no token, no entry.
        assert response.status_code == 401, f"{where}: the API answered without a token"
    elif variant == "no-csrf":
        assert response.status_code == 400, f"{where}: a POST without a CSRF token was accepted"
    assert_baseline_headers(response, where)
    if rule.endpoint == "static":
        assert "no-store" not in cache_directives(response), where
    else:
        assert_not_stored(response, where)


@pytest.mark.parametrize("state", STATES)
def test_a_made_up_address_gets_the_kind_404_page_with_the_headers(
    request: pytest.FixtureRequest, state: str
) -> None:
    client = _as(request, state)
    response = client.get(f"/no-such-page-{secrets.token_hex(4)}")

    assert response.status_code == 404
    assert "could not find that page" in response.get_data(as_text=True)
    assert_baseline_headers(response, "404 page")
    assert_not_stored(response, "404 page")


@pytest.mark.parametrize("state", STATES)
def test_a_wrong_method_gets_the_headers(request: pytest.FixtureRequest, state: str) -> None:
    client = _as(request, state)
    response = client.get("/staff/sign-out")

    assert response.status_code == 405
    assert_baseline_headers(response, "405 page")
    assert_not_stored(response, "405 page")


def test_the_stylesheet_a_page_links_to_is_cacheable(client: FlaskClient) -> None:
    page = client.get("/staff/sign-in")
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.get_data(as_text=True))
    assert stylesheet, "the page links to no stylesheet"

    response = client.get(stylesheet.group(1))
    response.close()

    assert response.status_code == 200
    directives = cache_directives(response)
    assert "no-store" not in directives
    max_age = next((d for d in directives if d.startswith("max-age=")), "max-age=0")
    assert int(max_age.split("=", 1)[1]) > 0, "static files should be cacheable"
    assert_baseline_headers(response, "stylesheet")
    assert "Set-Cookie" not in response.headers, "a static file should not set a cookie"


def test_a_made_up_static_file_gets_a_404_with_the_headers(client: FlaskClient) -> None:
    response = client.get("/static/no-such-file.css")
    response.close()

    assert response.status_code == 404
    assert_baseline_headers(response, "static 404")


def test_personal_pages_are_not_stored_for_the_signed_in_coach(
    client: FlaskClient, auth: StaffBrowser
) -> None:
    auth.sign_in("coach", browser=client)
    response = client.get("/workspace")

    assert response.status_code == 200
    assert_not_stored(response, "workspace")
    assert "Cookie" in response.headers.get("Vary", "")


def test_invite_secrets_never_reach_the_request_log() -> None:
    """The dev server and gunicorn log request lines; an invite secret in a path is redacted."""
    import logging

    from intake.security import RedactSecretPaths

    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /staff/join/s3cretT0ken HTTP/1.1", 302),
        None,
    )
    RedactSecretPaths().filter(record)
    assert "s3cretT0ken" not in record.getMessage()
    assert "/staff/join/[redacted]" in record.getMessage()
