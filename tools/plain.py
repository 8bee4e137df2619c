"""How plain is Groundwork's English? Measures every client-facing English string.

Client-facing strings are the message ids whose source is a client page, a client module or
an error page, every consent text, and every English word of each form definition shipped in
`intake/data/forms/` (headings, intros, questions, "why we ask" and choices). Each sentence
has at most 20 words; each help text (a string of 8 words or more) reads at Flesch-Kincaid
grade 6 or lower (DESIGN.md §2).
Shorter strings (buttons, headings) are not graded: the formula means nothing for two words.

    python -m tools.plain      # prints the ten hardest strings and any that fail
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import textstat
from babel.messages.pofile import read_po

from intake.form_definition import FORMS_FOLDER, read_form
from intake.form_review import english_texts

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "translations" / "messages.pot"
CONSENT_TEXTS = ROOT / "consent_texts" / "en"
CLIENT_SOURCES = (
    "templates/client/",
    "templates/partner/card.html",
    "templates/errors/",
    "templates/macros.html",
    "templates/base.html",
    "intake/client/",
    "intake/errors.py",
)
MAX_GRADE = 6.0
MAX_SENTENCE_WORDS = 20
GRADED_FROM_WORDS = 8
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Measured:
    text: str
    source: str
    grade: float | None  # None: too short to grade
    longest_sentence: int

    @property
    def problems(self) -> list[str]:
        found = []
        if self.grade is not None and self.grade > MAX_GRADE:
            found.append(f"grade {self.grade:.1f} (at most {MAX_GRADE:.0f})")
        if self.longest_sentence > MAX_SENTENCE_WORDS:
            found.append(f"a sentence of {self.longest_sentence} words (at most 20)")
        return found


def _words(text: str) -> int:
    return len(text.split())


def measure(text: str, source: str) -> Measured:
    plain = _PLACEHOLDER.sub("5", text)
    sentences = [s for s in _SENTENCE_END.split(plain.replace("\n", " ")) if s.strip()]
    longest = max((_words(s) for s in sentences), default=0)
    grade = textstat.flesch_kincaid_grade(plain) if _words(plain) >= GRADED_FROM_WORDS else None
    return Measured(text, source, grade, longest)


def client_strings() -> list[Measured]:
    measured = []
    with TEMPLATE.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        sources = [path for path, _line in message.locations]
        client = [s for s in sources if s.startswith(CLIENT_SOURCES)]
        if not client:
            continue
        text = message.id if isinstance(message.id, str) else message.id[0]
        measured.append(measure(text, client[0]))
    measured.extend(form_strings())
    for path in sorted(CONSENT_TEXTS.glob("*.txt")):
        for paragraph in path.read_text(encoding="utf-8").strip().split("\n\n"):
            measured.append(measure(paragraph, f"consent_texts/en/{path.name}"))
    return measured


def form_strings() -> list[Measured]:
    """The English words of every form definition, each named by its page and question."""
    return [
        measure(text, f"{path.name}: {where}")
        for path in sorted(FORMS_FOLDER.glob("*.toml"))
        if path.name != "common.toml"
        for where, text in english_texts(read_form(path))
    ]


def main() -> int:
    measured = client_strings()
    graded = sorted(
        (m for m in measured if m.grade is not None), key=lambda m: m.grade or 0, reverse=True
    )
    print(f"{len(measured)} client-facing English strings, {len(graded)} long enough to grade.")
    print("The ten hardest to read (Flesch-Kincaid grade, longest sentence in words):")
    for item in graded[:10]:
        print(f"  {item.grade:5.1f}  {item.longest_sentence:3d}  {item.text[:90]}")
    failing = [m for m in measured if m.problems]
    for item in failing:
        print(f"TOO HARD: {item.source}: {item.text!r}: {', '.join(item.problems)}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
