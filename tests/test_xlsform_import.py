"""XLSForm import (`flask forms import`): a form written the way Kobo users write one — three
languages, groups, a choice filter, a `relevant` Groundwork can follow and one it cannot, a
required question, rows of types Groundwork has not — becomes a definition. Everything that
could not be carried over is named with its sheet and row; the form then publishes and a person
fills it in, in Arabic, with the conditional question shown only when it applies."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema_rs
import pytest
from flask import Flask
from support.app import invoke
from support.journey import Phone
from support.team import Team
from support.xlsforms import kobo_form

from intake.form_definition import Kind, read_form
from intake.xlsform import ImportRefused, import_xlsform

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "form.schema.json"


def test_an_xlsform_is_mapped_and_what_does_not_fit_is_named_by_row(tmp_path: Path) -> None:
    imported = import_xlsform(kobo_form(tmp_path), "welcome.xlsx")
    assert imported.not_mapped == (
        "survey row 9 (worries): relevant \"${interpreter} = 'yes' and ${country} = 'fr'\" is "
        "not mapped (only ${question} = 'choice' is); the question is always shown",
        "survey row 13 (city): choice_filter 'country=${country}' is not mapped; every choice "
        "is offered",
        "survey row 14 (gps): geopoint is not mapped (a question type Groundwork has not); "
        "left out",
        "survey row 15 (score): calculate is not mapped (a question type Groundwork has not); "
        "left out",
    )
    assert imported.warnings == (
        "survey row 3 (name): required in the XLSForm; nothing is required in Groundwork, so "
        "it is optional",
    )
    schema = json.loads(SCHEMA.read_text("utf-8"))
    problems = jsonschema_rs.validator_for(schema).iter_errors(tomllib.loads(imported.definition))
    assert [problem.message for problem in problems] == [], "the published schema agrees"
    definition = tmp_path / "welcome.toml"
    definition.write_text(imported.definition, encoding="utf-8")
    form = read_form(definition)
    assert (form.id, form.version, form.languages) == ("welcome_form", 202612, ("en", "fr", "ar"))
    assert [s.key for s in form.sections] == ["about", "talking", "place"]
    about, talking, place = form.sections
    assert [(q.key, q.kind) for q in about.questions] == [
        ("name", Kind.SHORT_TEXT),
        ("interpreter", Kind.ONE_CHOICE),
        ("skip_note", Kind.NOTE),
    ]
    assert about.heading.in_language("ar") == "عنك"
    assert about.questions[0].why.in_language("fr") == "Pour bien vous saluer."
    assert [key for key, _words in about.questions[1].choices] == ["yes", "no", "rather_not_say"]
    language, worries = talking.questions
    assert language.shown_if is not None
    assert (language.shown_if.page, language.shown_if.question, language.shown_if.is_) == (
        "about",
        "interpreter",
        "yes",
    )
    assert worries.kind == Kind.LONG_TEXT
    assert worries.shown_if is None
    assert [q.key for q in place.questions] == ["country", "city"]


def test_a_workbook_pyxform_cannot_read_is_refused_with_its_reason(tmp_path: Path) -> None:
    path = kobo_form(tmp_path)
    broken = path.read_bytes()[: len(path.read_bytes()) // 2]
    with pytest.raises(ImportRefused) as refused:
        import_xlsform(broken, "welcome.xlsx")
    assert refused.value.problems[0].startswith("welcome.xlsx: ")


def test_flask_forms_import_writes_a_definition_that_publishes(
    app: Flask, team: Team, tmp_path: Path
) -> None:
    out = tmp_path / "welcome.toml"
    result = invoke(app, "forms", "import", str(kobo_form(tmp_path)), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Not mapped: survey row 14 (gps): geopoint is not mapped" in result.output
    assert "Changed: survey row 3 (name): required in the XLSForm" in result.output
    assert "welcome_form, version 202612: 3 pages, 6 questions, in en, fr, ar." in result.output
    assert f"Written to {out}" in result.output
    published = invoke(app, "forms", "publish", str(out))
    assert published.exit_code == 0, published.output


def test_a_question_shown_only_if_an_earlier_answer_applies(
    app: Flask, team: Team, tmp_path: Path
) -> None:
    """The imported form as the default: a person in Arabic sees "which language?" only when
    they said yes to an interpreter on the page before."""
    out = tmp_path / "welcome.toml"
    assert (
        invoke(app, "forms", "import", str(kobo_form(tmp_path)), "--out", str(out)).exit_code == 0
    )
    text = out.read_text("utf-8").replace('id = "welcome_form"', 'id = "groundwork"')
    text = text.replace("version = 202612", "version = 2")
    out.write_text(text, "utf-8")
    assert invoke(app, "forms", "publish", str(out)).exit_code == 0
    phone = Phone(app)
    phone.get("/?lang=ar")
    phone.begin()
    first = phone.get("/page/1").get_data(as_text=True)
    assert "هل تريد مترجماً؟" in first
    assert "يمكنك تخطي أي سؤال." in first, "the note is on the page"
    phone.post("/page/1", {"name": "Noor", "interpreter": "no", "action": "continue"})
    assert "أي لغة؟" not in phone.get("/page/2").get_data(as_text=True)
    phone.post("/page/1", {"name": "Noor", "interpreter": "yes", "action": "continue"})
    assert "أي لغة؟" in phone.get("/page/2").get_data(as_text=True)


def test_recordings_in_an_xlsform_are_named_for_each_language(tmp_path: Path) -> None:
    media = {
        "name": {
            "media::audio::Arabic (ar)": "name-ar.mp3",
            "media::audio::English (en)": "name-en.mp3",
            "media::image": "face.png",
        },
        "interpreter": {"media::audio": "interpreter.ogg"},
    }
    imported = import_xlsform(kobo_form(tmp_path, media), "welcome.xlsx")
    assert "survey row 3 (name): media::image is not mapped" in imported.not_mapped
    assert not any("audio" in line for line in imported.not_mapped), imported.not_mapped
    schema = json.loads(SCHEMA.read_text("utf-8"))
    problems = jsonschema_rs.validator_for(schema).iter_errors(tomllib.loads(imported.definition))
    assert [problem.message for problem in problems] == [], "the published schema agrees"
    definition = tmp_path / "welcome.toml"
    definition.write_text(imported.definition, encoding="utf-8")
    name, interpreter, _note = read_form(definition).sections[0].questions
    assert dict(name.recordings.label) == {"ar": "name-ar.mp3", "en": "name-en.mp3"}
    assert dict(interpreter.recordings.label) == {"en": "interpreter.ogg"}, "no language: English"
    assert dict(name.recordings.why) == {}
