"""A client's browser, and what they type into it.

`Phone` drives the client pages the way a browser without JavaScript would: it reads each
page, finds its CSRF token, and posts plain forms. On every page it sees, it checks what a
person (or someone looking over their shoulder) would notice: the quick-exit link, a neutral
title, `Cache-Control: no-store`, and no typed words or return code in any address.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.support import Translations
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from intake.context import code_copies
from intake.questionnaire import DEFAULT_FORM, Kind, Section
from intake.vault import AnswerValue
from tools.journey import answers_for
from tools.journey import marker as marker  # one definition; the tests take it from here

from .pages import Page

PAGES = len(DEFAULT_FORM.sections)
SITE_NAME = "Forms"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
QUICK_EXIT_PATH = "/exit"
CLIENT_TABLES = ("client", "answer", "consent_event")
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"


def in_digits(code: str, digits: str, separator: str) -> str:
    """A return code ('4827 1930 5561 2204') typed in another script with another separator."""
    table_ = {str(n): digits[n] for n in range(10)}
    return separator.join("".join(table_[c] for c in group) for group in code.split())


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

    def begin(self, share: str | None = "yes", *, code_works: bool = True) -> str:
        """A new client who agreed to keep answers; returns their return code. With
        `code_works`, once the copy that lets the code open their record has been made (off
        the path to page 1: `intake/code_copies.py`), so the database can be read by it."""
        self.start()
        response = self.agree("yes", share)
        assert response.headers["Location"] == "/your-code", "the code comes after the yes"
        code = self.take_code()
        if code_works:
            with self.app.app_context():
                code_copies().settle(timeout=60)
        return code

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
    """A unique marker in every text question and a real choice in every choice question (the
    same answers the load and bench tools give)."""
    return dict(answers_for(section))


def typed_words(section: Section, answers: dict[str, AnswerValue]) -> list[str]:
    """What the person typed (not chose) on a page, as it is stored: trimmed."""
    return [
        str(answers[q.key]).strip()
        for q in section.questions
        if q.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT) and answers.get(q.key)
    ]


def section_at(number: int) -> Section:
    return DEFAULT_FORM.sections[number - 1]
