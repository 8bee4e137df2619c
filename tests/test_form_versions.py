"""Versions that never orphan an answer (docs/forms.md).

An organisation publishes a new version of its form. Nobody half-way is moved under their
feet: they finish the version they started, in its words. People who start afterwards get the
new one. The coach reads each person's answers under the words that person saw, including a
question the new version dropped. Answers written before forms were published data still open.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from support.app import invoke
from support.clients import client_id_of, client_row
from support.journey import Phone, fill, section_at
from support.staff import StaffBrowser, assign
from support.team import Team

from intake import vault
from intake.cli import alembic_config
from intake.db import database
from intake.form_definition import FORMS_FOLDER
from intake.models import Client, PublishedForm
from intake.questionnaire import DEFAULT_FORM, FormLibrary
from intake.review import review_sections

ANSWERS_AT_0007 = Path(__file__).parent / "data" / "answers_at_0007.json"
PRONOUNS_LABEL = "Which words should we use for you?"
GREETING = {
    "en": "How should your coach greet you?",
    "fr": "Comment votre coach doit-il vous saluer ?",
}
GREETING_WHY = {
    "en": "So the first minute feels right to you.",
    "fr": "Pour que la première minute vous convienne.",
}
NEW_QUESTION = f'''
[[pages.questions]]
key = "greeting"
kind = "short_text"
[pages.questions.label]
en = "{GREETING["en"]}"
fr = "{GREETING["fr"]}"
[pages.questions.why]
en = "{GREETING_WHY["en"]}"
fr = "{GREETING_WHY["fr"]}"
'''


def second_version(tmp_path: Path) -> Path:
    """Groundwork's own form, version 2: the pronoun question gone from page 1, a greeting
    question added there, written in English and French only."""
    definition = (FORMS_FOLDER / "groundwork.toml").read_text(encoding="utf-8")
    definition = definition.replace("\nversion = 1\n", "\nversion = 2\n", 1)
    start = definition.index('[[pages.questions]]\nkey = "pronouns"\n')
    end = definition.index('[[pages.questions]]\nkey = "pronouns_other"\n')
    definition = definition[:start] + NEW_QUESTION.lstrip() + "\n" + definition[end:]
    path = tmp_path / "groundwork-2.toml"
    path.write_text(definition, encoding="utf-8")
    return path


def begin(app: Flask, lang: str = "en") -> tuple[Phone, str]:
    phone = Phone(app)
    phone.get(f"/?lang={lang}")
    code = phone.begin()
    return phone, client_id_of(app, code)


def page_text(phone: Phone, number: int) -> str:
    return phone.get(f"/page/{number}").get_data(as_text=True)


def finish_and_send(phone: Phone, first: int) -> None:
    for number in range(first, DEFAULT_FORM.page_count + 1):
        assert phone.save_page(number, fill(section_at(number))).status_code == 302
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"


def record(auth: StaffBrowser, client_id: str, lang: str = "en") -> str:
    coach = auth.sign_in("coach")
    page = coach.get(f"/clients/{client_id}", headers={"Accept-Language": lang})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_a_new_version_never_changes_the_form_under_someone_half_way(
    app: Flask, team: Team, auth: StaffBrowser, tmp_path: Path
) -> None:
    # Amina starts under version 1 and answers page 1, pronouns included.
    amina, amina_id = begin(app)
    assert PRONOUNS_LABEL in page_text(amina, 1)
    first_page = {**fill(section_at(1)), "pronouns": "she"}
    assert amina.save_page(1, first_page).status_code == 302

    published = invoke(app, "forms", "publish", str(second_version(tmp_path)))
    assert published.exit_code == 0, published.output
    assert "groundwork, version 2: 14 pages, 30 questions, in en, fr." in published.output
    assert (
        "Not offered in ar until these are written: "
        "page 1 (name), question greeting: label; page 1 (name), question greeting: why"
    ) in published.output
    assert "Published: groundwork, version 2 is live." in published.output

    # Amina carries on: still version 1, pronouns and all, and sends it.
    page = page_text(amina, 1)
    assert PRONOUNS_LABEL in page
    assert GREETING["en"] not in page
    finish_and_send(amina, first=2)

    # Bilal starts now, in French: version 2, with the greeting and without the pronouns.
    bilal, bilal_id = begin(app, "fr")
    page = page_text(bilal, 1)
    assert GREETING["fr"] in page
    assert GREETING_WHY["fr"] in page
    assert "Quels mots utiliser pour parler de vous" not in page
    bilal.save_page(1, {"name": "Bilal", "greeting": "Salam, simplement"})
    finish_and_send(bilal, first=2)

    assert (client_row(app, amina_id).form_version, client_row(app, bilal_id).form_version) == (
        1,
        2,
    )
    admin = auth.sign_in("admin")
    assign(admin, amina_id, team.ids["coach"])
    assign(admin, bilal_id, team.ids["coach"])

    # The coach reads each under the words that person saw; Amina's answer to the question
    # version 2 dropped still opens.
    amina_record = record(auth, amina_id)
    assert PRONOUNS_LABEL in amina_record
    assert "she, her" in amina_record
    assert GREETING["en"] not in amina_record
    bilal_record = record(auth, bilal_id)
    assert GREETING["en"] in bilal_record
    assert "Salam, simplement" in bilal_record
    assert PRONOUNS_LABEL not in bilal_record
    assert GREETING["fr"] in record(auth, bilal_id, "fr")

    listed = invoke(app, "forms", "list")
    assert listed.exit_code == 0, listed.output
    assert re.search(
        r"groundwork  version 2  live  \d{4}-\d\d-\d\d  14 pages  en, fr", listed.output
    )
    assert re.search(r"groundwork  version 1  earlier version  \d{4}-\d\d-\d\d", listed.output)


def test_someone_keeping_nothing_also_finishes_the_version_they_started(
    app: Flask, team: Team, tmp_path: Path
) -> None:
    phone = Phone(app)
    phone.start()
    phone.agree("no", None)
    assert PRONOUNS_LABEL in page_text(phone, 1)
    assert invoke(app, "forms", "publish", str(second_version(tmp_path))).exit_code == 0
    assert PRONOUNS_LABEL in page_text(phone, 1)
    phone.save_page(1, {"name": "Sam", "pronouns": "they"})
    # They change their mind and keep their answers: their record follows version 1.
    phone.get("/agree")
    phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    with database(app).sessions() as db:
        (client,) = db.scalars(select(Client))
        assert (client.form_id, client.form_version) == ("groundwork", 1)


def test_a_version_is_published_once_and_only_forwards(app: Flask, tmp_path: Path) -> None:
    again = invoke(app, "forms", "publish", str(FORMS_FOLDER / "groundwork.toml"))
    assert again.exit_code == 1
    assert "version 1 of 'groundwork' is already published" in again.output
    assert "number this one 2" in again.output
    assert invoke(app, "forms", "publish", str(second_version(tmp_path))).exit_code == 0
    repeated = invoke(app, "forms", "publish", str(second_version(tmp_path)))
    assert repeated.exit_code == 1
    assert "number this one 3" in repeated.output
    with database(app).sessions() as db:
        versions = db.scalars(select(PublishedForm.version).order_by(PublishedForm.version))
        assert list(versions) == [1, 2], "publishing keeps the version people were half-way in"


def test_the_words_a_person_saw_are_kept_even_if_the_shipped_file_changes(
    app: Flask, team: Team, tmp_path: Path
) -> None:
    """A later release of Groundwork that edits its own form file never rewrites what someone
    was shown: the words are stored when the first person starts."""
    begin(app)
    edited = tmp_path / "forms"
    edited.mkdir()
    (edited / "common.toml").write_text((FORMS_FOLDER / "common.toml").read_text("utf-8"), "utf-8")
    (edited / "groundwork.toml").write_text(
        (FORMS_FOLDER / "groundwork.toml")
        .read_text("utf-8")
        .replace(PRONOUNS_LABEL, "Which pronouns do you use?"),
        "utf-8",
    )
    with database(app).sessions() as db:
        kept = FormLibrary(edited).form(db, "groundwork", 1)
    assert str(kept.sections[0].asked[1].label.in_language("en")) == PRONOUNS_LABEL


# --- answers written before this release ---------------------------------------------------


@pytest.mark.once
def test_answers_written_at_migration_0007_open_after_the_upgrade(tmp_path: Path) -> None:
    """Answers as Groundwork wrote them before forms were published data (one from before forms
    were data at all, one under the form's first version), frozen in tests/data, still open
    after the database is upgraded, under Groundwork's own form's words."""
    frozen = json.loads(ANSWERS_AT_0007.read_text("utf-8"))
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(
            text(
                "INSERT INTO client (id, status, locale, created_at, updated_at) "
                "VALUES (:id, 'submitted', 'en', '2026-11-01 10:00:00', '2026-11-01 10:00:00')"
            ),
            {"id": frozen["client_id"]},
        )
        for number, row in enumerate(frozen["answers"], start=1):
            connection.execute(
                text(
                    "INSERT INTO answer (id, client_id, section_key, version, schema_version, "
                    "form_id, form_version, ciphertext, created_at, updated_at) VALUES (:n, "
                    ":client, :key, 1, :schema, :form_id, :form_version, :ct, "
                    "'2026-11-01 10:00:00', '2026-11-01 10:00:00')"
                ),
                {
                    "n": number,
                    "client": frozen["client_id"],
                    "key": row["section_key"],
                    "schema": row["schema_version"],
                    "form_id": row["form_id"],
                    "form_version": row["form_version"],
                    "ct": base64.b64decode(row["ciphertext"]),
                },
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine) as db:
        client = db.get(Client, frozen["client_id"])
        assert client is not None
        assert (client.form_id, client.form_version) == (None, None)
        opened = vault.read_sections(db, client, bytes.fromhex(frozen["data_key"]))
        assert {key: s.fields for key, s in opened.items()} == {
            row["section_key"]: row["fields"] for row in frozen["answers"]
        }
        library = FormLibrary()
        form = library.form(db, client.form_id, client.form_version)
        assert form is DEFAULT_FORM
        shown = review_sections(form, opened)
        answers = {a.question.key: a.text for s in shown for a in s.answers if a.text}
        assert answers == {"name": "Amina", "pronouns": "she, her", "languages": "Tigrinya, Arabic"}
    engine.dispose()


def test_the_chooser_offers_the_languages_the_form_is_written_in(
    app: Flask, team: Team, tmp_path: Path
) -> None:
    """Version 2 is written in English and French only: someone starting it is offered those
    two, and a person reading Arabic is told the questions are in English (a phone's voice
    reads each question in the language of its words). Someone who started version 1 is still
    offered all six."""
    early = Phone(app)
    early.begin()
    assert invoke(app, "forms", "publish", str(second_version(tmp_path))).exit_code == 0
    phone = Phone(app)
    phone.get("/?lang=ar")
    phone.begin()
    page = page_text(phone, 1)
    chooser = re.findall(r'<a href="\?lang=(\w+)"', page)
    assert chooser == ["en", "fr"]
    assert "هذه الأسئلة غير مكتوبة بلغتك بعد. تراها بالإنجليزية." in page
    assert GREETING["en"] in page
    spoken_in = re.findall(r'data-listen="(\w+)">\s*<label for="(\w+)"', page)
    assert spoken_in == [("ar", "name"), ("en", "greeting"), ("ar", "pronouns_other")]
    french = phone.get("/page/1?lang=fr").get_data(as_text=True)
    assert GREETING["fr"] in french
    assert set(re.findall(r'data-listen="(\w+)"', french)) == {"fr"}
    assert "Ces questions ne sont pas encore écrites" not in french

    on_version_1 = re.findall(r'<a href="\?lang=(\w+)"', page_text(early, 1))
    assert on_version_1 == ["en", "ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb"]
