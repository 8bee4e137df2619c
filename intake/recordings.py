"""Recorded audio of a form's questions (ODK's media::audio): checking the files a form names,
keeping them with the published version, finding them by their hash, and which questions have
a recording in which language.

A form definition names a file for a question's label and for its "why we ask", per language
(docs/forms.md); the files come from a folder beside the definition (`<definition>-media/`).
A recording is not personal: anyone with its address can hear it, and the address is the
hash of its content, so it can be cached like a static file. Flask-free.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.form_definition import AUDIO_MEDIA_TYPES, Form, Question, Section
from intake.models import FormRecording

# A minute of speech is about 240 KB as Opus or MP3 at 32 kbit/s: a recording bigger than this
# costs someone on a metered phone more than it gives them.
MAX_BYTES = 1_000_000
MEDIA_FOLDER_SUFFIX = "-media"
NOT_FROM_THE_FORMS_PAGE = (
    "this form names recordings, and the forms page cannot take them yet: publish it with "
    "`flask forms publish`, with the recordings in the folder beside the definition "
    '(docs/forms.md, "Recordings")'
)

# What each kind of audio file starts with, so a file named .mp3 that is not audio is refused.
_SIGNATURES: dict[str, tuple[tuple[int, bytes], ...]] = {
    "audio/ogg": ((0, b"OggS"),),
    "audio/mpeg": ((0, b"ID3"), (0, b"\xff\xfb"), (0, b"\xff\xf3"), (0, b"\xff\xf2")),
    "audio/wav": ((8, b"WAVE"),),
    "audio/mp4": ((4, b"ftyp"),),
    "audio/webm": ((0, b"\x1a\x45\xdf\xa3"),),
}


def media_type_of(name: str) -> str:
    return AUDIO_MEDIA_TYPES[name.rsplit(".", 1)[-1].lower()]


def is_audio(name: str, content: bytes) -> bool:
    """The file starts as the kind of audio its name says."""
    return any(
        content[at : at + len(start)] == start for at, start in _SIGNATURES[media_type_of(name)]
    )


def media_folder(definition: Path) -> Path:
    """Where a definition's recordings are: `intake.toml` has them in `intake-media/`."""
    return definition.with_name(definition.stem + MEDIA_FOLDER_SUFFIX)


def read_folder(folder: Path, form: Form) -> dict[str, bytes]:
    """The recordings the form names that the folder holds (no others are read)."""
    if not folder.is_dir():
        return {}
    found = {}
    for name in sorted(form.recording_names):
        path = folder / name
        if path.is_file():
            found[name] = path.read_bytes()
    return found


def problems(form: Form, files: Mapping[str, bytes]) -> list[str]:
    """Why these recordings cannot be published with the form: each named file must be there,
    be audio of the kind its name says, and be small enough for a phone."""
    found = []
    for name in sorted(form.recording_names):
        content = files.get(name)
        if content is None:
            found.append(f"the recording {name!r} is named in the form but was not sent with it")
        elif len(content) > MAX_BYTES:
            found.append(
                f"the recording {name!r} is {len(content) // 1000} KB; make it smaller than "
                f"{MAX_BYTES // 1000} KB (a minute of speech as Opus or MP3 is about 240 KB)"
            )
        elif not is_audio(name, content):
            found.append(f"the recording {name!r} is not {media_type_of(name)} audio")
    return found


def store(db: Session, form: Form, files: Mapping[str, bytes]) -> int:
    """Keep the recordings the form names with its version (checked by `problems` first)."""
    for name in sorted(form.recording_names):
        content = files[name]
        db.add(
            FormRecording(
                form_id=form.id,
                version=form.version,
                name=name,
                sha256=hashlib.sha256(content).hexdigest(),
                media_type=media_type_of(name),
                content=content,
            )
        )
    db.flush()
    return len(form.recording_names)


def address(sha256: str, name: str) -> str:
    """The last part of a recording's address: its hash, then the ending its player expects."""
    return f"{sha256}.{name.rsplit('.', 1)[-1].lower()}"


# A published version's recordings never change: their addresses are read once per process.
_addresses: dict[tuple[str, int], dict[str, str]] = {}


def addresses(db: Session, form: Form) -> dict[str, str]:
    """The address of each recording the form's version holds, by file name."""
    if not form.recording_names:
        return {}
    key = (form.id, form.version)
    known = _addresses.get(key)
    if known is None:
        rows = db.execute(
            select(FormRecording.name, FormRecording.sha256).where(
                FormRecording.form_id == form.id, FormRecording.version == form.version
            )
        )
        known = {name: address(sha256, name) for name, sha256 in rows}
        if known:  # a form with none stored yet may have them stored in a moment
            _addresses[key] = known
    return known


def find(db: Session, sha256: str) -> FormRecording | None:
    return db.scalar(select(FormRecording).where(FormRecording.sha256 == sha256).limit(1))


@dataclass(frozen=True)
class Heard:
    """The recordings of one question in the reader's language: addresses, or None."""

    label: str | None
    why: str | None


def heard_on(section: Section, stored: Mapping[str, str], language: str) -> dict[str, Heard]:
    """The recordings of a page's questions in `language`, by question key (only questions
    with at least one)."""
    found = {}
    for question in section.questions:
        label = question.recordings.label.get(language)
        why = question.recordings.why.get(language)
        heard = Heard(stored.get(label or ""), stored.get(why or ""))
        if heard.label or heard.why:
            found[question.key] = heard
    return found


class Coverage(StrEnum):
    RECORDED = "recorded"
    MISSING = "missing"  # named by the form, but not stored with it
    NONE = "none"


@dataclass(frozen=True)
class CoverageRow:
    """One question, and for each of the form's languages whether its label and its "why we
    ask" can be heard."""

    page_number: int
    page_key: str
    question: Question
    label: Mapping[str, Coverage]
    why: Mapping[str, Coverage]


def coverage(form: Form, stored: Mapping[str, str]) -> list[CoverageRow]:
    """Which questions of a form have recordings, in which language (the admins' view)."""

    def state(names: Mapping[str, str], language: str) -> Coverage:
        name = names.get(language)
        if name is None:
            return Coverage.NONE
        return Coverage.RECORDED if name in stored else Coverage.MISSING

    rows = []
    for number, section in enumerate(form.sections, start=1):
        for question in section.questions:
            recordings = question.recordings
            rows.append(
                CoverageRow(
                    number,
                    section.key,
                    question,
                    {code: state(recordings.label, code) for code in form.languages},
                    {code: state(recordings.why, code) for code in form.languages},
                )
            )
    return rows
