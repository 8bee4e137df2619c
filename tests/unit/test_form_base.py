"""WTForms' own messages (staff forms use its "required" and "length" checks) reach each
person in their language, from catalogs read once per process rather than once per request."""

from __future__ import annotations

import pytest
from flask import Flask
from wtforms import TextAreaField
from wtforms.validators import InputRequired

from intake.form_base import GroundworkForm, wtforms_translations


class NeedsANote(GroundworkForm):
    note = TextAreaField(validators=[InputRequired()])


def errors_in(app: Flask, language: str) -> list[str]:
    with app.test_request_context(
        "/", method="POST", data={"note": ""}, headers={"Accept-Language": language}
    ):
        form = NeedsANote(meta={"csrf": False})
        assert not form.validate()
        return list(form.note.errors)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "This field is required."),
        ("fr", "Ce champ est requis."),
        ("uk", "Це поле є обов'язковим."),
    ],
)
def test_a_required_field_says_so_in_the_readers_language(
    app: Flask, language: str, message: str
) -> None:
    assert errors_in(app, language) == [message]


def test_each_language_is_read_from_disk_once(app: Flask) -> None:
    errors_in(app, "es")
    read_before = wtforms_translations.cache_info().misses
    for _ in range(5):
        errors_in(app, "es")
    assert wtforms_translations.cache_info().misses == read_before
