"""Locale selection, text direction and the names of languages in themselves (DESIGN.md §8),
the last two from CLDR: for the languages Groundwork ships, as copied into
`intake/data/languages.json` by `make translations` (`tools/languages.py`; a worker need not
load each locale's whole CLDR data for two words), for any other from Babel's CLDR.

Order: an explicit choice kept in the session → the browser's Accept-Language → the default.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import Translations
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale, gettext

from intake import translation_reviews
from intake.crypto import normalise_digits
from intake.form_definition import SOURCE_LANGUAGE
from intake.sessions import LOCALE
from intake.wording import N_, Sentence

SESSION_KEY = LOCALE

__all__ = ["normalise_digits"]


def reading_locale() -> str:
    """The language of whoever is reading now (a form's words follow it); English outside a
    request."""
    if not has_request_context():
        return SOURCE_LANGUAGE
    return str(get_locale() or current_app.config["DEFAULT_LOCALE"])


def say(sentence: Sentence) -> str:
    """A domain module's sentence in the reader's language."""
    return str(gettext(sentence.text, **sentence.params))


def shipped_locales() -> list[str]:
    return list(current_app.config["SHIPPED_LOCALES"])


_LANGUAGES = Path(__file__).resolve().parent / "data" / "languages.json"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
# Translators: shown in brackets after this language's own name in the list of languages, in
# this language, until someone who speaks it has checked the translation. Two or three words.
DRAFT_MARK = N_("draft translation")


@cache
def _copied_from_cldr() -> dict[str, dict[str, str]]:
    return json.loads(_LANGUAGES.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def from_cldr(code: str) -> dict[str, str]:
    """A language's name in itself, as a chooser shows it alone ("Français"), and its
    direction, read from Babel's CLDR (loading that locale's whole data)."""
    locale = Locale.parse(code)
    name = locale.get_display_name(code) or code
    return {
        "name": name[:1].upper() + name[1:],
        "direction": "rtl" if locale.text_direction == "rtl" else "ltr",
    }


@cache
def _language(code: str) -> dict[str, str]:
    return _copied_from_cldr().get(code) or from_cldr(code)


def language_name(code: str) -> str:
    """A language's name in itself, as a chooser shows it on its own: "Français", "العربية"."""
    return _language(code)["name"]


def language_choices() -> list[tuple[str, str]]:
    """(code, name in its own language) for every shipped locale."""
    return [(code, language_name(code)) for code in shipped_locales()]


def select_locale() -> str:
    chosen = session.get(SESSION_KEY) if session is not None else None
    if chosen in shipped_locales():
        return str(chosen)
    best = request.accept_languages.best_match(shipped_locales())
    return best or current_app.config["DEFAULT_LOCALE"]


def choose_locale(code: str) -> bool:
    """Remember a person's explicit choice of language. False if it is not shipped."""
    if code not in shipped_locales():
        return False
    session[SESSION_KEY] = code
    return True


def is_draft(locale: str) -> bool:
    """Whether nobody who speaks this language has reviewed its words as they are now
    (`translations/reviews.toml`; English, the source, never is a draft)."""
    return locale not in _reviewed(str(reviews_file()))


def reviews_file() -> Path:
    configured = current_app.config.get("TRANSLATION_REVIEWS")
    return Path(configured) if configured else TRANSLATIONS / translation_reviews.REVIEWS_FILE


@cache
def _reviewed(reviews: str) -> frozenset[str]:
    return translation_reviews.reviewed_locales(Path(reviews), TRANSLATIONS)


@cache
def draft_mark(locale: str) -> str:
    """ "draft translation" in that language's own words, for the language list."""
    return str(Translations.load(str(TRANSLATIONS), [locale]).gettext(DRAFT_MARK.text))


def draft_marks(codes: list[str]) -> dict[str, str]:
    """The mark of each of these languages that is still a draft."""
    return _draft_marks(str(reviews_file()), tuple(codes))


@cache
def _draft_marks(reviews: str, codes: tuple[str, ...]) -> dict[str, str]:
    return {code: draft_mark(code) for code in codes if code not in _reviewed(reviews)}


def text_direction(locale: str) -> str:
    return _language(locale)["direction"]
