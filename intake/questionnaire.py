"""The forms people fill in: which definitions are published, which version of each is live,
and the form each person follows. Flask-free; the app keeps one `FormLibrary`.

Groundwork ships its own form (`data/forms/groundwork.toml`): the intake, then the safety and
boundaries agreement (PROMISES). An organisation publishes its own forms and new versions
(docs/forms.md). Every published definition, and every shipped one once the database is
upgraded, is kept word for word in `published_form`, so an answer is always shown under the
words the person saw, whatever was published or released since.

A person finishes the version they started (decided in docs/decisions.md): publishing a new
version changes the form for people who start after it, never under someone half-way.

Section and field keys are stored (inside the encrypted answers and as `Answer.section_key`):
a version may drop or add them; the answers given under an older version keep its words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from intake import recordings
from intake.form_definition import (
    FORMS_FOLDER,
    LONG_TEXT_LIMIT,
    RATHER_NOT_SAY,
    SHORT_TEXT_LIMIT,
    Form,
    FormProblems,
    Kind,
    Part,
    Question,
    Section,
    Wording,
    read_form_text,
)
from intake.models import PublishedForm

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "LONG_TEXT_LIMIT",
    "RATHER_NOT_SAY",
    "SHORT_TEXT_LIMIT",
    "Form",
    "FormProblems",
    "Kind",
    "Part",
    "Question",
    "Section",
    "Wording",
]

DEFAULT_FORM_ID = "groundwork"
# Answers and records from before forms were data were given under this form and version.
FIRST_FORM = (DEFAULT_FORM_ID, 1)
_NOT_FORMS = frozenset({"common.toml"})  # words shared by every form, not a form

# Parsed once per process, by the digest of the definition's text: the same words are the
# same form, whichever database or app asks for them.
_parsed: dict[str, Form] = {}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _parse(text: str, source: str) -> Form:
    digest = _digest(text)
    form = _parsed.get(digest)
    if form is None:
        form = _parsed[digest] = read_form_text(text, source)
    return form


@dataclass(frozen=True)
class Shipped:
    """A definition that comes with Groundwork, as its file says today."""

    form: Form
    text: str
    path: Path


def shipped_forms(folder: Path = FORMS_FOLDER) -> dict[str, Shipped]:
    """The forms in Groundwork's own folder, by form id."""
    found = {}
    for path in sorted(folder.glob("*.toml")):
        if path.name not in _NOT_FORMS:
            text = path.read_text(encoding="utf-8")
            form = _parse(text, path.name)
            found[form.id] = Shipped(form, text, path)
    return found


DEFAULT_FORM: Form = shipped_forms()[DEFAULT_FORM_ID].form


@dataclass(frozen=True)
class Listed:
    """One published version, as the forms page and `flask forms list` show it."""

    form_id: str
    version: int
    published_at: datetime | None  # None: shipped with Groundwork, not yet used
    live: bool
    languages: tuple[str, ...]
    pages: int


class PublishRefused(ValueError):
    """A definition that cannot be published as it is, with the reasons."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class FormLibrary:
    """Every form this organisation has published, each read once per process.

    A published version never changes, so it is cached by (form id, version); which version is
    live does change, when someone publishes, so it is asked of the database each time a person
    starts.
    """

    def __init__(self, folder: Path = FORMS_FOLDER) -> None:
        self.shipped = shipped_forms(folder)
        self._versions: dict[tuple[str, int], Form] = {}

    def form(self, db: Session, form_id: str | None, version: int | None) -> Form:
        """The form a person follows or an answer was given under (None: before forms were
        data). Raises LookupError for a version nobody published."""
        if form_id is None or version is None:
            form_id, version = FIRST_FORM
        cached = self._versions.get((form_id, version))
        if cached is not None:
            return cached
        text = db.scalar(
            select(PublishedForm.definition).where(
                PublishedForm.form_id == form_id, PublishedForm.version == version
            )
        )
        if text is not None:
            form = _parse(text, f"{form_id} version {version}")
        else:
            shipped = self.shipped.get(form_id)
            if shipped is None or shipped.form.version != version:
                raise LookupError(f"no version {version} of the form {form_id!r}")
            form = shipped.form
        self._versions[(form_id, version)] = form
        return form

    def live(self, db: Session, form_id: str | None = None) -> Form:
        """The version of a form that people starting now fill in: the highest published
        (None, or a form nobody published: Groundwork's own)."""
        form_id = form_id or DEFAULT_FORM_ID
        newest = db.scalar(
            select(func.max(PublishedForm.version)).where(PublishedForm.form_id == form_id)
        )
        shipped = self.shipped.get(form_id)
        if shipped is not None and (newest is None or shipped.form.version > newest):
            return shipped.form
        if newest is None:
            return self.live(db, DEFAULT_FORM_ID)
        return self.form(db, form_id, newest)

    def store_shipped(self, db: Session) -> int:
        """Store the words of each shipped form whose version is not stored yet (run by
        `flask db upgrade`), so that a later release that edits a file never changes what a
        person was shown. How many were stored."""
        stored = {
            (form_id, version)
            for form_id, version in db.execute(select(PublishedForm.form_id, PublishedForm.version))
        }
        added = 0
        for shipped in self.shipped.values():
            if (shipped.form.id, shipped.form.version) not in stored:
                db.add(
                    PublishedForm(
                        form_id=shipped.form.id,
                        version=shipped.form.version,
                        definition=shipped.text,
                        sha256=_digest(shipped.text),
                    )
                )
                sent = recordings.read_folder(recordings.media_folder(shipped.path), shipped.form)
                recordings.store(db, shipped.form, sent)
                added += 1
        db.flush()
        return added

    def check(self, db: Session, text: str, source: str) -> Form:
        """Read a definition as publishing would: FormProblems if it cannot be read, and
        PublishRefused if its version cannot follow what is already published."""
        form = read_form_text(text, source)
        newest = self._newest_version(db, form.id)
        if newest is not None and form.version <= newest:
            raise PublishRefused(
                [
                    f"version {form.version} of {form.id!r} is already published or older "
                    f"than the live one; number this one {newest + 1}"
                ]
            )
        return form

    def publish(
        self,
        db: Session,
        text: str,
        source: str,
        by_staff_id: int | None,
        recordings_sent: Mapping[str, bytes] | None = None,
    ) -> Form:
        """Make a definition the live version of its form, for everyone who starts from now,
        with the recordings it names (PublishRefused if one is missing or is not audio)."""
        form = self.check(db, text, source)
        sent = recordings_sent or {}
        refused = recordings.problems(form, sent)
        if refused:
            raise PublishRefused(refused)
        self.store_shipped(db)  # people may be half-way through a shipped version
        db.add(
            PublishedForm(
                form_id=form.id,
                version=form.version,
                definition=text,
                sha256=_digest(text),
                published_by_id=by_staff_id,
            )
        )
        recordings.store(db, form, sent)
        form = _parse(text, source)
        self._versions[(form.id, form.version)] = form
        return form

    def listed(self, db: Session) -> list[Listed]:
        """Every version of every form, newest first within each form."""
        rows = db.execute(
            select(PublishedForm.form_id, PublishedForm.version, PublishedForm.published_at)
        ).all()
        when = {(form_id, version): at for form_id, version, at in rows}
        keys = set(when) | {(s.form.id, s.form.version) for s in self.shipped.values()}
        live = {form_id: self.live(db, form_id) for form_id, _version in keys}
        listed = []
        for form_id, version in sorted(keys, key=lambda key: (key[0], -key[1])):
            form = self.form(db, form_id, version)
            listed.append(
                Listed(
                    form_id,
                    version,
                    when.get((form_id, version)),
                    live[form_id].id == form_id and live[form_id].version == version,
                    form.languages,
                    form.page_count,
                )
            )
        return listed

    def form_ids(self, db: Session) -> list[str]:
        """Every form a person can be asked to fill in, Groundwork's own first."""
        stored = set(db.scalars(select(PublishedForm.form_id).distinct()))
        others = sorted((stored | set(self.shipped)) - {DEFAULT_FORM_ID})
        return [DEFAULT_FORM_ID, *others]

    def _newest_stored(self, db: Session, form_id: str) -> int | None:
        return db.scalar(
            select(func.max(PublishedForm.version)).where(PublishedForm.form_id == form_id)
        )

    def _newest_version(self, db: Session, form_id: str) -> int | None:
        stored = self._newest_stored(db, form_id)
        shipped = self.shipped.get(form_id)
        versions = [v for v in (stored, shipped.form.version if shipped else None) if v]
        return max(versions) if versions else None
