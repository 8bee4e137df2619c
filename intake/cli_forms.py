"""`flask forms`: checking a form definition before anyone fills it in (docs/forms.md): what
would stop it being published, which languages it can be offered in, and advice on its words."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from intake.form_definition import FormProblems, read_form
from intake.form_review import MAX_GRADE, avoided_words, hardest_to_read

forms_cli = AppGroup("forms", help="The forms people fill in.")


@forms_cli.command("check")
@click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def forms_check(definition: Path) -> None:
    """Read a form definition and say whether it can be published, and if not, why."""
    try:
        form = read_form(definition)
    except FormProblems as refused:
        for problem in refused.problems:
            click.echo(f"{definition.name}: {problem}", err=True)
        count = len(refused.problems)
        raise click.ClickException(
            f"{count} {'problem' if count == 1 else 'problems'}: it cannot be published yet."
        ) from None
    questions = sum(len(section.questions) for section in form.sections)
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
