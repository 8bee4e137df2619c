"""Groundwork's own form reads exactly as it did when its questions were Python, and its safety
card (also in the definition) reaches the coach first, in the coach's language.

Every question page, empty and answered, and the "check your answers" page are rendered in every
shipped language and compared with fingerprints taken from the form as it was before it became
data (`tests/data/default_form_pages.json`): the same words and the same markup, byte for byte,
once the parts that change on every request (tokens, nonces) are set aside and character
references are read. A change to
the default form's words or to a client page's markup shows here; when it is meant, take the
fingerprints again: `TAKE_FINGERPRINTS=1 pytest tests/test_default_form.py -p no:xdist`.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from pathlib import Path

import pytest
from flask import Flask
from support.clients import make_client
from support.journey import Phone
from support.staff import StaffBrowser, assign
from support.team import Team

from intake.questionnaire import DEFAULT_FORM, Kind

FINGERPRINTS = Path(__file__).resolve().parent / "data" / "default_form_pages.json"
LOCALES = ("en", "ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb")
CHANGING = (
    (re.compile(r'name="csrf_token" type="hidden" value="[^"]*"'), 'name="csrf_token"'),
    (re.compile(r'value="[^"]*" name="csrf_token"'), 'name="csrf_token"'),
    (re.compile(r'nonce="[^"]*"'), 'nonce=""'),
)


def answers_for(number: int) -> dict[str, str | list[str]]:
    """The same answers every time: a fixed sentence in each text box, the first choice, and
    the first two of many."""
    answers: dict[str, str | list[str]] = {}
    for question in DEFAULT_FORM.sections[number - 1].questions:
        keys = [key for key, _label in question.choices]
        if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
            answers[question.key] = f"Answer to {question.key}"
        elif question.kind == Kind.ONE_CHOICE:
            answers[question.key] = keys[0]
        else:
            answers[question.key] = keys[:2]
    return answers


def normalised(markup: str) -> str:
    """The page without what changes on every request, and with character references read (a
    form's words are escaped where the catalog's were trusted: `I&#39;d` is the same `I'd`)."""
    for pattern, replacement in CHANGING:
        markup = pattern.sub(replacement, markup)
    return html.unescape(markup)


def rendered_pages(app: Flask, locale: str) -> dict[str, str]:
    phone = Phone(app)
    phone.get(f"/?lang={locale}")
    phone.get("/agree")
    phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    phone.get("/your-code")
    phone.post("/your-code", {"saved": "y"})
    pages = {}
    for number in range(1, len(DEFAULT_FORM.sections) + 1):
        pages[f"/page/{number} (empty)"] = phone.get(f"/page/{number}").get_data(as_text=True)
        phone.post(f"/page/{number}", {**answers_for(number), "action": "continue"})
        pages[f"/page/{number} (answered)"] = phone.get(f"/page/{number}").get_data(as_text=True)
    pages["/check"] = phone.get("/check").get_data(as_text=True)
    return {path: normalised(markup) for path, markup in pages.items()}


def fingerprint(markup: str) -> str:
    return hashlib.sha256(markup.encode()).hexdigest()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_of_the_default_form_reads_as_before(
    app: Flask, team: object, locale: str, tmp_path: Path
) -> None:
    pages = rendered_pages(app, locale)
    if os.environ.get("TAKE_FINGERPRINTS") == "1":
        taken = json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.exists() else {}
        taken[locale] = {path: fingerprint(markup) for path, markup in sorted(pages.items())}
        FINGERPRINTS.write_text(json.dumps(taken, indent=1, sort_keys=True) + "\n")
    expected = json.loads(FINGERPRINTS.read_text())[locale]
    assert "Answer to name" in pages["/page/1 (answered)"], "the answers were saved and shown"
    assert "Answer to name" in pages["/check"]
    assert sorted(pages) == sorted(expected)
    changed = [path for path, markup in pages.items() if fingerprint(markup) != expected[path]]
    for path in changed:
        (tmp_path / (re.sub(r"\W+", "_", path) + ".html")).write_text(pages[path])
    assert changed == [], f"{locale}: these pages changed (as rendered now: {tmp_path})"


@pytest.mark.parametrize(
    ("locale", "first_line"),
    [("en", "Topics not to raise"), ("fr", "Sujets à ne pas aborder")],
)
def test_the_coach_reads_the_safety_card_first_in_their_own_language(
    app: Flask, team: Team, auth: StaffBrowser, locale: str, first_line: str
) -> None:
    """The safety card comes from the form's definition: its lines in the coach's language,
    each with the person's answer, before anything else of theirs."""
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    page = coach.get(f"/clients/{person.id}", headers={"Accept-Language": locale})
    assert page.status_code == 200
    markup = page.get_data(as_text=True)
    avoid = person.answers[DEFAULT_FORM.page_number("margins")]["avoid_topics"]
    assert isinstance(avoid, str)
    first_page_heading = DEFAULT_FORM.sections[0].heading.in_language(locale)
    assert markup.index(first_line) < markup.index(avoid) < markup.index(first_page_heading)
