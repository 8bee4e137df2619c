"""What the "Check your answers" page shows: every question, its answer in words, or
"Not provided" for a skipped one, and a plain notice for an answer that would not open."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString

from intake.questionnaire import SECTIONS, Kind, Part, Question
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
    heading: LazyString
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


def review_sections(opened: dict[str, OpenedSection]) -> list[ReviewedSection]:
    reviewed = []
    for number, section in enumerate(SECTIONS, start=1):
        stored = opened.get(section.key)
        fields = stored.fields if stored and stored.fields else {}
        reviewed.append(
            ReviewedSection(
                number=number,
                key=section.key,
                part=section.part,
                heading=section.heading,
                answers=tuple(
                    ReviewedAnswer(q, answer_text(q, fields.get(q.key))) for q in section.questions
                ),
                damaged=bool(stored and stored.damaged),
            )
        )
    return reviewed
