"""`flask notices send`: queue the notices that have come with time (intake/due_notices.py),
then hand the notices that are due to the mail server (intake/notices.py), and the webhook
messages that are due to partners' receivers (intake/webhooks.py). A timer runs it every minute
(deploy/systemd/groundwork-notices.timer)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from intake import notices, webhooks
from intake.context import webhook_secrets_key, webhook_settings
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


def send_emails() -> int:
    """Queue what has come due with time, and hand due notices to the mail server; how many
    wait for a later try."""
    try:
        server = mail_server()
    except ValueError as wrong:
        click.echo(str(wrong), err=True)
        sys.exit(2)
    if server is None:
        click.echo("Notices are off: set SMTP_URL and SMTP_FROM (docs/deployment.md).")
        return 0
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
    return outcome.delayed


def send_webhooks() -> int:
    """POST due webhook messages to partners; how many wait for a later try."""
    outcome = webhooks.send_due(db_session(), webhook_secrets_key(), webhook_settings())
    click.echo(
        f"Webhooks: {outcome.delivered} delivered, {outcome.delayed} to try again later, "
        f"{outcome.given_up} given up, {outcome.withheld} withheld (no longer shared)."
    )
    return outcome.delayed


@notices_cli.command("send")
def notices_send() -> None:
    """Send every notice and webhook message that is due; one that cannot go now is tried
    again later. Exits with 1 when any must wait."""
    delayed = send_emails() + send_webhooks()
    if delayed:
        sys.exit(1)
