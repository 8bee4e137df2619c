"""The consent texts as the person reads them: loaded from the repository once per process,
and chosen in the person's language."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import IntegrityError

from intake import consent, i18n
from intake.db import db_session
from intake.models import ConsentText

_LOADED = "groundwork.consent_texts_loaded"


def ensure_loaded() -> None:
    """Publish any text that is new in the repository (once per process)."""
    if current_app.extensions.get(_LOADED):
        return
    db = db_session()
    try:
        consent.sync_texts(db)
        db.commit()
    except IntegrityError:  # another process published the same texts at the same moment
        db.rollback()
    current_app.extensions[_LOADED] = True


def text_for(purpose: str) -> ConsentText:
    ensure_loaded()
    return consent.current_text(db_session(), purpose, i18n.select_locale())


def question_of(text: ConsentText) -> str:
    """The first line of a text is its question; the rest explains it."""
    return text.body.strip().split("\n\n", 1)[0]


def explanation_of(text: ConsentText) -> list[str]:
    return text.body.strip().split("\n\n")[1:]
