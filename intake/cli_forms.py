"""`flask forms`: checking a form definition before anyone fills it in (docs/forms.md)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from intake.form_definition import FormProblems, read_form

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
        f"{form.id}, version {form.version}: {len(form.sections)} pages, {questions} questions, "
        f"in {', '.join(form.languages)}. It can be published."
    )
