"""Consent: the receipts a person downloads, the words they were shown (read from the page,
to compare with the fingerprint on their receipt), and the append-only ledger as someone with
write access to the database would attack it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser

from flask import Flask
from sqlalchemy import select, text
from werkzeug.test import TestResponse

from intake.db import database, db_session
from intake.models import ConsentEvent

from .journey import PAGES, Phone, section_at

CONTACT_PAGE = next(n for n in range(1, PAGES + 1) if section_at(n).consent_purpose == "contact")


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


def label(app: Flask, table: str, code: str) -> str:
    """The English words a page shows for a stored code (a purpose, decision or actor)."""
    from intake import labels

    with app.test_request_context():
        return str(getattr(labels, table)[code])
