"""`flask forms`: checking a form definition before anyone fills it in (docs/forms.md): what
would stop it being published, which languages it can be offered in, and advice on its words;
publishing it as the live version of its form; and listing what is published."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from intake import recordings
from intake.context import form_library
from intake.db import db_session
from intake.form_definition import Form, FormProblems, read_form, read_form_text
from intake.form_review import MAX_GRADE, avoided_words, hardest_to_read
from intake.questionnaire import PublishRefused
from intake.xlsform import ImportRefused, import_xlsform

forms_cli = AppGroup("forms", help="The forms people fill in.")


@forms_cli.command("check")
@click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def forms_check(definition: Path) -> None:
    """Read a form definition and say whether it can be published, and if not, why."""
    try:
        form = read_form(definition)
    except FormProblems as refused:
        _refuse(definition.name, refused.problems)
    sent = recordings.read_folder(recordings.media_folder(definition), form)
    refused_recordings = recordings.problems(form, sent)
    if refused_recordings:
        _refuse(definition.name, refused_recordings)
    _advise(form)


@forms_cli.command("publish")
@click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def forms_publish(definition: Path) -> None:
    """Publish a form definition: everyone who starts the form from now fills in this version.
    People half-way through an earlier version finish the version they started. The
    recordings it names are read from the folder beside it (intake.toml: intake-media/)."""
    db = db_session()
    try:
        text = definition.read_text(encoding="utf-8")
        named = read_form_text(text, definition.name)
        sent = recordings.read_folder(recordings.media_folder(definition), named)
        form = form_library().publish(db, text, definition.name, None, sent)
    except (FormProblems, PublishRefused) as refused:
        _refuse(definition.name, refused.problems)
    except UnicodeDecodeError:
        _refuse(definition.name, ["not readable: save it as UTF-8 text"])
    db.commit()
    _advise(form)
    if sent:
        click.echo(f"{_count(len(sent), 'recording')} published with it.")
    click.echo(f"Published: {form.id}, version {form.version} is live.")


@forms_cli.command("import")
@click.argument("xlsform", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it.")
@click.option("--id", "form_id", help="The form's id, instead of the settings sheet's form_id.")
@click.option("--version", type=click.IntRange(1, 2**31 - 1), help="The version to give it.")
def forms_import(xlsform: Path, out: Path | None, form_id: str | None, version: int | None) -> None:
    """Make a form definition from an XLSForm (as KoboToolbox and ODK use), naming every row
    that could not be carried over; then check it as `check` does. Nothing is published."""
    try:
        imported = import_xlsform(xlsform, xlsform.name, form_id=form_id, version=version)
    except ImportRefused as refused:
        _refuse(xlsform.name, refused.problems)
    for line in imported.not_mapped:
        click.echo(f"Not mapped: {line}")
    for line in imported.warnings:
        click.echo(f"Changed: {line}")
    target = out or xlsform.with_suffix(".toml")
    target.write_text(imported.definition, encoding="utf-8")
    click.echo(f"Written to {target}")
    try:
        form = read_form(target)
    except FormProblems as refused:
        _refuse(target.name, refused.problems)
    _advise(form)


@forms_cli.command("list")
def forms_list() -> None:
    """Every version of every form, and which one is live."""
    for item in form_library().listed(db_session()):
        state = "live" if item.live else "earlier version"
        when = item.published_at.strftime("%Y-%m-%d") if item.published_at else "shipped"
        click.echo(
            f"{item.form_id}  version {item.version}  {state}  {when}  "
            f"{_count(item.pages, 'page')}  {', '.join(item.languages)}"
        )


def _refuse(source: str, problems: list[str]) -> NoReturn:
    for problem in problems:
        click.echo(f"{source}: {problem}", err=True)
    count = len(problems)
    raise click.ClickException(
        f"{count} {'problem' if count == 1 else 'problems'}: it cannot be published yet."
    )


def _advise(form: Form) -> None:
    """What `check` says of a form that can be published: its size, languages and words."""
    questions = sum(len(section.asked) for section in form.sections)
    click.echo(
        f"{form.id}, version {form.version}: {_count(len(form.sections), 'page')}, "
        f"{_count(questions, 'question')}, in {', '.join(form.languages)}. It can be published."
    )
    for language, missing in form.not_offered.items():
        click.echo(f"Not offered in {language} until these are written: {'; '.join(missing)}")
    for found in avoided_words(form):
        click.echo(f"A word Groundwork avoids (VOICE.md), at {found}")
    hardest = hardest_to_read(form)
    if hardest:
        click.echo(f"The hardest English to read (reading grade, plain up to {MAX_GRADE:.0f}):")
        for item in hardest:
            too_hard = " (too hard)" if item.grade > MAX_GRADE else ""
            click.echo(f"  {item.grade:4.1f}{too_hard}  {item.where}: {item.text}")


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"
