"""A real Groundwork server for the browser, Debian's Chromium, and what staff do behind the
scenes while a client walks through the pages.

The server is Werkzeug's, in a thread, on a free loopback port, serving `create_app(...)` on a
SQLite file migrated by Alembic: the same app, settings and gzip as `make run`, except for the
testing environment (plain http, so no `Secure` cookies or HSTS) and cheap key derivation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from support.app import settings_for
from support.clients import assign_in_database, client_id_of, make_client
from support.staff import StaffBrowser, staff_post
from support.team import PASSWORDS, Team, make_team
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from intake import create_app, staff, vault
from intake.cli import upgrade_database
from intake.context import staff_crypto
from intake.db import database, db_session
from intake.models import Client, Role

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# The developers' guide: Debian's Chromium, these flags, and never a browser of Playwright's own.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"

LOCALES = ("en", "ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb")
STAFF_LOCALES = ("en", "ar")
LANDING_PATH = "/exit-landing"
LANDING_TEXT = "Weather for today"
# A coach who has not set up 6-digit codes yet: signing in shows the enrolment page.
NEWCOMER = "newcoach"
NEWCOMER_PASSWORD = "tea by the open window"


class QuietHandler(WSGIRequestHandler):
    """No line per request on the terminal: the browser makes hundreds."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        return


def _landing() -> str:
    """Where the quick exit goes: a neutral page on loopback (the sandbox has no internet)."""
    return (
        "<!doctype html><html lang=en><title>Weather</title>"
        f"<h1>{LANDING_TEXT}</h1><p>Sunny spells, light wind.</p></html>"
    )


# A page with a known fault for each check, so a test can show that the checks find faults.
FAULTY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Faults</title>
<link rel="stylesheet" href="/faulty-page.css"></head><body><main>
<p class="faint">Pale grey words on white.</p>
<img src="/static/no-such-picture.png">
<p class="tiny"><a href="/one">1</a><a href="/two">2</a></p>
<p><a class="no-ring" href="/three">No focus ring</a></p>
<p><a href="/four" tabindex="-1">Out of the Tab order</a></p>
<div class="wide">Wide</div>
</main></body></html>"""
FAULTY_CSS = """.faint{color:#ccc}
.tiny a{font-size:10px;line-height:1;display:inline-block}
.no-ring:focus{outline:none}
.wide{inline-size:600px}"""


def _faulty_page() -> tuple[str, int, dict[str, str]]:
    return FAULTY_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


def _faulty_css() -> tuple[str, int, dict[str, str]]:
    return FAULTY_CSS, 200, {"Content-Type": "text/css"}


@dataclass
class LiveServer:
    app: Flask
    team: Team
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def exit_url(self) -> str:
        return self.url + LANDING_PATH

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()
        database(self.app).engine.dispose()


def start_server(folder: Path) -> LiveServer:
    settings = settings_for(
        f"sqlite:///{folder / 'groundwork.sqlite'}",
        SECURE_COOKIES=False,
        BEHIND_TLS=False,
        # Every test's browser comes from 127.0.0.1: the per-address limit on return codes
        # that find nothing would otherwise count the whole session's tries together.
        RETURN_CODE_LIMIT_PER_ADDRESS="500 per minute",
        CODE_TRIES_PER_ADDRESS="1000 per minute",
    )
    app = create_app(settings, instance_path=str(folder))
    upgrade_database(app)
    app.add_url_rule(LANDING_PATH, "exit_landing", _landing)
    app.add_url_rule("/faulty-page", "faulty_page", _faulty_page)
    app.add_url_rule("/faulty-page.css", "faulty_css", _faulty_css)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["QUICK_EXIT_URL"] = url + LANDING_PATH
    team = make_team(app)
    with app.app_context():
        db = db_session()
        staff.create_staff(
            db,
            username=NEWCOMER,
            display_name="Noor Newcomer",
            role=Role.COACH,
            password=NEWCOMER_PASSWORD,
            keys=staff_crypto(),
            org_private_key=team.org_private_key,
        )
        db.commit()
    thread = threading.Thread(target=server.serve_forever, name="groundwork-live", daemon=True)
    thread.start()
    return LiveServer(app, team, url, server, thread)


class Backstage:
    """What staff do while a client uses the site, through the real staff pages (Flask's test
    client on the same app and database): assign, read, agree, record consent by voice."""

    def __init__(self, server: LiveServer) -> None:
        self.app = server.app
        self.team = server.team
        self.auth = StaffBrowser(self.app, self.team)
        self._staff_world: dict[str, str] | None = None

    def post(self, browser: FlaskClient, path: str, data: dict[str, str]) -> None:
        response = staff_post(browser, path, data)
        assert response.status_code == 302, (path, response.status_code)

    def client_id(self, code: str) -> str:
        return client_id_of(self.app, code)

    def answers_of(self, code: str) -> dict[str, dict[str, object]]:
        """What a coach would read of this person's answers (opened with the organisation key)."""
        with self.app.app_context():
            db = db_session()
            client = db.get(Client, self.client_id(code))
            assert client is not None
            data_key = vault.unlock_with_org_key(client, self.team.org_private_key)
            opened = vault.read_sections(db, client, data_key)
            return {key: dict(section.fields or {}) for key, section in opened.items()}

    def take_on(self, client_id: str, coach: str = "coach") -> None:
        """A coach is assigned, reads the answers, accepts the relationship agreement, writes
        a plan and records a choice the client made on the phone (which the client is then
        asked to confirm)."""
        assign_in_database(self.app, client_id, self.team.ids[coach])
        browser = self.auth.sign_in(coach)
        assert browser.get(f"/clients/{client_id}").status_code == 200
        self.post(browser, f"/clients/{client_id}/relationship", {})
        self.post(browser, f"/clients/{client_id}/plan", {"goals": "Find steady work\nSleep"})
        self.post(
            browser,
            f"/clients/{client_id}/consent",
            {"purpose": "contact", "decision": "granted", "reason": "Said yes on the phone"},
        )

    def staff_world(self) -> dict[str, str]:
        """Clients for the staff pages, made once: one of the admin's own, with answers on every
        page, an agreement, a plan, a check-in, consent recorded by voice and a review waiting
        for the coach's view; and one waiting for a coach."""
        if self._staff_world is None:
            mine = make_client(self.app)
            make_client(self.app)  # sent, and waiting for a coach
            mine.phone.get("/before-a-session")
            mine.phone.post(
                "/before-a-session",
                {"goal": "Talk about work", "off_limits": "My family", "arriving": "Tired"},
            )
            self.take_on(mine.id, coach="admin")
            mine.phone.get("/review")
            mine.phone.post("/review", {"working": "The walks", "safe": "mostly_safe"})
            self._staff_world = {"client": mine.id}
        return self._staff_world


def password_of(username: str) -> str:
    return NEWCOMER_PASSWORD if username == NEWCOMER else PASSWORDS[username]
