"""Helpers for the client-journey tests (test_client_journey.py, test_client_bad_input.py).

`Phone` drives the client pages the way a browser without JavaScript would: it reads each
page, finds its CSRF token, and posts plain forms. On every page it sees, it checks what a
person (or someone looking over their shoulder) would notice: the quick-exit link, a neutral
title, `Cache-Control: no-store`, and no typed words or return code in any address.

The database helpers look at the data the way an attacker with a copy of the database would:
the raw bytes of the SQLite file and its write-ahead log, and every column of every row.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from babel.support import Translations
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select, table, text
from werkzeug.test import TestResponse

from intake import vault
from intake.db import database, db_session
from intake.models import Answer, Client
from intake.questionnaire import SECTIONS, Kind, Section
from intake.vault import AnswerValue

PAGES = len(SECTIONS)
SITE_NAME = "Forms"
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
QUICK_EXIT_PATH = "/exit"
CLIENT_TABLES = ("client", "answer", "consent_event")
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"


def marker() -> str:
    """A string that appears nowhere unless the app put it there."""
    return uuid.uuid4().hex


def in_digits(code: str, digits: str, separator: str) -> str:
    """A return code ('4827 1930 5561 2204') typed in another script with another separator."""
    table_ = {str(n): digits[n] for n in range(10)}
    return separator.join("".join(table_[c] for c in group) for group in code.split())


# --- reading pages ------------------------------------------------------------------------


class Page(HTMLParser):
    """What a browser would make of a page: title, links, forms, fields and scripts."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.markup = markup
        self.title = ""
        self.hrefs: list[str] = []
        self.form_actions: list[str] = []
        self.form_methods: list[str] = []
        self.scripts: list[tuple[str | None, str]] = []  # (src, inline body)
        self.stylesheets: list[str] = []
        self.inputs: list[dict[str, str | None]] = []
        self.textareas: dict[str, str] = {}
        self.legends: list[str] = []
        self.consent_paragraphs: list[list[str]] = []
        self.summary_links: list[tuple[str, str]] = []  # (href, text) in the error summary
        self.event_handlers: list[str] = []
        self.buttons: list[dict[str, str | None]] = []
        self._title = False
        self._textarea: str | None = None
        self._script: list[str] | None = None
        self._legend: list[str] | None = None
        self._consent_depth = 0
        self._paragraph: list[str] | None = None
        self._summary = False
        self._summary_link: list[str] | None = None
        self._summary_href = ""
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.event_handlers += [name for name, _ in attrs if name.startswith("on")]
        for name in ("href", "action", "src", "formaction"):
            value = found.get(name)
            if value and value.lower().startswith("javascript:"):
                self.event_handlers.append(f"{name}=javascript:")
        classes = (found.get("class") or "").split()
        if tag == "title":
            self._title = True
        elif tag == "a" and found.get("href") is not None:
            self.hrefs.append(found["href"] or "")
            if self._summary:
                self._summary_link, self._summary_href = [], found["href"] or ""
        elif tag == "form":
            self.form_actions.append(found.get("action") or "")
            self.form_methods.append((found.get("method") or "get").lower())
        elif tag == "script":
            self._script = []
            self.scripts.append((found.get("src"), ""))
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found.get("href") or "")
        elif tag == "input":
            self.inputs.append(found)
        elif tag == "button":
            self.buttons.append(found)
        elif tag == "textarea":
            self._textarea = found.get("name") or ""
            self.textareas[self._textarea] = ""
        elif tag == "legend":
            self._legend = []
        elif tag == "div" and "consent" in classes:
            self._consent_depth = 1
            self.consent_paragraphs.append([])
        elif tag == "div" and self._consent_depth:
            self._consent_depth += 1
        elif tag == "div" and "error-summary" in classes:
            self._summary = True
        elif tag == "p" and self._consent_depth:
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "script" and self._script is not None:
            src, _ = self.scripts[-1]
            self.scripts[-1] = (src, "".join(self._script))
            self._script = None
        elif tag == "legend" and self._legend is not None:
            self.legends.append("".join(self._legend).strip())
            self._legend = None
        elif tag == "p" and self._paragraph is not None:
            self.consent_paragraphs[-1].append("".join(self._paragraph))
            self._paragraph = None
        elif tag == "div" and self._consent_depth:
            self._consent_depth -= 1
        elif tag == "div" and self._summary:
            self._summary = False
        elif tag == "a" and self._summary_link is not None:
            self.summary_links.append((self._summary_href, "".join(self._summary_link).strip()))
            self._summary_link = None

    def handle_data(self, data: str) -> None:
        if self._title:
            self.title += data
        if self._textarea is not None:
            self.textareas[self._textarea] += data
        if self._script is not None:
            self._script.append(data)
        if self._legend is not None:
            self._legend.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)
        if self._summary_link is not None:
            self._summary_link.append(data)

    # what a field shows

    def value(self, name: str) -> str | None:
        """The text a text box or text area shows, as the person would see it."""
        if name in self.textareas:
            shown = self.textareas[name]
            # WTForms writes a newline after <textarea>; browsers drop that first newline.
            for newline in ("\r\n", "\n"):
                if shown.startswith(newline):
                    return shown[len(newline) :]
            return shown
        for found in self.inputs:
            if found.get("name") == name and found.get("type") in (None, "text"):
                return found.get("value") or ""
        return None

    def hidden(self, name: str) -> str | None:
        for found in self.inputs:
            if found.get("name") == name and found.get("type") == "hidden":
                return found.get("value")
        return None

    def checked(self, name: str) -> list[str]:
        return [
            found.get("value") or ""
            for found in self.inputs
            if found.get("name") == name and "checked" in found
        ]

    def urls(self) -> list[str]:
        return [*self.hrefs, *self.form_actions, *(src for src, _ in self.scripts if src)]

    def bdi(self) -> list[str]:
        return [html.unescape(m) for m in re.findall(r"<bdi>([^<]*)</bdi>", self.markup)]


def site_name(markup: str) -> str:
    """The neutral site name ("Forms") in the language the page is in."""
    found = re.search(r'<html lang="([^"]+)"', markup)
    locale = found.group(1) if found else "en"
    return neutral_name(locale)


@cache
def neutral_name(locale: str) -> str:
    return Translations.load(str(TRANSLATIONS), [locale]).gettext(SITE_NAME)


# --- a phone ------------------------------------------------------------------------------


class Phone:
    """One browser. Every page it receives is checked for what a client page must have."""

    def __init__(self, app: Flask, client: FlaskClient | None = None) -> None:
        self.app = app
        self.client = client or app.test_client()
        self.private: set[str] = set()  # typed words and return codes: never in a URL/title
        self.urls: list[str] = []  # every Location header, link, form action and script src
        self.titles: list[str] = []
        self.pages_seen = 0
        self.token: str | None = None

    def keep_private(self, *values: str) -> None:
        self.private.update(v for v in values if v)

    # requests

    def get(self, path: str, status: int = 200) -> TestResponse:
        response = self.client.get(path)
        self.see(response, path)
        assert response.status_code == status, (path, response.status_code, _body(response))
        return response

    def post(
        self,
        path: str,
        data: dict[str, object] | bytes,
        status: int = 302,
        *,
        token: bool = True,
        content_type: str | None = None,
    ) -> TestResponse:
        """Post a form with the CSRF token of the last page read (as a browser would)."""
        if isinstance(data, bytes):
            body = data
            if token:
                assert self.token is not None
                body = b"csrf_token=" + self.token.encode() + b"&" + data
            response = self.client.post(
                path, data=body, content_type=content_type or "application/x-www-form-urlencoded"
            )
        else:
            fields = dict(data)
            if token:
                assert self.token is not None, "read a page with a form first"
                fields["csrf_token"] = self.token
            response = self.client.post(path, data=fields)
        self.see(response, path)
        assert response.status_code == status, (path, response.status_code, _body(response))
        return response

    def page(self, response: TestResponse) -> Page:
        return Page(response.get_data(as_text=True))

    def see(self, response: TestResponse, path: str) -> None:
        """Check and record one response, as every client response must look."""
        location = response.headers.get("Location")
        if location:
            self.urls.append(location)
            self._no_private_in(location, f"Location of {path}")
        assert response.headers.get("Cache-Control") == "no-store", path
        if response.mimetype != "text/html" or 300 <= response.status_code < 400:
            return
        page = self.page(response)
        self.pages_seen += 1
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.markup)
        if match:
            self.token = match.group(1)
        assert f'href="{QUICK_EXIT_PATH}"' in page.markup, f"no quick exit on {path}"
        assert 'id="quick-exit"' in page.markup, path
        assert site_name(page.markup) in page.title, (path, page.title)
        self.titles.append(page.title)
        self._no_private_in(page.title, f"title of {path}")
        for url in page.urls():
            self.urls.append(url)
            self._no_private_in(url, f"a link on {path}")

    def _no_private_in(self, where: str, what: str) -> None:
        for value in self.private:
            assert value not in where, f"{what} gives away something typed: {where!r}"
        # The return code's digits without spaces, too.
        for value in self.private:
            digits = value.replace(" ", "")
            if digits.isdigit() and len(digits) == 16:
                assert digits not in where.replace(" ", ""), f"{what} shows a return code"

    # the journey

    def start(self) -> None:
        """Start → welcome → the choices. Nothing is kept, and there is no code yet."""
        self.get("/")
        self.get("/welcome")
        self.get("/agree")

    def agree(self, store: str | None = "yes", share: str | None = "yes") -> TestResponse:
        self.get("/agree")
        choices = {}
        if store is not None:
            choices["store_answers"] = store
        if share is not None:
            choices["share_with_coach"] = share
        return self.post("/agree", choices, status=302 if store else 400)

    def take_code(self, then: str = "/page/1") -> str:
        """The return code, given after a yes to keeping answers: read, written down, and on."""
        code = return_code_shown(self.get("/your-code"))
        self.keep_private(code)
        response = self.post("/your-code", {"saved": "y"})
        assert response.headers["Location"] == then
        return code

    def begin(self, share: str | None = "yes") -> str:
        """A new client who agreed to keep answers; returns their return code."""
        self.start()
        response = self.agree("yes", share)
        assert response.headers["Location"] == "/your-code", "the code comes after the yes"
        return self.take_code()

    def save_page(
        self,
        number: int,
        answers: dict[str, AnswerValue],
        action: str = "continue",
        query: str = "",
    ) -> TestResponse:
        """Open page N, fill it in, and press one of its buttons."""
        self.get(f"/page/{number}{query}")
        self.keep_private(*typed_words(section_at(number), answers))
        return self.post(f"/page/{number}{query}", {**answers, "action": action})

    def come_back(self, typed_code: str, status: int = 302) -> TestResponse:
        self.get("/come-back")
        return self.post("/come-back", {"code": typed_code}, status=status)


def return_code_shown(response: TestResponse) -> str:
    """The one return code a page shows, as a person reads it: '4827 1930 5561 2204'."""
    markup = response.get_data(as_text=True)
    shown = [
        " ".join(re.findall(r"<span>([0-9]{4})</span>", block))
        for block in re.findall(r'<p class="return-code"[^>]*>(.*?)</p>', markup, re.S)
    ]
    assert len(shown) == 1, shown
    assert re.fullmatch(r"[0-9]{4}( [0-9]{4}){3}", shown[0]), shown
    return shown[0]


def _body(response: TestResponse) -> str:
    return response.get_data(as_text=True)[:3000] if response.mimetype == "text/html" else ""


# --- answers ------------------------------------------------------------------------------


def fill(section: Section) -> dict[str, AnswerValue]:
    """A unique marker in every text question and a real choice in every choice question."""
    answers: dict[str, AnswerValue] = {}
    for question in section.questions:
        keys = [key for key, _label in question.choices if key != "rather_not_say"]
        if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
            answers[question.key] = marker()
        elif question.kind == Kind.ONE_CHOICE:
            answers[question.key] = keys[len(section.key) % len(keys)]
        else:
            answers[question.key] = keys[:2]
    return answers


def typed_words(section: Section, answers: dict[str, AnswerValue]) -> list[str]:
    """What the person typed (not chose) on a page, as it is stored: trimmed."""
    return [
        str(answers[q.key]).strip()
        for q in section.questions
        if q.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT) and answers.get(q.key)
    ]


def section_at(number: int) -> Section:
    return SECTIONS[number - 1]


# --- the database, as an attacker with a copy would see it --------------------------------


def count_rows(app: Flask, *tables: str) -> dict[str, int]:
    with app.app_context():
        db = db_session()
        return {
            name: int(db.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in tables
        }


def only_client(app: Flask) -> Client:
    with app.app_context():
        db = db_session()
        clients = list(db.scalars(select(Client)))
        assert len(clients) == 1, clients
        db.expunge(clients[0])
        return clients[0]


def answer_rows(app: Flask, section_key: str | None = None) -> list[Answer]:
    with app.app_context():
        db = db_session()
        query = select(Answer).order_by(Answer.section_key, Answer.version)
        if section_key is not None:
            query = query.where(Answer.section_key == section_key)
        rows = list(db.scalars(query))
        for row in rows:
            db.expunge(row)
        return rows


def read_as_coach(app: Flask, org_private_key: bytes) -> dict[str, dict[str, AnswerValue] | None]:
    """What a coach reads: the data key opened with the organisation key, then every section."""
    with app.app_context():
        db = db_session()
        client = db.scalars(select(Client)).one()
        data_key = vault.unlock_with_org_key(client, org_private_key)
        return {
            key: opened.fields for key, opened in vault.read_sections(db, client, data_key).items()
        }


def every_value(app: Flask) -> bytes:
    """Every column of every row of every table, read through SQL, as bytes."""
    chunks: list[bytes] = []
    with app.app_context():
        engine = database(app).engine
        names = inspect(engine).get_table_names()
        assert "client" in names
        assert "answer" in names
        quote = engine.dialect.identifier_preparer.quote
        with engine.connect() as connection:
            for name in names:
                for row in connection.execute(text(f"SELECT * FROM {quote(name)}")):  # noqa: S608
                    for value in row:
                        if isinstance(value, bytes | bytearray | memoryview):
                            chunks.append(bytes(value))
                        elif value is not None:
                            chunks.append(str(value).encode("utf-8"))
    return b"\x00".join(chunks)


def database_bytes(app: Flask, database_kind: str, instance_path: Path) -> bytes:
    """All a copy of the database would hold: on SQLite the file and its WAL as raw bytes,
    plus (on both databases) every column of every row through SQL."""
    raw = b""
    if database_kind == "sqlite":
        main = instance_path / "groundwork.sqlite"
        assert main.exists()
        for suffix in ("", "-wal", "-journal"):
            path = Path(f"{main}{suffix}")
            if path.exists():
                raw += path.read_bytes()
    return raw + b"\x00" + every_value(app)


def assert_not_stored(stored: bytes, values: Iterable[str]) -> None:
    for value in values:
        for form in {value.encode("utf-8"), value.encode("utf-16-le")}:
            assert form not in stored, f"{value!r} is in the database as plain text"
