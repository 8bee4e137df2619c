"""What the "Check your answers" page shows: every question, its answer in words, or
"Not provided" for a skipped one, and a plain notice for an answer that would not open."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from intake.questionnaire import Form, Kind, Part, Question, Section, Wording
from intake.vault import AnswerValue, OpenedSection


@dataclass(frozen=True)
class ReviewedAnswer:
    question: Question
    text: str | None  # None: not provided


@dataclass(frozen=True)
class ReviewedSection:
    number: int
    key: str
    part: Part
    heading: Wording
    answers: tuple[ReviewedAnswer, ...]
    damaged: bool


def answer_text(question: Question, value: AnswerValue | None) -> str | None:
    """An answer as words: the text typed, or the labels of the choices made."""
    if not value:
        return None
    if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
        return str(value)
    labels = dict(question.choices)
    chosen = value if isinstance(value, list) else [value]
    return ", ".join(str(labels.get(key, key)) for key in chosen)


def review_sections(form: Form, opened: dict[str, OpenedSection]) -> list[ReviewedSection]:
    """Every page of `form`, in order, with its answers. A person's answers are all given under
    the version of the form they follow (they finish the version they started), so these are
    the words they saw."""
    return [
        _reviewed(number, section, opened) for number, section in enumerate(form.sections, start=1)
    ]


def _reviewed(number: int, section: Section, opened: dict[str, OpenedSection]) -> ReviewedSection:
    stored = opened.get(section.key)
    fields = stored.fields if stored and stored.fields else {}
    return ReviewedSection(
        number=number,
        key=section.key,
        part=section.part,
        heading=section.heading,
        answers=tuple(ReviewedAnswer(q, answer_text(q, fields.get(q.key))) for q in section.asked),
        damaged=bool(stored and stored.damaged),
    )


def promises_in(form: Form, content: Mapping[str, object] | None) -> list[ReviewedSection]:
    """The person's PROMISES answers as a relationship agreement froze them, in words, under
    the questions of the form they follow."""
    stored = (content or {}).get("promises")
    if not isinstance(stored, dict):
        return []
    opened = {
        key: OpenedSection(key, 0, datetime.min, value if isinstance(value, dict) else None)
        for key, value in stored.items()
    }
    return [s for s in review_sections(form, opened) if s.part == Part.AGREEMENT]


def strengths_in(form: Form, fields: Mapping[str, Mapping[str, AnswerValue]]) -> list[str]:
    """The person's answers about their strengths (the questions `form.strengths` names), in
    words, from their answers by page."""
    found = []
    for page_key, question_key in form.strengths:
        page = form.section(page_key)
        question = page.question(question_key) if page else None
        value = fields.get(page_key, {}).get(question_key)
        text = answer_text(question, value) if question else None
        if text:
            found.append(text)
    return found
