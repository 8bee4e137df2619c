"""The printed referral card can be used: it says where to type the code, and its key lines
are in English too (DESIGN.md §1, §8).

A caseworker makes a referral and prints the card in the person's language. The card prints
the code and the short address to type it at (the host and the path of the code page, from
PUBLIC_URL), left to right in every language; when the card is not in English, its key lines
follow in English, in one block marked lang="en". The caseworker is told, where they write the
note, that the person can read the note. How the card looks on a phone and on an A6 sheet is
tested in a real browser (tests/browser/test_referral_card.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from support.app import settings_for
from support.referrals import NewReferral, refer
from support.staff import StaffBrowser
from support.team import Team, make_team

from config import ConfigurationError
from intake import create_app
from intake.db import database

PUBLIC = "https://forms.example.org/"
ORG = "Test charity"
ARABIC = re.compile(r"[\u0600-\u06ff]")
NOTE_READER = "The person can read this note in their own record."


def words_of(markup: str) -> str:
    """What a reader sees: the tags gone, the spaces as one."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup.replace("<wbr>", ""))).split())


def sheet_of(made: NewReferral) -> str:
    """The printed card and what follows it on the page."""
    found = re.search(r'<div class="referral-sheet">(.*)</main>', made.page, re.S)
    assert found, "no card on the page"
    return found.group(1)


def address_on(card: str) -> str:
    found = re.search(r'<p class="address" dir="ltr"><bdi>(.*?)</bdi></p>', card, re.S)
    assert found, card
    return words_of(found.group(1))


@contextmanager
def app_with(database_url: str, instance_path: Path, **extra: object) -> Iterator[Flask]:
    """An app of its own, with settings the `app` fixture does not have."""
    application = create_app(settings_for(database_url, **extra), instance_path=str(instance_path))
    try:
        yield application
    finally:
        database(application).engine.dispose()


def translated_part(sheet: str) -> tuple[dict[str, str], str]:
    found = re.search(r'<section class="referral-card"([^>]*)>(.*?)</section>', sheet, re.S)
    assert found, "no card in the person's language"
    return dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))), found.group(2)


def english_part(sheet: str) -> tuple[dict[str, str], str] | None:
    found = re.search(r'<div class="in-english"([^>]*)>(.*?)</div>', sheet, re.S)
    if found is None:
        return None
    return dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))), found.group(2)


@pytest.fixture
def settings(settings: dict[str, object]) -> dict[str, object]:
    """The shared settings, on a public address."""
    return {**settings, "PUBLIC_URL": PUBLIC}


def test_the_card_prints_the_short_address_to_type_and_the_code(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    made = refer(auth.sign_in("partner"), locale="en")
    sheet = sheet_of(made)
    _attributes, card = translated_part(sheet)
    assert "Or open the website and type this code:" in words_of(card)
    # The host and the path of the code page, no https://, on a left-to-right line of its own.
    assert address_on(card) == "forms.example.org/referral-code"
    assert f"<bdi>{made.code}</bdi>" in card
    # The square leads to the same public address.
    assert made.link.startswith("https://forms.example.org/r/"), made.link
    # An English card is not printed twice.
    assert english_part(sheet) is None
    assert sheet.count("An invitation to coaching") == 1


def test_an_arabic_card_has_its_key_lines_in_english_too(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    made = refer(auth.sign_in("partner"), locale="ar")
    sheet = sheet_of(made)
    attributes, card = translated_part(sheet)
    assert (attributes["lang"], attributes["dir"]) == ("ar", "rtl")
    assert ARABIC.search(words_of(card)), "no Arabic on the Arabic card"
    assert "An invitation to coaching" not in card
    # The address and the code read left to right inside the right-to-left card.
    assert address_on(card) == "forms.example.org/referral-code"
    assert f'<p class="code" dir="ltr"><bdi>{made.code}</bdi></p>' in card

    found = english_part(sheet)
    assert found, "no English lines on the Arabic card"
    english_attributes, english = found
    assert (english_attributes["lang"], english_attributes["dir"]) == ("en", "ltr")
    words = words_of(english)
    assert not ARABIC.search(words), words
    for line in (
        "An invitation to coaching",
        f"{ORG} thinks coaching could help you. It is free, and it is your choice.",
        "Or open the website and type this code:",
        f"forms.example.org/referral-code {made.code}",
    ):
        assert line in words, line
    assert re.search(r"It works once, until \d{1,2} [A-Z][a-z]+ \d{4}\.", words), words
    # One card: the English lines are inside the same sheet, after the Arabic ones.
    assert sheet.index("</section>") < sheet.index('<div class="in-english"')


def test_without_public_url_the_card_shows_the_address_the_page_was_opened_at(
    database_url: str, instance_path: Path
) -> None:
    with app_with(database_url, instance_path) as app:
        made = refer(StaffBrowser(app, make_team(app)).sign_in("partner"), locale="fr")
    _attributes, card = translated_part(sheet_of(made))
    assert address_on(card) == "localhost/referral-code"
    assert made.link.startswith("http://localhost/r/"), made.link


def test_a_public_url_with_a_path_keeps_it_and_its_host_is_written_small(
    database_url: str, instance_path: Path
) -> None:
    with app_with(
        database_url, instance_path, PUBLIC_URL="https://Coaching.Example.org/forms"
    ) as app:
        made = refer(StaffBrowser(app, make_team(app)).sign_in("partner"), locale="uk")
    _attributes, card = translated_part(sheet_of(made))
    assert address_on(card) == "coaching.example.org/forms/referral-code"
    assert made.link.startswith("https://Coaching.Example.org/forms/r/"), made.link


def test_the_caseworker_is_told_the_person_can_read_the_note(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    page = auth.sign_in("partner").get("/partner/referrals/new").get_data(as_text=True)
    hint = re.search(r'<p class="hint" id="note-hint">(.*?)</p>', page, re.S)
    assert hint, "no hint by the note"
    assert NOTE_READER in words_of(hint.group(1))
    assert 'aria-describedby="note-hint"' in page


@pytest.mark.parametrize(
    ("value", "env"),
    [
        ("forms.example.org", "testing"),
        ("ftp://forms.example.org", "testing"),
        ("https://forms.example.org/?from=card", "testing"),
        ("http://forms.example.org", "production"),
    ],
)
def test_a_public_url_people_could_not_open_is_refused_at_start(
    database_url: str, instance_path: Path, value: str, env: str
) -> None:
    with (
        pytest.raises(ConfigurationError) as refused,
        app_with(database_url, instance_path, PUBLIC_URL=value, ENV=env),
    ):
        pass
    assert "PUBLIC_URL" in refused.value.message
    assert "https://forms.example.org" in refused.value.message


def test_production_without_public_url_does_not_start(
    database_url: str, instance_path: Path
) -> None:
    """Cards, invitations and API links are built on PUBLIC_URL, never on a request's Host."""
    with (
        pytest.raises(ConfigurationError) as refused,
        app_with(database_url, instance_path, ENV="production"),
    ):
        pass
    assert "PUBLIC_URL is not set" in refused.value.message
