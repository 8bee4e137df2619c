"""XLSForm import: a form written the way KoboToolbox and ODK users write one, read with
pyxform's own parser and mapped into a Groundwork form definition (docs/forms.md).

Flask-free. What fits is mapped: `text` (long with `appearance` multiline), `select_one`,
`select_multiple` and `note` rows; each top-level group as a page; `label::Language (code)` and
`hint::Language (code)` columns, the hint being the "why we ask"; `media::audio::Language (code)`
columns, a recording of the label (the files go in the folder beside the definition); the
choices sheet; a simple
`relevant` (`${question} = 'choice'`, or `selected(${question}, 'choice')`). Every row that
does not fit is named with its sheet and row and left out, or kept without the part that does
not fit; a required question becomes optional, with a warning. The definition that comes out
is then checked like any other before it can be published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import tomli_w

from intake.form_definition import FORMAT, QUESTIONS_PER_PAGE, SOURCE_LANGUAGE, Kind

_LANGUAGE = re.compile(r"\(\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)\s*\)\s*$")
_EQUALS = re.compile(r"^\s*\$\{(\w+)\}\s*=\s*(['\"])([^'\"]*)\2\s*$")
_SELECTED = re.compile(r"^\s*selected\(\s*\$\{(\w+)\}\s*,\s*(['\"])([^'\"]*)\2\s*\)\s*$")
_KINDS = {
    "text": Kind.SHORT_TEXT,
    "select one": Kind.ONE_CHOICE,
    "select all that apply": Kind.MANY_CHOICES,
    "note": Kind.NOTE,
}
_METADATA = frozenset(
    {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber",
     "username", "email", "audit", "start-geopoint"}
)  # fmt: skip
_LEFT_ALONE = frozenset({"label", "hint", "name", "type", "choices", "children", "bind",
                         "itemset", "list_name", "parameters", "control", "appearance",
                         "choice_filter"})  # fmt: skip
_GROUP_PARTS = frozenset({"label", "hint", "name", "type", "children", "control", "bind"})
_VERSION_LIMIT = 2**31  # a version is stored as a 32-bit whole number


@dataclass(frozen=True)
class Imported:
    """A definition made from an XLSForm, with what could not be carried over."""

    definition: str  # the TOML text, to check, preview and publish
    not_mapped: tuple[str, ...]  # rows (or parts of rows) left out, each with sheet and row
    warnings: tuple[str, ...]  # changes made on the way in, each with sheet and row


class ImportRefused(ValueError):
    """An XLSForm that cannot be read at all, with the reasons."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def import_xlsform(
    source: Path | bytes,
    name: str,
    *,
    form_id: str | None = None,
    version: int | None = None,
) -> Imported:
    """Map the XLSForm `source` (a file, or its bytes as uploaded, named `name`) into a
    definition; `form_id` and `version` replace what its settings sheet says."""
    # Imported here: only an import reads XLSForms, and every web worker would otherwise load
    # pyxform (and its spreadsheet readers) at start.
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    try:
        workbook = get_xlsform(BytesIO(source) if isinstance(source, bytes) else source)
        warnings: list[str] = []
        survey = workbook_to_json(
            workbook,
            form_name=Path(name).stem,
            fallback_form_name=workbook.fallback_form_name,
            warnings=warnings,
        )
    except PyXFormError as error:
        raise ImportRefused([f"{name}: {error}".strip()]) from None
    except Exception as error:  # an upload may be anything: say so, whatever broke
        raise ImportRefused(
            [f"{name}: not readable as an XLSForm ({type(error).__name__})"]
        ) from None
    rows = {
        str(row["name"]): number
        for number, row in enumerate(workbook.survey or [], start=2)
        if row.get("name")
    }
    mapper = _Mapper(rows)
    definition = mapper.definition(survey, form_id, version)
    source_name = re.sub(r"[\x00-\x1f\x7f]", "", Path(name).name)
    header = (
        f"# Made from {source_name} by `flask forms import` (docs/forms.md): check it, then\n"
        "# publish it. The notes printed by the import say what was not carried over.\n\n"
    )
    return Imported(
        header + tomli_w.dumps(definition, multiline_strings=False),
        tuple(mapper.not_mapped),
        tuple(mapper.warnings),
    )


@dataclass
class _Page:
    key: str
    heading: dict[str, str]
    intro: dict[str, str] | None
    questions: list[dict[str, Any]] = field(default_factory=list)


class _Mapper:
    def __init__(self, rows: Mapping[str, int]) -> None:
        self.rows = rows
        self.not_mapped: list[str] = []
        self.warnings: list[str] = []
        self.languages: dict[str, str] = {}  # the column's language name -> its code
        self.pages: list[_Page] = []
        self.where: dict[str, tuple[Kind, set[str]]] = {}  # question -> kind, choices

    def row(self, element: Mapping[str, Any]) -> str:
        number = self.rows.get(str(element.get("name", "")))
        name = element.get("name", "")
        return f"survey row {number} ({name})" if number else f"survey ({name})"

    # the form

    def definition(
        self, survey: Mapping[str, Any], form_id: str | None, version: int | None
    ) -> dict[str, Any]:
        for element in survey.get("children", []):
            self.top_level(element)
        pages = [page for page in self._split(self.pages) if page.questions]
        page_of = {q["key"]: page.key for page in pages for q in page.questions}
        for page in pages:
            for question in page.questions:
                if "shown_if" in question:
                    target = question["shown_if"]["question"]
                    question["shown_if"] = {"page": page_of[target], **question["shown_if"]}
        codes = list(dict.fromkeys(self.languages.values()))
        if SOURCE_LANGUAGE in codes:
            codes.remove(SOURCE_LANGUAGE)
        return {
            "format": FORMAT,
            "id": form_id or _key(str(survey.get("id_string") or survey.get("name") or "form")),
            "version": version or self._version(survey.get("version")),
            "languages": [SOURCE_LANGUAGE, *codes],
            "pages": [self._page_table(page) for page in pages],
        }

    def _version(self, given: object) -> int:
        text = str(given or "").strip()
        if text.isdigit() and 1 <= int(text) < _VERSION_LIMIT:
            return int(text)
        if text:
            self.warnings.append(
                f"settings: the version {text!r} is not a whole number; this is version 1 "
                "(give another with --version)"
            )
        return 1

    def top_level(self, element: Mapping[str, Any]) -> None:
        kind = element.get("type")
        if kind == "group" and element.get("control", {}).get("bodyless"):
            return  # pyxform's own metadata (instanceID), not a row of the sheet
        if kind == "group":
            page = _Page(
                _key(str(element.get("name"))),
                self.words(element.get("label"), element, "label"),
                self.words(element.get("hint"), element, "hint") if element.get("hint") else None,
            )
            self.pages.append(page)
            self._note_unmapped_parts(element, _GROUP_PARTS)
            for name, value in dict(element.get("bind", {})).items():
                self.not_mapped.append(
                    f"{self.row(element)}: {name} {value!r} on a group is not mapped; the page "
                    "is always shown"
                )
            for child in element.get("children", []):
                self.inside(page, child)
            return
        if kind == "repeat":
            self._repeat(element)
            return
        question = self.question(element)
        if question is not None:
            self.warnings.append(f"{self.row(element)}: not in a group, so it is a page of its own")
            self.pages.append(_Page(question["key"], dict(question["label"]), None, [question]))

    def inside(self, page: _Page, element: Mapping[str, Any]) -> None:
        kind = element.get("type")
        if kind == "group":
            self.warnings.append(
                f"{self.row(element)}: a group inside a group; its questions are on the page "
                f"{page.key!r}"
            )
            for child in element.get("children", []):
                self.inside(page, child)
            return
        if kind == "repeat":
            self._repeat(element)
            return
        question = self.question(element)
        if question is not None:
            page.questions.append(question)

    def _repeat(self, element: Mapping[str, Any]) -> None:
        self.not_mapped.append(
            f"{self.row(element)}: a repeat is not mapped; its questions are left out"
        )

    # one question

    def question(self, element: Mapping[str, Any]) -> dict[str, Any] | None:
        xls_type = str(element.get("type", ""))
        where = self.row(element)
        kind = _KINDS.get(xls_type)
        if kind is None:
            what = "metadata" if xls_type in _METADATA else "a question type Groundwork has not"
            self.not_mapped.append(f"{where}: {xls_type} is not mapped ({what}); left out")
            return None
        appearance = str(element.get("control", {}).get("appearance", ""))
        if kind == Kind.SHORT_TEXT and "multiline" in appearance:
            kind = Kind.LONG_TEXT
        key = _key(str(element.get("name")))
        if key != element.get("name"):
            self.warnings.append(f"{where}: the name is {key!r} here (letters, digits and _)")
        question: dict[str, Any] = {
            "key": key,
            "kind": str(kind),
            "label": self.words(element.get("label"), element, "label"),
        }
        if kind != Kind.NOTE:
            if element.get("hint"):
                question["why"] = self.words(element.get("hint"), element, "hint")
            else:
                self.warnings.append(
                    f"{where}: no hint; Groundwork says why it asks every question, so add a "
                    "hint in every language"
                )
        if kind in (Kind.ONE_CHOICE, Kind.MANY_CHOICES):
            question["choices"] = [
                {
                    "key": _key(str(choice.get("name"))),
                    "label": self.words(choice.get("label"), element, "choice"),
                }
                for choice in element.get("choices", [])
            ]
        if element.get("choice_filter"):
            self.not_mapped.append(
                f"{where}: choice_filter {element['choice_filter']!r} is not mapped; every "
                "choice is offered"
            )
        self._bind(element, question)
        self._media(element, question)
        self._note_unmapped_parts(element, _LEFT_ALONE | {"media"})
        self.where[key] = (kind, _keys(question))  # a later `relevant` may name it
        return question

    def _bind(self, element: Mapping[str, Any], question: dict[str, Any]) -> None:
        where = self.row(element)
        for name, value in dict(element.get("bind", {})).items():
            if name == "required":
                if str(value).strip().lower() in ("yes", "true", "true()", "1"):
                    self.warnings.append(
                        f"{where}: required in the XLSForm; nothing is required in Groundwork, "
                        "so it is optional"
                    )
            elif name == "relevant":
                shown_if = self._shown_if(str(value))
                if shown_if is None:
                    self.not_mapped.append(
                        f"{where}: relevant {value!r} is not mapped (only ${{question}} = "
                        "'choice' is); the question is always shown"
                    )
                else:
                    question["shown_if"] = shown_if
            else:
                self.not_mapped.append(f"{where}: {name} {value!r} is not mapped")

    def _media(self, element: Mapping[str, Any], question: dict[str, Any]) -> None:
        """A recording of the label in each language (`media::audio`); other media are left
        out, each named."""
        for kind, value in dict(element.get("media", {})).items():
            if kind == "audio":
                heard = self.words(value, element, "media::audio")
                if heard:
                    question["audio"] = {"label": heard}
            else:
                self.not_mapped.append(f"{self.row(element)}: media::{kind} is not mapped")

    def _shown_if(self, expression: str) -> dict[str, str] | None:
        found = _EQUALS.match(expression) or _SELECTED.match(expression)
        if found is None:
            return None
        target, value = _key(found.group(1)), _key(found.group(3))
        known = self.where.get(target)
        if known is None or known[0] not in (Kind.ONE_CHOICE, Kind.MANY_CHOICES):
            return None
        if value not in known[1]:
            return None
        return {"question": target, "is": value}

    def _note_unmapped_parts(self, element: Mapping[str, Any], mapped: Iterable[str]) -> None:
        for name in sorted(set(element) - set(mapped)):
            if name not in ("default", "instance", "trigger"):
                self.not_mapped.append(f"{self.row(element)}: {name} is not mapped")

    # words

    def words(self, value: object, element: Mapping[str, Any], what: str) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, str):
            return {SOURCE_LANGUAGE: value}
        texts: dict[str, str] = {}
        for language, text in dict(value).items():  # type: ignore[call-overload]
            code = self._code(str(language), element, what)
            if code and str(text).strip():
                texts[code] = str(text)
        return texts

    def _code(self, language: str, element: Mapping[str, Any], what: str) -> str | None:
        known = self.languages.get(language)
        if known is not None:
            return known
        if language == "default":
            self.languages[language] = SOURCE_LANGUAGE
            return SOURCE_LANGUAGE
        found = _LANGUAGE.search(language)
        if found is None:
            self.not_mapped.append(
                f"{self.row(element)}: the {what} column's language {language!r} has no code; "
                f"name it like {what}::{language} (xx)"
            )
            self.languages[language] = ""
            return None
        code = found.group(1).replace("_", "-")
        self.languages[language] = code
        return code

    # pages

    def _split(self, pages: list[_Page]) -> Iterator[_Page]:
        """A page with more questions than a page holds is cut into several."""
        for page in pages:
            asked = [q for q in page.questions if q["kind"] != Kind.NOTE]
            if len(asked) <= QUESTIONS_PER_PAGE:
                yield page
                continue
            self.warnings.append(
                f"group {page.key!r}: {len(asked)} questions; a page holds "
                f"{QUESTIONS_PER_PAGE}, so it is cut into several pages"
            )
            part, count, number = _Page(page.key, page.heading, page.intro), 0, 1
            for question in page.questions:
                if question["kind"] != Kind.NOTE and count == QUESTIONS_PER_PAGE:
                    yield part
                    number += 1
                    part, count = _Page(f"{page.key}_{number}", page.heading, None), 0
                part.questions.append(question)
                count += question["kind"] != Kind.NOTE
            yield part

    @staticmethod
    def _page_table(page: _Page) -> dict[str, Any]:
        table: dict[str, Any] = {"key": page.key, "heading": page.heading}
        if page.intro:
            table["intro"] = page.intro
        table["questions"] = page.questions
        return table


def _key(name: str) -> str:
    """A name from the sheet as a Groundwork key: letters, digits and _."""
    key = re.sub(r"\W", "_", name.strip(), flags=re.ASCII)
    return key if key and not key[0].isdigit() else f"_{key}"


def _keys(question: Mapping[str, Any]) -> set[str]:
    return {str(choice["key"]) for choice in question.get("choices", [])}
