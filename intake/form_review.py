"""What a form's author is told before publishing, beyond what would stop it (docs/forms.md):
words that Groundwork's voice avoids (VOICE.md), and the English that is hardest to read.

Flask-free. These are advice, not refusals: a person may need the word "must" to ask who must
not know they come here. Each names the page and the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from intake.form_definition import SOURCE_LANGUAGE, Form, Wording

# Words that blame, alarm or recall borders and interrogation (VOICE.md).
AVOIDED_WORDS = (
    "invalid",
    "illegal",
    "failed",
    "denied",
    "must",
    "required",
    "warning",
    "victim",
    "fingerprint",
    "interview",
    "case",
    "file",
    "declare",
    "verify your identity",
)
HARDEST_SHOWN = 5
MAX_GRADE = 6.0  # reading age about 11 (VOICE.md)
GRADED_FROM_WORDS = 8  # the formula means nothing for a few words


@dataclass(frozen=True)
class Graded:
    where: str
    text: str
    grade: float


def wordings(form: Form) -> Iterator[tuple[str, Wording]]:
    """Every text of a form a person reads, in all its languages, with where it is."""
    for number, section in enumerate(form.sections, start=1):
        page = f"page {number} ({section.key})"
        yield f"{page}: heading", section.heading
        yield f"{page}: intro", section.intro
        for question in section.questions:
            asked = f"{page}, question {question.key}"
            yield f"{asked}: label", question.label
            if question.asks:
                yield f"{asked}: why", question.why
            for key, words in question.choices:
                yield f"{asked}, choice {key}: label", words
    for part in form.coach_side:
        where = f"coach's side ({part.key})"
        yield f"{where}: heading", part.heading
        yield f"{where}: text", part.text


def english_texts(form: Form) -> Iterator[tuple[str, str]]:
    """Every English text of a form a person reads, with where it is."""
    for where, wording in wordings(form):
        yield where, wording.in_language(SOURCE_LANGUAGE)


def avoided_words(form: Form) -> list[str]:
    found = []
    for where, text in english_texts(form):
        for word in AVOIDED_WORDS:
            if re.search(rf"\b{re.escape(word)}s?\b", text, flags=re.IGNORECASE):
                found.append(f'{where}: "{word}" ({text})')
    return found


def hardest_to_read(form: Form) -> list[Graded]:
    # Imported here: only `flask forms check` grades, and every web worker would otherwise
    # load textstat and its dictionaries at start.
    import textstat

    graded = [
        Graded(where, text, textstat.flesch_kincaid_grade(text))
        for where, text in english_texts(form)
        if len(text.split()) >= GRADED_FROM_WORDS
    ]
    return sorted(graded, key=lambda item: item.grade, reverse=True)[:HARDEST_SHOWN]
