"""`flask forms check`: an organisation learns whether a form can be published, and what to
fix, before anyone fills it in. Nothing is written to the database either way."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from support.app import invoke

from intake.form_definition import FORMS_FOLDER


def test_groundworks_own_form_can_be_published(app: Flask) -> None:
    result = invoke(app, "forms", "check", str(FORMS_FOLDER / "groundwork.toml"))
    assert result.exit_code == 0, result.output
    languages = "en, ar, fa, uk, fr, es, ps, ti, so, ckb"
    assert f"groundwork, version 1: 14 pages, 30 questions, in {languages}." in result.output
    assert "The hardest English to read (reading grade, plain up to 6):" in result.output
    assert 'question must_not_know: label: "must"' in result.output


def test_a_form_with_mistakes_is_refused_with_each_one_named(app: Flask, tmp_path: Path) -> None:
    definition = tmp_path / "youth.toml"
    definition.write_text(
        'format = 1\nid = "youth"\nversion = 1\nlanguages = ["en", "fr"]\n\n'
        '[[pages]]\nkey = "about"\n'
        'heading = { en = "About you", fr = "Vous" }\nintro = { fr = "Bonjour." }\n',
        encoding="utf-8",
    )
    result = invoke(app, "forms", "check", str(definition))
    assert result.exit_code == 1
    assert "youth.toml: page 1 (about): intro is missing in en" in result.output
    assert "1 problem: it cannot be published yet." in result.output


def test_a_language_with_words_missing_is_named_with_them(app: Flask, tmp_path: Path) -> None:
    definition = tmp_path / "youth.toml"
    definition.write_text(
        'format = 1\nid = "youth"\nversion = 1\nlanguages = ["en", "fr"]\n\n'
        '[[pages]]\nkey = "about"\n'
        'heading = { en = "About you", fr = "Vous" }\nintro = { en = "Hello." }\n',
        encoding="utf-8",
    )
    result = invoke(app, "forms", "check", str(definition))
    assert result.exit_code == 0, result.output
    assert "youth, version 1: 1 page, 0 questions, in en. It can be published." in result.output
    assert "Not offered in fr until these are written: page 1 (about): intro" in result.output
