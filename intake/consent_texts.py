"""The consent texts as the person reads them, chosen in the person's language, and the
person's decisions recorded against exactly the words their page showed."""

from __future__ import annotations

from intake import consent, i18n
from intake.db import db_session
from intake.models import Client, ConsentEvent, ConsentText
from intake.translation_reviews import SOURCE_LOCALE


def text_for(purpose: str) -> ConsentText:
    """The newest published words of a purpose in the page's language. Texts are published by
    `flask db upgrade` and `flask consent load`, never by a page reading them: a missing text
    is a deployment mistake and fails loudly (LookupError)."""
    return consent.current_text(db_session(), purpose, i18n.select_locale())


def english_beside(purpose: str) -> ConsentText | None:
    """The reviewed English words of a purpose, to show beside a draft translation of them;
    None when the page's language is English or has been reviewed."""
    if not i18n.is_draft(i18n.select_locale()):
        return None
    return consent.current_text(db_session(), purpose, SOURCE_LOCALE)


def decide(
    client: Client, purpose: str, decision: str, text: ConsentText | None = None
) -> ConsentEvent:
    """The person's decision, recorded against the words their page showed: the text in their
    language (`text`, when the caller has it already) and, in a draft language, the English
    beside it."""
    return consent.decide(
        db_session(),
        client,
        purpose,
        decision,
        text or text_for(purpose),
        english_beside=english_beside(purpose),
    )


def answer(client: Client, purpose: str, yes: bool) -> ConsentEvent | None:
    """The person's yes or no on a page, recorded (as `decide`) if it changes anything."""
    return consent.answer(
        db_session(),
        client,
        purpose,
        yes,
        text_for(purpose),
        english_beside=english_beside(purpose),
    )


def question_of(text: ConsentText) -> str:
    """The first line of a text is its question; the rest explains it."""
    return text.body.strip().split("\n\n", 1)[0]


def explanation_of(text: ConsentText) -> list[str]:
    return text.body.strip().split("\n\n")[1:]
