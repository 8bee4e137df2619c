"""`flask notices send`: queue the notices that have come with time (intake/due_notices.py),
then hand the notices that are due to the mail server (intake/notices.py). A timer runs it
every minute (deploy/systemd/groundwork-notices.timer)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from intake import notices
from intake.db import db_session
from intake.links import public_url
from intake.models import utcnow
from intake.tell import tell_due

notices_cli = AppGroup("notices", help="Notices to staff, by email.")


def mail_server() -> notices.MailServer | None:
    """The mail server the settings name; None when notices are off (no SMTP_URL)."""
    config = current_app.config
    if not config.get("SMTP_URL"):
        return None
    return notices.MailServer.from_url(
        config["SMTP_URL"],
        config.get("SMTP_FROM") or "",
        config.get("SMTP_CA_FILE"),
        float(config.get("SMTP_TIMEOUT") or 10),
    )


@notices_cli.command("send")
def notices_send() -> None:
    """Queue what has come due with time, and send every notice that is due; one that cannot go
    now is tried again later."""
    try:
        server = mail_server()
    except ValueError as wrong:
        click.echo(str(wrong), err=True)
        sys.exit(2)
    if server is None:
        click.echo("Notices are off: set SMTP_URL and SMTP_FROM (docs/deployment.md).")
        return
    with current_app.test_request_context():
        sign_in = public_url("auth.sign_in")
    db = db_session()
    now = utcnow()
    # What has come due with time is looked for at every run: a few queries a page of people.
    queued = tell_due(db, now)
    db.commit()
    if queued:
        click.echo(f"Queued {queued} notice(s) of what has come due.")
    outcome = notices.send_due(db, server, current_app.config["STAFF_SITE_NAME"], sign_in, now)
    click.echo(f"Sent {outcome.sent} email(s); {outcome.delayed} notice(s) to try again later.")
    if outcome.delayed:
        sys.exit(1)
