"""Helpers for the consent-ledger, agreement and retention tests.

Clients are made the way people make them, on a `Phone` through the client pages; staff sign in
through the real password and 6-digit-code pages, each on their own browser. The words a client
was shown are read from the page the way a person reads them, so a test can compare them with
the fingerprint on their receipt. The `flask` commands run as the `flask` command runs them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from click.testing import Result
from conftest import PASSWORDS, Team, csrf
from flask import Flask
from flask.testing import FlaskClient
from journey_helpers import PAGES, Phone, fill, section_at
from sqlalchemy import select, text
from werkzeug.test import TestResponse

from intake import crypto, vault
from intake.db import database, db_session
from intake.models import Client, ConsentEvent
from intake.vault import AnswerValue

CONTACT_PAGE = next(n for n in range(1, PAGES + 1) if section_at(n).consent_purpose == "contact")


# --- the `flask` command ------------------------------------------------------------------


def invoke(app: Flask, *args: str) -> Result:
    """Run `flask <args>` as the `flask` command does: inside an app context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


# --- staff --------------------------------------------------------------------------------


def staff_browser(team: Team, username: str) -> FlaskClient:
    """A new browser, signed in as `username` through the password and 6-digit-code pages."""
    team.forget_used_codes(username)
    browser = team.app.test_client()
    first = browser.post(
        "/staff/sign-in",
        data={
            "username": username,
            "password": PASSWORDS[username],
            "csrf_token": csrf(browser, "/staff/sign-in"),
        },
    )
    assert first.status_code == 302, first.get_data(as_text=True)
    second = browser.post(
        "/staff/two-factor",
        data={"code": team.code(username), "csrf_token": csrf(browser, "/staff/two-factor")},
    )
    assert second.status_code == 302, second.get_data(as_text=True)
    return browser


def staff_post(browser: FlaskClient, path: str, data: dict[str, str]) -> TestResponse:
    """Post a staff form with the browser's CSRF token (read from the workspace page)."""
    return browser.post(path, data={**data, "csrf_token": csrf(browser, "/account/password")})


def assign(admin: FlaskClient, client_id: str, coach_id: int) -> None:
    response = staff_post(admin, f"/clients/{client_id}/assign", {"coach": str(coach_id)})
    assert response.status_code == 302, response.get_data(as_text=True)


def page_text(response: TestResponse) -> str:
    """The words of a page as a person reads them: tags dropped, entities decoded."""
    return " ".join(Words(response.get_data(as_text=True)).words.split())


class Words(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.feed(markup)
        self.close()

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def words(self) -> str:
        return " ".join(self.chunks)


# --- clients ------------------------------------------------------------------------------


@dataclass
class Person:
    """A client: their phone, their return code, their record id and what they typed."""

    phone: Phone
    code: str
    id: str
    answers: dict[int, dict[str, AnswerValue]] = field(default_factory=dict)

    @property
    def typed(self) -> list[str]:
        return [
            value
            for page in self.answers.values()
            for value in page.values()
            if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value)
        ]


def client_id_of(app: Flask, code: str) -> str:
    with app.app_context():
        digits = crypto.normalise_return_code(code)
        assert digits is not None
        found = vault.find_client(db_session(), digits, vault.KeySettings.from_config(app.config))
        assert found is not None
        return found.id


def new_person(
    app: Flask,
    *,
    share: str | None = "yes",
    pages: int = PAGES,
    send: bool = True,
    extra: dict[int, dict[str, AnswerValue]] | None = None,
) -> Person:
    """A person who starts, agrees to keep their answers, fills in `pages` pages (a unique
    marker in every text box) and, if `send`, sends them."""
    phone = Phone(app)
    code = phone.begin(share=share)
    answers: dict[int, dict[str, AnswerValue]] = {}
    for number in range(1, pages + 1):
        answers[number] = {**fill(section_at(number)), **(extra or {}).get(number, {})}
        response = phone.save_page(number, answers[number])
        assert response.status_code == 302
    if send:
        phone.get("/check")
        assert phone.post("/send", {}).headers["Location"] == "/sent"
    return Person(phone, code, client_id_of(app, code), answers)


def come_back(app: Flask, person: Person) -> TestResponse:
    """The person opens Groundwork on a fresh browser and types their return code."""
    person.phone = Phone(app)
    person.phone.keep_private(person.code)
    response = person.phone.come_back(person.code)
    assert response.status_code == 302
    return response


def client_row(app: Flask, client_id: str) -> Client:
    with app.app_context():
        db = db_session()
        found = db.get(Client, client_id)
        assert found is not None
        db.expunge(found)
        return found


def consent_events(app: Flask, client_id: str) -> list[ConsentEvent]:
    """The client's consent events, oldest first."""
    with app.app_context():
        db = db_session()
        rows = list(
            db.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.client_id == client_id)
                .order_by(ConsentEvent.id)
            )
        )
        for row in rows:
            db.expunge(row)
        return rows


def my_data(phone: Phone) -> dict[str, object]:
    response = phone.get("/my-data.json")
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.get_data(as_text=True))
    assert isinstance(document, dict)
    return document


def receipts_for(phone: Phone, purpose: str) -> list[dict[str, object]]:
    """The receipts of every decision about `purpose`, newest first, from the person's copy of
    everything we hold about them."""
    return [r for r in my_data(phone)["consent"] if r["purpose"] == purpose]  # type: ignore[union-attr,index]


# --- the words a person was shown ---------------------------------------------------------


def sha256(words: str) -> str:
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


@dataclass
class Block:
    """One consent on a page: its question (legend or heading), the paragraphs around it and
    any list items (what changed)."""

    classes: list[str]
    question: str = ""
    paragraphs: list[tuple[str, bool]] = field(default_factory=list)  # (text, plain text only)
    items: list[tuple[str, str]] = field(default_factory=list)  # (class, text)
    hidden: dict[str, str] = field(default_factory=dict)

    def words(self, stop: tuple[str, ...] = ()) -> str:
        """The consent text as shown: the question, then each explaining paragraph, up to the
        first paragraph that is about the choice rather than the words."""
        shown = []
        for paragraph, plain in self.paragraphs:
            if not plain or paragraph.startswith(stop):
                break
            shown.append(paragraph)
        return "\n\n".join([self.question, *shown]) + "\n"


class ConsentBlocks(HTMLParser):
    """Every element with class "consent" on a page, read as a browser shows it."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._depth = 0  # open elements inside the current block
        self._capture: list[str] | None = None
        self._what = ""
        self._plain = True
        self._item_class = ""
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if self._depth == 0:
            if "consent" in classes and tag in ("div", "section"):
                self.blocks.append(Block(classes))
                self._depth = 1
            return
        if tag == "input":
            if found.get("type") == "hidden" and found.get("name") != "csrf_token":
                self.blocks[-1].hidden[found.get("name") or ""] = found.get("value") or ""
            return
        self._depth += 1
        if self._capture is not None:
            self._plain = False
        elif tag in ("legend", "h2") and not self.blocks[-1].question:
            self._capture, self._what = [], "question"
        elif tag == "p":
            self._capture, self._what, self._plain = [], "p", True
        elif tag == "li":
            self._capture, self._what, self._item_class = [], "li", found.get("class") or ""

    def handle_endtag(self, tag: str) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        closing = {"question": ("legend", "h2"), "p": ("p",), "li": ("li",)}
        if self._capture is not None and tag in closing[self._what]:
            content = " ".join("".join(self._capture).split())
            block = self.blocks[-1]
            if self._what == "question":
                block.question = content
            elif self._what == "p":
                block.paragraphs.append(("".join(self._capture).strip(), self._plain))
            else:
                block.items.append((self._item_class, content))
            self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._capture.append(data)


def consent_blocks(response: TestResponse) -> list[Block]:
    return ConsentBlocks(response.get_data(as_text=True)).blocks


def block_for(response: TestResponse, purpose: str) -> Block:
    """The consent block whose form (or fields) are about `purpose`."""
    blocks = consent_blocks(response)
    found = [b for b in blocks if b.hidden.get("purpose") == purpose]
    assert len(found) == 1, [(b.question, b.hidden) for b in blocks]
    return found[0]


# --- the database, as someone with a copy of it would change it ---------------------------


def drop_append_only_triggers(app: Flask, database_kind: str) -> None:
    """What an attacker with write access to the database does first."""
    with app.app_context(), database(app).engine.begin() as connection:
        if database_kind == "sqlite":
            connection.execute(text("DROP TRIGGER consent_event_no_update"))
            connection.execute(text("DROP TRIGGER consent_event_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER consent_event_append_only ON consent_event"))


def restore_append_only_triggers(app: Flask, database_kind: str) -> None:
    """Put the PostgreSQL trigger back: that database is shared by the whole test session
    (each SQLite test has its own copy of the file)."""
    if database_kind != "postgresql":
        return
    with app.app_context(), database(app).engine.begin() as connection:
        connection.execute(
            text("DROP TRIGGER IF EXISTS consent_event_append_only ON consent_event")
        )
        connection.execute(
            text(
                "CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON consent_event "
                "FOR EACH ROW EXECUTE FUNCTION groundwork_append_only()"
            )
        )


def raw_sql(app: Flask, statement: str, **params: object) -> None:
    with app.app_context(), database(app).engine.begin() as connection:
        connection.execute(text(statement), params)


def label(app: Flask, table: str, code: str) -> str:
    """The English words a page shows for a stored code (a purpose, decision or actor)."""
    from intake import labels

    with app.test_request_context():
        return str(getattr(labels, table)[code])
