"""Making a client the way a person does, and reading clients back.

One type, `MadeClient`, is what every test gets back for a person it made: their phone, their
return code, their record id and what they gave on each page. `make_client` walks the pages
with a unique marker in every text box; `sent_client` writes only the name they go by.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from intake import crypto, vault
from intake.db import db_session
from intake.models import Client
from intake.vault import AnswerValue

from .database import detached_row
from .journey import PAGES, Phone, fill, section_at, typed_words

# Answers a coach does not see until the client agrees to be contacted (DESIGN.md §7).
HELD_BACK = frozenset({("contact", "details")})


@dataclass
class MadeClient:
    """A client made through the client pages: their phone, their return code, their record id
    and what they gave on each page (by page number)."""

    phone: Phone
    code: str
    id: str
    answers: dict[int, dict[str, AnswerValue]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The name they go by, as they typed it on the first page."""
        return str(self.answers[1]["name"])

    @property
    def typed(self) -> list[str]:
        """Every word they typed (not chose), page by page, as it is stored: trimmed."""
        return [
            word
            for number, page in self.answers.items()
            for word in typed_words(section_at(number), page)
        ]


def make_client(
    app: Flask,
    *,
    share: str | None = "yes",
    pages: int = PAGES,
    send: bool = True,
    extra: dict[int, dict[str, AnswerValue]] | None = None,
) -> MadeClient:
    """A person who starts, agrees to keep their answers (and, with `share`, to share them with
    a coach), fills in the first `pages` pages (a unique marker in every text box, `extra` on
    top) and, if `send`, sends them."""
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
    return MadeClient(phone, code, client_id_of(app, code), answers)


def sent_client(app: Flask, name: str) -> MadeClient:
    """A person who agreed, wrote the name they go by (and nothing else), and sent."""
    phone = Phone(app)
    code = phone.begin(share="yes")
    answers: dict[int, dict[str, AnswerValue]] = {1: {"name": name}}
    response = phone.save_page(1, answers[1])
    assert response.headers["Location"] == "/page/2"
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"
    made = MadeClient(phone, code, client_id_of(app, code), answers)
    assert client_row(app, made.id).status == "submitted"
    return made


def come_back(app: Flask, person: MadeClient) -> TestResponse:
    """The person opens Groundwork on a fresh browser and types their return code."""
    person.phone = Phone(app)
    person.phone.keep_private(person.code)
    response = person.phone.come_back(person.code)
    assert response.status_code == 302
    return response


# --- clients in the database ----------------------------------------------------------------


def client_id_of(app: Flask, code: str) -> str:
    """The record id of the client whose return code this is."""
    with app.app_context():
        digits = crypto.normalise_return_code(code)
        assert digits is not None
        found = vault.find_client(db_session(), digits, vault.KeySettings.from_config(app.config))
        assert found is not None
        return found.id


def client_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db_session().scalars(select(Client.id)))


def client_row(app: Flask, client_id: str) -> Client:
    return detached_row(app, Client, client_id)


def assign_in_database(app: Flask, client_id: str, staff_id: int | None) -> None:
    """Assign a coach (or none) straight in the database (setting the scene)."""
    with app.app_context():
        db = db_session()
        db.execute(update(Client).where(Client.id == client_id).values(assigned_coach_id=staff_id))
        db.commit()


def assignments(app: Flask) -> dict[str, int | None]:
    with app.app_context():
        return {c.id: c.assigned_coach_id for c in db_session().scalars(select(Client))}
