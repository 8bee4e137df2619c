"""Locale selection, text direction and the names of languages in themselves (DESIGN.md §8).

Order: an explicit choice kept in the session → the browser's Accept-Language → the default.
"""

from __future__ import annotations

from flask import current_app, request, session

from intake.crypto import normalise_digits
from intake.sessions import LOCALE

LANGUAGE_NAMES = {
    "en": "English",
    "ar": "العربية",
    "fa": "فارسی",
    "uk": "Українська",
    "fr": "Français",
    "es": "Español",
}
RIGHT_TO_LEFT = frozenset({"ar", "fa", "ps", "ur", "he", "ckb"})
SESSION_KEY = LOCALE

__all__ = ["normalise_digits"]


def shipped_locales() -> list[str]:
    return list(current_app.config["SHIPPED_LOCALES"])


def language_choices() -> list[tuple[str, str]]:
    """(code, name in its own language) for every shipped locale."""
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in shipped_locales()]


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


def text_direction(locale: str) -> str:
    return "rtl" if locale.split("_")[0] in RIGHT_TO_LEFT else "ltr"
