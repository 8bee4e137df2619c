"""What an admin learns from a form they upload, before anyone fills it in (docs/forms.md):
whether it can be published and, if not, every reason; what an XLSForm import could not carry
over; which languages it can be offered in; and advice on its words. Flask-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from intake.form_definition import Form, FormProblems, read_form_text
from intake.form_review import Graded, avoided_words, hardest_to_read
from intake.xlsform import ImportRefused, import_xlsform

XLSFORM_SUFFIXES = (".xlsx", ".xls")
DEFINITION_SUFFIXES = (".toml",)
ACCEPTED = ", ".join(DEFINITION_SUFFIXES + XLSFORM_SUFFIXES)


@dataclass(frozen=True)
class Report:
    source: str  # the file's name, as uploaded
    definition: str | None  # the definition's text (made from an XLSForm, or as uploaded)
    form: Form | None  # None: it cannot be published, for the `problems`
    problems: tuple[str, ...] = ()
    not_mapped: tuple[str, ...] = ()  # an XLSForm's rows that were not carried over
    changed: tuple[str, ...] = ()  # what an import changed on the way in
    avoided: tuple[str, ...] = ()  # words Groundwork's voice avoids, and where
    hardest: tuple[Graded, ...] = ()  # the hardest English to read


def check_upload(data: bytes, filename: str) -> Report:
    """Read an uploaded definition (.toml) or XLSForm (.xlsx, .xls) as publishing would."""
    name = PurePath(filename.replace("\\", "/")).name or "form"
    suffix = PurePath(name).suffix.lower()
    not_mapped: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    if suffix in XLSFORM_SUFFIXES:
        try:
            imported = import_xlsform(data, name)
        except ImportRefused as refused:
            return Report(name, None, None, tuple(refused.problems))
        text, not_mapped, changed = imported.definition, imported.not_mapped, imported.warnings
    elif suffix in DEFINITION_SUFFIXES:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return Report(name, None, None, ("not readable: save it as UTF-8 text",))
    else:
        return Report(name, None, None, (f"send a form definition or an XLSForm ({ACCEPTED})",))
    return check_definition(text, name, not_mapped, changed)


def check_definition(
    text: str, name: str, not_mapped: tuple[str, ...] = (), changed: tuple[str, ...] = ()
) -> Report:
    """Read a definition's text as publishing would, with an import's notes carried along."""
    try:
        form = read_form_text(text, name)
    except FormProblems as refused:
        return Report(name, text, None, tuple(refused.problems), not_mapped, changed)
    return Report(
        name,
        text,
        form,
        (),
        not_mapped,
        changed,
        tuple(avoided_words(form)),
        tuple(hardest_to_read(form)),
    )
