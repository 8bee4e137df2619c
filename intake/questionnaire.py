"""The questions of the client journey: the live form, read from its definition.

Groundwork's own form (`data/forms/groundwork.toml`): the intake, then the safety and
boundaries agreement. Each section is one page. Every question is optional, says why we ask it,
and every set of choices includes "I'd rather not say". The safety and boundaries pages follow
PROMISES (Purpose, Relationship, Outcomes, Margins, In case of, Safety, Expectations, Strategy)
and come after a short note that they touch harder things.

Section and field keys are stored (inside the encrypted answers and as `Answer.section_key`):
never rename one without a migration of the answers.
"""

from __future__ import annotations

from intake.form_definition import (
    FORMS_FOLDER,
    LONG_TEXT_LIMIT,
    RATHER_NOT_SAY,
    SHORT_TEXT_LIMIT,
    Kind,
    Part,
    Question,
    Section,
    Wording,
    read_form,
)

__all__ = [
    "LONG_TEXT_LIMIT",
    "RATHER_NOT_SAY",
    "SHORT_TEXT_LIMIT",
    "Kind",
    "Part",
    "Question",
    "Section",
    "Wording",
]

DEFAULT_FORM = read_form(FORMS_FOLDER / "groundwork.toml")
SECTIONS: tuple[Section, ...] = DEFAULT_FORM.sections
SECTIONS_BY_KEY = {section.key: section for section in SECTIONS}
# The content note ("the next pages touch harder things") comes before this page (0-based);
# -1 when no page is marked harder, so that no page number ever meets it.
_first_harder = DEFAULT_FORM.first_harder_index
CONTENT_NOTE_BEFORE: int = -1 if _first_harder is None else _first_harder


def page_number(section_key: str) -> int:
    """1-based position of a section, as shown in "Page 3 of 14" and in its address."""
    return next(i for i, s in enumerate(SECTIONS, start=1) if s.key == section_key)


def section_at(number: int) -> Section | None:
    return SECTIONS[number - 1] if 1 <= number <= len(SECTIONS) else None
