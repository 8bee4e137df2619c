"""Helpers for the staff-workspace tests (test_authorization.py, test_coach_pages_escape.py).

Staff sign in through the real two-step pages, on as many browsers as a test needs. Clients are
made the way real people make them: through the client pages on a `Phone`. Pages are read the
way a browser reads them: `Tree` keeps, for every piece of text, the elements it sits in, so a
test can say "this answer is inside a <bdi>", not only "this string is somewhere in the page".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from conftest import PASSWORDS, Team, csrf
from flask import Flask
from flask.testing import FlaskClient
from journey_helpers import Phone, fill, typed_words
from sqlalchemy import func, inspect, select, text, update

from intake.db import database, db_session
from intake.models import AccessEvent, Client, SessionRecord, StaffUser
from intake.questionnaire import SECTIONS
from intake.vault import AnswerValue

SIGN_IN_PATH = "/staff/sign-in"
GENERIC_REFUSAL = "We could not sign you in. Check your details and try again."
VOID_ELEMENTS = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")
)
# Answers a coach does not see until the client agrees to be contacted (DESIGN.md §7).
HELD_BACK = frozenset({("contact", "details")})
# Characters that change the direction of the text after them until they are closed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# --- staff --------------------------------------------------------------------------------


def sign_in_as(team: Team, browser: FlaskClient, username: str) -> None:
    """Sign a team member in on this browser through the password and 6-digit-code pages."""
    team.forget_used_codes(username)
    first = browser.post(
        SIGN_IN_PATH,
        data={
            "username": username,
            "password": PASSWORDS[username],
            "csrf_token": csrf(browser, SIGN_IN_PATH),
        },
    )
    assert first.status_code == 302, first.get_data(as_text=True)
    second = browser.post(
        "/staff/two-factor",
        data={"code": team.code(username), "csrf_token": csrf(browser, "/staff/two-factor")},
    )
    assert second.status_code == 302, second.get_data(as_text=True)


def browser_as(app: Flask, team: Team, username: str | None) -> FlaskClient:
    """A new browser, signed in as `username` (or nobody)."""
    browser = app.test_client()
    if username is not None:
        sign_in_as(team, browser, username)
    return browser


def staff_row(app: Flask, staff_id: int) -> StaffUser:
    with app.app_context():
        db = db_session()
        member = db.get(StaffUser, staff_id)
        assert member is not None
        db.expunge(member)
        return member


def session_rows_of(app: Flask, staff_id: int) -> int:
    with app.app_context():
        return int(
            db_session().scalar(
                select(func.count())
                .select_from(SessionRecord)
                .where(SessionRecord.staff_id == staff_id)
            )
            or 0
        )


# --- clients ------------------------------------------------------------------------------


@dataclass
class MadeClient:
    """A client made through the client pages, and every word they typed."""

    id: str
    phone: Phone
    answers: dict[str, dict[str, AnswerValue]] = field(default_factory=dict)

    @property
    def typed(self) -> list[str]:
        return [
            word
            for section in SECTIONS
            if section.key in self.answers
            for word in typed_words(section, self.answers[section.key])
        ]


def client_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db_session().scalars(select(Client.id)))


def make_client(app: Flask, *, send: bool = True) -> MadeClient:
    """A person who starts, agrees, fills in every page with markers and, unless `send` is
    False, sends. Returns them with their new client id."""
    before = client_ids(app)
    phone = Phone(app)
    phone.begin(share="yes")
    given: dict[str, dict[str, AnswerValue]] = {}
    for number, section in enumerate(SECTIONS, 1):
        page = fill(section)
        phone.save_page(number, page)
        given[section.key] = page
    if send:
        phone.get("/check")
        assert phone.post("/send", {}).headers["Location"] == "/sent"
    (new_id,) = client_ids(app) - before
    return MadeClient(new_id, phone, given)


def assign_in_database(app: Flask, client_id: str, staff_id: int | None) -> None:
    with app.app_context():
        db = db_session()
        db.execute(update(Client).where(Client.id == client_id).values(assigned_coach_id=staff_id))
        db.commit()


def assignments(app: Flask) -> dict[str, int | None]:
    with app.app_context():
        return {c.id: c.assigned_coach_id for c in db_session().scalars(select(Client))}


def database_state(app: Flask) -> dict[str, list[str]]:
    """Every row of every table but the sessions (which note each request), as text: what a
    request changed, if anything."""
    with app.app_context():
        engine = database(app).engine
        quote = engine.dialect.identifier_preparer.quote
        state = {}
        with engine.connect() as connection:
            for name in sorted(inspect(engine).get_table_names()):
                if name in ("session_record", "alembic_version"):
                    continue
                rows = connection.execute(text(f"SELECT * FROM {quote(name)}"))  # noqa: S608
                state[name] = sorted(repr(tuple(row)) for row in rows)
        return state


def access_events(app: Flask) -> list[tuple[int | None, str, str]]:
    """Every access-log entry, oldest first: (staff id, client id, action)."""
    with app.app_context():
        return [
            (e.staff_id, e.client_id, e.action)
            for e in db_session().scalars(select(AccessEvent).order_by(AccessEvent.id))
        ]


# --- reading pages ------------------------------------------------------------------------


def without_csrf_tokens(body: str) -> str:
    """A page with its CSRF token values blanked: they differ on every request by design."""
    return re.sub(r'(name="csrf_token"[^>]*?value=")[^"]*(")', r"\1\2", body)


@dataclass(frozen=True)
class Text:
    """One run of text and the elements it sits in, outermost first."""

    text: str
    stack: tuple[str, ...]

    @property
    def parent(self) -> str:
        return self.stack[-1] if self.stack else ""


class Tree(HTMLParser):
    """A page as a browser builds it: every element, and every run of text with its parents.

    `pairs` lists each <dt> with the text runs of the <dd> after it (as a definition list
    shows a question and its answer)."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.markup = markup
        self.texts: list[Text] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.pairs: list[tuple[str, list[Text]]] = []
        self._stack: list[str] = []
        self._pending: list[str] = []
        self._dt: list[str] | None = None
        self._dd: list[Text] | None = None
        self._dd_depth = 0
        self._last_dt = ""
        self.feed(markup)
        self.close()
        self._flush()

    def _flush(self) -> None:
        """One run of text ends where an element starts or ends."""
        data, self._pending = "".join(self._pending), []
        if self._dt is not None:
            self._dt.append(data)
        if not data.strip():
            return
        stack = tuple(self._stack)
        self.texts.append(Text(data, stack))
        if self._dd is not None:
            self._dd.append(Text(data, stack[self._dd_depth :]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self.elements.append((tag, dict(attrs)))
        if tag in VOID_ELEMENTS:
            return
        self._stack.append(tag)
        if tag == "dt":
            self._dt = []
        elif tag == "dd":
            self._dd, self._dd_depth = [], len(self._stack)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._flush()
        if tag in VOID_ELEMENTS:
            return
        assert tag in self._stack, f"</{tag}> closes nothing: the page is not well formed"
        while self._stack:
            if self._stack.pop() == tag:
                break
        if tag == "dt" and self._dt is not None:
            self._last_dt = " ".join("".join(self._dt).split())
            self._dt = None
        elif tag == "dd" and self._dd is not None:
            self.pairs.append((self._last_dt, self._dd))
            self._dd = None

    def handle_data(self, data: str) -> None:
        self._pending.append(data)

    # what a test asks

    def tags(self) -> set[str]:
        return {tag for tag, _attrs in self.elements}

    def event_handler_attributes(self) -> list[str]:
        """on* attributes, and javascript: addresses a browser would follow, anywhere."""
        found = []
        for tag, attrs in self.elements:
            for name, value in attrs.items():
                if name.startswith("on"):
                    found.append(f"<{tag} {name}>")
                followed = name in ("href", "src", "action", "formaction", "data", "srcdoc")
                if followed and value and value.strip().lower().startswith("javascript:"):
                    found.append(f"<{tag} {name}=javascript:>")
        return found

    def inline_scripts(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == "script" and not attrs.get("src")]

    def stylesheets(self) -> list[str]:
        return [
            attrs.get("href") or ""
            for tag, attrs in self.elements
            if tag == "link" and attrs.get("rel") == "stylesheet"
        ]

    def answers_to(self, label: str) -> list[list[Text]]:
        """The <dd> text runs of every <dt> that reads `label`."""
        return [runs for dt, runs in self.pairs if dt == label]

    def texts_with(self, fragment: str) -> list[Text]:
        return [t for t in self.texts if fragment in t.text]
