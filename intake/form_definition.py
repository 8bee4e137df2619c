"""Forms as data: a form definition (a TOML file, described in docs/forms.md) read into the pages
and questions the client journey shows, with the words of every language it is published in.

Flask-free. `read_form` checks a definition and says every problem at once, each naming the
page, the question and the language; a definition with a problem is never half-read. Groundwork
adds what every form owes the person filling it in: "I'd rather not say" at the end of every
list of choices that lacks it (its words are in `data/forms/common.toml`).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

FORMS_FOLDER = Path(__file__).resolve().parent / "data" / "forms"
FORMAT = 1  # the version of the definition format this module reads
SOURCE_LANGUAGE = "en"  # every form is written in English first; other languages follow it
SHORT_TEXT_LIMIT = 200
LONG_TEXT_LIMIT = 10_000  # room for a long story; 100 KB gets a kind "shorter" message
RATHER_NOT_SAY = "rather_not_say"
# Names the page's own form uses: a question with one of them would take its place.
RESERVED_KEYS = frozenset({"csrf_token", "action", "consent_choice"})
QUESTIONS_PER_PAGE = 5  # "one thing per page" (DESIGN.md): a page of a phone, not a wall
FIELDS = {
    "form": {
        "format",
        "id",
        "version",
        "languages",
        "pages",
        "safety_card",
        "coach_side",
        "strengths",
    },
    "strength": {"page", "question"},
    "card": {"page", "question", "label"},
    "coach_part": {"key", "heading", "text"},
    "page": {"key", "part", "harder", "consent", "heading", "intro", "questions"},
    "question": {"key", "kind", "label", "why", "choices", "shown_if", "audio"},
    "audio": {"label", "why"},
    "choice": {"key", "label"},
    "condition": {"page", "question", "is"},
}


# Recordings a form names (ODK's media::audio): a file name in the form's media folder, and the
# kinds of audio a phone's browser plays, by the name's ending.
AUDIO_MEDIA_TYPES = {
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "wav": "audio/wav",
    "webm": "audio/webm",
}
RECORDING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class Kind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    ONE_CHOICE = "one_choice"
    MANY_CHOICES = "many_choices"
    NOTE = "note"  # words to read on the page; it asks nothing and keeps nothing


class Part(StrEnum):
    INTAKE = "intake"
    AGREEMENT = "agreement"  # safety and boundaries (PROMISES)


def _english_reader() -> str:
    return SOURCE_LANGUAGE


_reader_language: Callable[[], str] = _english_reader


def read_in(language_of_reader: Callable[[], str]) -> None:
    """Say how to know the language of whoever is reading now (the app gives its locale)."""
    global _reader_language  # set once, when the app starts
    _reader_language = language_of_reader


# eq=False: compared and hashed by identity, like the questions that hold them.
@dataclass(frozen=True, eq=False)
class Wording:
    """One text of a form in each of its languages; as a string, in the reader's language."""

    texts: Mapping[str, str]

    def in_language(self, language: str) -> str:
        return self.texts.get(language) or self.texts.get(SOURCE_LANGUAGE, "")

    def __bool__(self) -> bool:
        return any(self.texts.values())

    def __str__(self) -> str:
        return self.in_language(_reader_language())

    @property
    def language(self) -> str:
        """The language `str()` gives its words in: the reader's, or else the source's."""
        reader = _reader_language()
        return reader if self.texts.get(reader) else SOURCE_LANGUAGE


@dataclass(frozen=True)
class Condition:
    """Ask a question only if the person chose `is_` for the question `question` on the page
    `page` (XLSForm's `relevant`, the simple kind)."""

    page: str
    question: str
    is_: str


@dataclass(frozen=True)
class Recordings:
    """Someone reading a question's words aloud, by language: the file names of the recordings
    of its label and of its "why we ask", in the form's media folder."""

    label: Mapping[str, str] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)

    @property
    def names(self) -> set[str]:
        return {*self.label.values(), *self.why.values()}


# eq=False: a question or section is itself, compared and hashed by identity.
@dataclass(frozen=True, eq=False)
class Question:
    key: str
    label: Wording
    why: Wording  # the one-line "why we ask"
    kind: Kind
    choices: tuple[tuple[str, Wording], ...] = ()
    shown_if: Condition | None = None
    recordings: Recordings = field(default_factory=Recordings)

    @property
    def limit(self) -> int:
        return SHORT_TEXT_LIMIT if self.kind == Kind.SHORT_TEXT else LONG_TEXT_LIMIT

    @property
    def asks(self) -> bool:
        """False for a note: nothing to answer."""
        return self.kind != Kind.NOTE


@dataclass(frozen=True, eq=False)
class Section:
    key: str
    part: Part
    heading: Wording
    intro: Wording
    questions: tuple[Question, ...] = field(default_factory=tuple)
    schema_version: int = 1
    consent_purpose: str | None = None  # a consent asked on this page, kept in the ledger
    form_id: str = ""  # the form this page belongs to, and its version: kept with the answers
    form_version: int = 0
    harder: bool = False  # touches harder things: a content note comes before the first one

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    @property
    def asked(self) -> tuple[Question, ...]:
        """The questions that take an answer (the notes left out), in page order."""
        return tuple(q for q in self.questions if q.asks)


@dataclass(frozen=True)
class CardLine:
    """One line of the safety card: what a coach must know before a first session, in the
    coach's words, and the question whose answer it shows."""

    label: Wording
    section_key: str
    question_key: str


@dataclass(frozen=True)
class CoachPart:
    """One part of the coach's side of the relationship agreement (PROMISES: margins, "in
    case of", the limits of confidentiality, expectations): what every coach of the
    organisation promises, in each language of the form."""

    key: str
    heading: Wording
    text: Wording


@dataclass(frozen=True)
class Form:
    id: str
    version: int
    languages: tuple[str, ...]  # the languages it is offered in: every word present
    sections: tuple[Section, ...]
    # A language the definition names whose words are not all there is not offered; each
    # missing text is listed, by page and question, for whoever maintains the form.
    not_offered: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    safety_card: tuple[CardLine, ...] = ()
    coach_side: tuple[CoachPart, ...] = ()
    # The questions whose answers are the person's strengths and past successes, carried to
    # the top of their coaching plan: (page key, question key).
    strengths: tuple[tuple[str, str], ...] = ()

    @property
    def first_harder_index(self) -> int | None:
        """Where the content note goes: before the first page marked harder (0-based)."""
        return next((i for i, s in enumerate(self.sections) if s.harder), None)

    @property
    def page_count(self) -> int:
        return len(self.sections)

    @cached_property  # asked on every page a person opens; a form never changes
    def recording_names(self) -> frozenset[str]:
        """Every recording the form names: the files its media folder must hold."""
        return frozenset(
            name for s in self.sections for q in s.questions for name in q.recordings.names
        )

    @property
    def note_after_page(self) -> int:
        """The page after which the content note comes ("the next pages touch harder
        things"), 1-based; -1 when no page is harder, so that no page number meets it."""
        first = self.first_harder_index
        return -1 if first is None else first

    def section_at(self, number: int) -> Section | None:
        """The page shown as "Page `number` of …" (1-based), if there is one."""
        return self.sections[number - 1] if 1 <= number <= len(self.sections) else None

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def page_number(self, section_key: str) -> int:
        """1-based position of a section, as shown in "Page 3 of 14" and in its address."""
        return next(i for i, s in enumerate(self.sections, start=1) if s.key == section_key)

    def not_shown(
        self, section: Section, answer_of: Callable[[str, str], object]
    ) -> frozenset[str]:
        """The questions of a page that do not apply, given the answers on earlier pages
        (`answer_of(page, question)`). A condition on the same page cannot be followed on a
        page without JavaScript, so such a question is always shown."""
        number = self.page_number(section.key)
        hidden = set()
        for question in section.asked:
            condition = question.shown_if
            if condition is None or self.page_number(condition.page) >= number:
                continue
            answer = answer_of(condition.page, condition.question)
            chosen = answer if isinstance(answer, list) else [answer]
            if condition.is_ not in chosen:
                hidden.add(question.key)
        return frozenset(hidden)


class FormProblems(ValueError):
    """A definition that cannot be published, with every reason, each saying where."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.problems = problems


def read_form(path: Path) -> Form:
    return read_form_text(path.read_bytes(), path.name)


def read_form_text(definition: bytes | str, source: str) -> Form:
    """A form from the text of its definition; `source` names it in every problem."""
    if isinstance(definition, bytes):
        try:
            definition = definition.decode("utf-8")
        except UnicodeDecodeError:
            raise FormProblems(source, ["not readable: save it as UTF-8 text"]) from None
    try:
        data = tomllib.loads(definition)
    except tomllib.TOMLDecodeError as error:
        raise FormProblems(source, [f"not readable as TOML: {error}"]) from None
    return _Reader(data, _common_words()).form(source)


def _repeated(keys: Iterable[str]) -> list[str]:
    """The keys that appear more than once, in order."""
    counts = Counter(keys)
    return sorted(key for key, count in counts.items() if count > 1)


def _common_words() -> dict[str, Wording]:
    with (FORMS_FOLDER / "common.toml").open("rb") as handle:
        data = tomllib.load(handle)
    return {key: Wording(dict(texts)) for key, texts in data.items()}


class _Reader:
    """Reads one definition, gathering every problem before saying any."""

    def __init__(self, data: dict[str, Any], common: dict[str, Wording]) -> None:
        self.data = data
        self.common = common
        self.problems: list[str] = []
        self.missing: dict[str, list[str]] = {}
        self.form_id = ""
        self.form_version = 0
        languages = data.get("languages")
        self.languages: tuple[str, ...] = (
            tuple(str(code) for code in languages) if isinstance(languages, list) else ()
        )

    def form(self, source: str) -> Form:
        self._known_fields(self.data, "form", "the form")
        if self.data.get("format") != FORMAT:
            self.problems.append(f"the format must be {FORMAT}")
        form_id, version = self.data.get("id"), self.data.get("version")
        if not isinstance(form_id, str) or not form_id:
            self.problems.append("the form needs an id")
        else:
            self.form_id = form_id
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problems.append("the version must be a whole number from 1")
        else:
            self.form_version = version
        if SOURCE_LANGUAGE not in self.languages:
            self.problems.append(f"the languages must include {SOURCE_LANGUAGE}")
        pages = self.data.get("pages")
        if not isinstance(pages, list) or not pages:
            self.problems.append("the form needs at least one page")
            pages = []
        sections = tuple(self._section(number, page) for number, page in enumerate(pages, 1))
        for key in _repeated(section.key for section in sections):
            self.problems.append(f"two pages have the key {key!r}")
        card = self._safety_card(sections)
        coach_side = self._coach_side()
        strengths = self._strengths(sections)
        self._conditions(sections)
        if self.problems:
            raise FormProblems(source, self.problems)
        offered = tuple(code for code in self.languages if code not in self.missing)
        not_offered = {code: tuple(where) for code, where in self.missing.items()}
        return Form(
            self.form_id,
            self.form_version,
            offered,
            sections,
            not_offered,
            card,
            coach_side,
            strengths,
        )

    def _tables(self, field: str, what: str, each: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The tables of a top-level list (`[[field]]`), each with where it is ("`each` N")."""
        entries = self.data.get(field, [])
        if not isinstance(entries, list):
            self.problems.append(f"{what} must be a list")
            return
        for number, entry in enumerate(entries, start=1):
            where = f"{each} {number}"
            if isinstance(entry, dict):
                yield where, entry
            else:
                self.problems.append(f"{where} is not a table")

    def _asked_question(
        self, by_key: Mapping[str, Section], entry: dict[str, Any], where: str
    ) -> tuple[str, str]:
        """The page and question an entry names, which must be a question that asks."""
        page, question = str(entry.get("page")), str(entry.get("question"))
        section = by_key.get(page)
        found = section.question(question) if section else None
        if found is None or not found.asks:
            self.problems.append(f"{where}: there is no question {question!r} on page {page!r}")
        return page, question

    def _strengths(self, sections: tuple[Section, ...]) -> tuple[tuple[str, str], ...]:
        by_key = {section.key: section for section in sections}
        found = []
        for where, entry in self._tables("strengths", "strengths", "strengths, line"):
            self._known_fields(entry, "strength", where)
            found.append(self._asked_question(by_key, entry, where))
        return tuple(found)

    def _coach_side(self) -> tuple[CoachPart, ...]:
        parts = []
        for where, entry in self._tables("coach_side", "the coach's side", "coach's side, part"):
            key = self._key(entry, where)
            where = f"{where} ({key})"
            self._known_fields(entry, "coach_part", where)
            heading, text = self._words(entry, "heading", where), self._words(entry, "text", where)
            parts.append(CoachPart(key, heading, text))
        for key in _repeated(part.key for part in parts):
            self.problems.append(f"two parts of the coach's side have the key {key!r}")
        return tuple(parts)

    def _safety_card(self, sections: tuple[Section, ...]) -> tuple[CardLine, ...]:
        by_key = {section.key: section for section in sections}
        card = []
        for where, entry in self._tables("safety_card", "the safety card", "safety card line"):
            self._known_fields(entry, "card", where)
            page, question = self._asked_question(by_key, entry, where)
            card.append(CardLine(self._words(entry, "label", where), page, question))
        return tuple(card)

    def _conditions(self, sections: tuple[Section, ...]) -> None:
        """Each condition names a choice of a question the person meets before this one."""
        met: dict[tuple[str, str], Question] = {}
        for number, section in enumerate(sections, start=1):
            for question in section.questions:
                condition = question.shown_if
                if condition is not None:
                    before = met.get((condition.page, condition.question))
                    if before is None or all(key != condition.is_ for key, _ in before.choices):
                        self.problems.append(
                            f"page {number} ({section.key}), question {question.key}: shown_if "
                            f"names no choice {condition.is_!r} of a question "
                            f"{condition.question!r} on page {condition.page!r} before it"
                        )
                met[(section.key, question.key)] = question

    def _condition(self, where: str, table: Any) -> Condition | None:
        if table is None:
            return None
        if not isinstance(table, dict):
            self.problems.append(f"{where}: shown_if must be a table of page, question and is")
            return None
        self._known_fields(table, "condition", f"{where}, shown_if")
        return Condition(str(table.get("page")), str(table.get("question")), str(table.get("is")))

    def _section(self, number: int, page: Any) -> Section:
        where = f"page {number}"
        if not isinstance(page, dict):
            self.problems.append(f"{where} is not a table")
            page = {}
        key = self._key(page, where)
        where = f"page {number} ({key})"
        self._known_fields(page, "page", where)
        part = page.get("part", Part.INTAKE)
        if part not in tuple(Part):
            self.problems.append(f"{where}: part must be one of {', '.join(Part)}")
            part = Part.INTAKE
        questions = page.get("questions", [])
        if not isinstance(questions, list):
            self.problems.append(f"{where}: questions must be a list")
            questions = []
        read = tuple(self._question(where, item) for item in questions)
        asked = sum(1 for question in read if question.asks)
        if asked > QUESTIONS_PER_PAGE:
            self.problems.append(
                f"{where}: {asked} questions; a page holds {QUESTIONS_PER_PAGE} at most"
            )
        harder = page.get("harder", False)
        if not isinstance(harder, bool):
            self.problems.append(f"{where}: harder must be true or false")
        for repeated in _repeated(question.key for question in read):
            self.problems.append(f"{where}: two questions have the key {repeated!r}")
        consent = page.get("consent")
        return Section(
            key=key,
            part=Part(part),
            heading=self._words(page, "heading", where),
            intro=self._words(page, "intro", where) if "intro" in page else Wording({}),
            questions=read,
            consent_purpose=str(consent) if consent else None,
            form_id=self.form_id,
            form_version=self.form_version,
            harder=harder is True,
        )

    def _question(self, page_where: str, item: Any) -> Question:
        if not isinstance(item, dict):
            self.problems.append(f"{page_where}: a question is not a table")
            item = {}
        key = self._key(item, f"{page_where}, a question")
        where = f"{page_where}, question {key}"
        if key in RESERVED_KEYS:
            self.problems.append(f"{where}: {key!r} is a name Groundwork keeps for itself")
        self._known_fields(item, "question", where)
        kind = item.get("kind")
        if kind not in tuple(Kind):
            self.problems.append(f"{where}: kind must be one of {', '.join(Kind)}")
            kind = Kind.SHORT_TEXT
        label = self._words(item, "label", where)
        if kind == Kind.NOTE:
            if "why" in item:
                self.problems.append(f"{where}: a note asks nothing, so it has no 'why'")
            why = Wording({SOURCE_LANGUAGE: ""})
        else:
            why = self._words(item, "why", where)
        choices = self._choices(where, Kind(kind), item.get("choices", []))
        return Question(
            key=key,
            label=label,
            why=why,
            kind=Kind(kind),
            choices=choices,
            shown_if=self._condition(where, item.get("shown_if")),
            recordings=self._recordings(where, Kind(kind), item.get("audio")),
        )

    def _recordings(self, where: str, kind: Kind, table: Any) -> Recordings:
        if table is None:
            return Recordings()
        where = f"{where}, audio"
        if not isinstance(table, dict):
            self.problems.append(f"{where} must be a table of label and why")
            return Recordings()
        self._known_fields(table, "audio", where)
        if kind == Kind.NOTE and "why" in table:
            self.problems.append(f"{where}: a note asks nothing, so it has no 'why' to hear")
        return Recordings(
            label=self._recording_names(table.get("label"), f"{where}, label"),
            why=self._recording_names(table.get("why"), f"{where}, why"),
        )

    def _recording_names(self, names: Any, where: str) -> dict[str, str]:
        if names is None:
            return {}
        if not isinstance(names, dict):
            self.problems.append(f"{where} must name a file for each language")
            return {}
        found = {}
        for code, name in names.items():
            if code not in self.languages:
                self.problems.append(f"{where}: {code!r} is not one of the form's languages")
            elif not isinstance(name, str) or not RECORDING_NAME.match(name):
                self.problems.append(
                    f"{where}, {code}: {name!r} is not a file name (letters, digits, . _ -)"
                )
            elif name.rsplit(".", 1)[-1].lower() not in AUDIO_MEDIA_TYPES:
                self.problems.append(
                    f"{where}, {code}: {name!r} must end in one of "
                    + ", ".join(f".{ending}" for ending in AUDIO_MEDIA_TYPES)
                )
            else:
                found[str(code)] = name
        return found

    def _choices(self, where: str, kind: Kind, items: Any) -> tuple[tuple[str, Wording], ...]:
        if kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT, Kind.NOTE):
            if items:
                self.problems.append(f"{where}: only a choice question has choices")
            return ()
        if not isinstance(items, list) or not items:
            self.problems.append(f"{where}: a choice question needs choices")
            return ()
        choices = []
        for choice in items:
            if not isinstance(choice, dict):
                self.problems.append(f"{where}: a choice is not a table")
                continue
            key = self._key(choice, f"{where}, a choice")
            self._known_fields(choice, "choice", f"{where}, choice {key}")
            choices.append((key, self._words(choice, "label", f"{where}, choice {key}")))
        for repeated in _repeated(key for key, _words in choices):
            self.problems.append(f"{where}: two choices have the key {repeated!r}")
        if all(key != RATHER_NOT_SAY for key, _words in choices):
            choices.append((RATHER_NOT_SAY, self.common[RATHER_NOT_SAY]))
        return tuple(choices)

    def _key(self, table: dict[str, Any], where: str) -> str:
        key = table.get("key")
        if not isinstance(key, str) or not key.isidentifier() or not key.isascii():
            self.problems.append(f"{where}: the key must be letters, digits and _ ({key!r})")
            return str(key)
        return key

    def _words(self, table: dict[str, Any], name: str, where: str) -> Wording:
        texts = table.get(name)
        if not isinstance(texts, dict):
            self.problems.append(f"{where}: {name} is missing")
            return Wording({SOURCE_LANGUAGE: ""})
        missing = [code for code in self.languages if not str(texts.get(code, "")).strip()]
        for code in missing:
            if code == SOURCE_LANGUAGE:
                self.problems.append(f"{where}: {name} is missing in {code}")
            else:
                self.missing.setdefault(code, []).append(f"{where}: {name}")
        return Wording({str(code): str(text) for code, text in texts.items() if str(text).strip()})

    def _known_fields(self, table: dict[str, Any], level: str, where: str) -> None:
        for name in sorted(set(table) - FIELDS[level]):
            if name == "required":
                self.problems.append(
                    f"{where}: nothing is required in Groundwork; take out 'required'"
                )
            else:
                self.problems.append(f"{where}: {name!r} is not part of a {level}")
