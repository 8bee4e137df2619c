"""`flask` commands: the database, the organisation and its key, staff, ledgers, the demo.

- flask db upgrade — create or update the tables (Alembic)
- flask org init — organisation keypair, first admin, recovery phrase printed once
- flask org recover — every admin password lost: the recovery phrase makes an admin
- flask keys rotate — a new organisation keypair; every client's data key re-sealed
- flask staff invite — a single-use invite link for a coach, admin or partner
- flask staff deactivate USERNAME — sign someone out everywhere and remove their key
- flask staff reset-2fa USERNAME — they set up their 6-digit codes again at next sign-in
- flask sessions purge — delete the rows of sessions that have ended
- flask audit verify — check the access log's chain
- flask consent load | verify — publish new consent texts; check every consent chain
- flask retention run — erase old drafts and long-closed clients
- flask demo — a demo organisation for `make run` (never production)
- flask demo code USERNAME — the demo account's current 6-digit code
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pyotp
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from intake import anchors, audit, consent, crypto, keys, referrals, retention, sessions, staff
from intake.cli_forms import forms_cli
from intake.cli_notices import notices_cli
from intake.context import key_settings, staff_crypto
from intake.db import database, db_session, forget_deleted_pages
from intake.models import PartnerOrg, Role, StaffUser, utcnow
from intake.questionnaire import FormLibrary

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent

db_cli = AppGroup("db", help="The database.")
org_cli = AppGroup("org", help="The coaching organisation and its key.")
staff_cli = AppGroup("staff", help="Coaches, admins and partner staff.")
sessions_cli = AppGroup("sessions", help="Split-key sessions.")
audit_cli = AppGroup("audit", help="The access log.")
consent_cli = AppGroup("consent", help="The consent ledger.")
keys_cli = AppGroup("keys", help="The organisation key over time.")
retention_cli = AppGroup("retention", help="Erasing what is no longer needed.")

DEMO_ORGANISATION = "Demo coaching service"
DEMO_PARTNER_ORG = "Demo refugee charity"
DEMO_ACCOUNTS = (
    # username, display name, role, password
    ("admin", "Demo admin", Role.ADMIN, "green kettle morning"),
    ("coach", "Demo coach", Role.COACH, "blue river lantern"),
    ("partner", "Demo caseworker", Role.PARTNER, "quiet orange harbour"),
)


def register(app: Flask) -> None:
    for group in (
        db_cli,
        org_cli,
        staff_cli,
        sessions_cli,
        audit_cli,
        consent_cli,
        retention_cli,
        keys_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(forms_cli)
    app.cli.add_command(notices_cli)
    app.cli.add_command(demo)


# --- database -----------------------------------------------------------------------------


def alembic_config() -> AlembicConfig:
    # Alembic (with Mako and Pygments) is loaded only when a command needs it: 11 MiB that
    # no web worker uses (docs/performance.md, memory).
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def upgrade_database(app: Flask) -> int:
    """Bring the schema of the app's database to the newest migration, then publish the
    consent texts that are new in consent_texts/ (how many), and store the words of the forms
    shipped with Groundwork that are new (docs/forms.md)."""
    from alembic import command

    config = alembic_config()
    with database(app).engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with database(app).sessions() as db:
        added = publish_shipped(db)
        db.commit()
    return added


def publish_shipped(db: Session) -> int:
    """What comes with Groundwork, published once the schema is up to date: the consent texts
    and the forms that are new in this release (how many consent texts)."""
    added = consent.sync_texts(db)
    FormLibrary().store_shipped(db)
    return added


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or update the tables."""
    try:
        added = upgrade_database(current_app._get_current_object())  # type: ignore[attr-defined]
    except consent.ConsentTextChanged as problem:
        raise click.ClickException(
            f"{problem}. Published words never change: add a new version instead."
        ) from None
    click.echo("The database is up to date.")
    if added:
        click.echo(f"Published {added} new consent texts.")


# --- organisation -------------------------------------------------------------------------


@org_cli.command("init")
@click.option("--name", prompt="Name of the organisation", help="Shown to staff.")
@click.option("--admin-username", prompt="Username of the first admin")
@click.option("--admin-name", prompt="Display name of the first admin")
@click.password_option("--admin-password", prompt="Password of the first admin")
def org_init(name: str, admin_username: str, admin_name: str, admin_password: str) -> None:
    """Make the organisation keypair and the first admin; print the recovery phrase once."""
    db = db_session()
    try:
        _org, admin, phrase = staff.init_organisation(
            db, name, admin_username, admin_name, admin_password, staff_crypto()
        )
    except staff.StaffError as problem:
        raise click.ClickException(str(problem)) from None
    db.commit()
    click.echo(f"The organisation is ready. {admin.username} can sign in now.")
    click.echo("")
    click.echo("RECOVERY PHRASE (shown once, stored nowhere):")
    click.echo(f"    {phrase}")
    click.echo("")
    click.echo("Write it on paper and keep it somewhere safe. If every admin password is lost,")
    click.echo("it is the only way back to the answers people have sent.")


@org_cli.command("recover")
@click.option("--admin-username", prompt="Username of the admin to make or restore")
@click.option("--admin-name", default="", help="Display name, for a new admin.")
def org_recover(admin_username: str, admin_name: str) -> None:
    """Every admin password is lost: the recovery phrase gives an admin the organisation key."""
    phrase = click.prompt("Recovery phrase", hide_input=True)
    password = click.prompt(
        f"New password for {admin_username}", hide_input=True, confirmation_prompt=True
    )
    db = db_session()
    try:
        member = keys.recover(
            db, phrase, admin_username, admin_name or admin_username, password, staff_crypto()
        )
    except staff.StaffError as problem:
        db.rollback()
        raise click.ClickException(str(problem)) from None
    db.commit()
    click.echo(
        f"{member.username} is an admin with the organisation key. "
        "They set up their 6-digit codes at their next sign-in."
    )


@keys_cli.command("rotate")
@click.option("--admin", "admin_username", help="An admin whose password opens the key.")
def keys_rotate(admin_username: str | None) -> None:
    """A new organisation keypair: every client's data key re-sealed, the old key retired."""
    db = db_session()
    if admin_username:
        password = click.prompt(f"Password of {admin_username}", hide_input=True)
        old_key = _org_key_from_admin(admin_username, password)
    else:
        org = staff.organisation(db)
        if org is None:
            raise click.ClickException("There is no organisation yet.")
        phrase = click.prompt("Recovery phrase (or run with --admin USERNAME)", hide_input=True)
        try:
            old_key = staff.recover_org_key(org, phrase)
        except crypto.CannotOpen:
            raise click.ClickException("That recovery phrase does not open the key.") from None
    try:
        result = keys.rotate(db, old_key, staff_crypto())
    except staff.StaffError as problem:
        db.rollback()
        raise click.ClickException(str(problem)) from None
    db.commit()
    click.echo(f"New organisation key {result.new_key_id.hex()} (was {result.old_key_id.hex()}).")
    click.echo(f"Re-sealed the data keys of {result.clients_resealed} clients.")
    click.echo(f"Gave {result.staff_given_the_key} coaches and admins their copy of the new key.")
    if result.staff_left_out:
        click.echo("These accounts need an admin to give them the key again: ")
        click.echo("    " + ", ".join(result.staff_left_out))
    if result.staff_not_yet_post_quantum:
        click.echo(
            "These accounts' copies are sealed to an older personal key; each is sealed again, "
            "with post-quantum protection, the next time they sign in:"
        )
        click.echo("    " + ", ".join(result.staff_not_yet_post_quantum))
    if result.invites_cancelled:
        click.echo(f"Cancelled {result.invites_cancelled} invitations: send new ones.")
    click.echo("Every staff session has ended: everyone signs in again.")
    click.echo("")
    click.echo("NEW RECOVERY PHRASE (shown once, stored nowhere; the old one no longer works):")
    click.echo(f"    {result.recovery_phrase}")


# --- staff --------------------------------------------------------------------------------


def _public_url() -> str:
    return str(current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")


def _org_key_from_admin(username: str, password: str) -> bytes:
    db = db_session()
    result = staff.check_password(db, username, password, staff_crypto(), staff.SignInPolicy())
    db.commit()
    if result is None or not result[0].is_admin:
        raise click.ClickException("That admin username and password did not match.")
    org_key = staff.open_org_key(*result)
    if org_key is None:
        raise click.ClickException("That admin has no copy of the organisation key.")
    return org_key


def make_invite_link(
    role: str,
    display_name: str,
    org_key: bytes | None = None,
    partner_org_name: str | None = None,
    invited_by: StaffUser | None = None,
) -> str:
    db = db_session()
    partner_org = None
    if role == Role.PARTNER:
        if not partner_org_name:
            raise click.ClickException("A partner invite needs --partner-org.")
        partner_org = staff.partner_org_named(db, partner_org_name)
    secret = staff.create_invite(
        db,
        role=role,
        display_name=display_name,
        keys=staff_crypto(),
        days=current_app.config["INVITE_DAYS"],
        org_private_key=org_key,
        partner_org=partner_org,
        invited_by=invited_by,
    )
    db.commit()
    return f"{_public_url()}/staff/join/{secret}"


@staff_cli.command("invite")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "display_name", required=True, help="How they will be shown.")
@click.option("--partner-org", help="For partner staff: their organisation's name.")
@click.option("--admin", "admin_username", help="An admin, to pass on the organisation key.")
def staff_invite(
    role: str, display_name: str, partner_org: str | None, admin_username: str | None
) -> None:
    """Print a single-use invite link. Coaches and admins need an admin's password."""
    org_key = None
    if role != Role.PARTNER:
        if not admin_username:
            raise click.ClickException("Inviting a coach or admin needs --admin USERNAME.")
        password = click.prompt(f"Password of {admin_username}", hide_input=True)
        org_key = _org_key_from_admin(admin_username, password)
    link = make_invite_link(role, display_name, org_key, partner_org)
    days = current_app.config["INVITE_DAYS"]
    click.echo(f"Send this link to {display_name}. It works once, for {days} days:")
    click.echo(f"    {link}")


def _staff_or_fail(username: str) -> StaffUser:
    member = staff.find_staff(db_session(), username)
    if member is None:
        raise click.ClickException("There is nobody with that username.")
    return member


@staff_cli.command("deactivate")
@click.argument("username")
def staff_deactivate(username: str) -> None:
    """Sign someone out everywhere and delete their copy of the organisation key."""
    db = db_session()
    staff.deactivate(db, _staff_or_fail(username))
    db.commit()
    click.echo(f"{username} is deactivated and signed out everywhere.")


@staff_cli.command("reset-2fa")
@click.argument("username")
def staff_reset_two_factor(username: str) -> None:
    """Forget someone's 6-digit-code app; they set it up again at their next sign-in."""
    db = db_session()
    staff.reset_two_factor(db, _staff_or_fail(username))
    db.commit()
    click.echo(f"{username} will set up their 6-digit codes again at their next sign-in.")


@sessions_cli.command("purge")
def sessions_purge() -> None:
    """Delete the rows of sessions that have ended."""
    count = sessions.purge_ended(current_app.config)
    click.echo(f"Deleted {count} ended sessions.")


def _parse_anchors(typed: tuple[str, ...]) -> list[anchors.Anchor]:
    """Every anchor given, or a refusal naming the form, before anything is claimed."""
    parsed = [anchors.Anchor.parse(anchor) for anchor in typed]
    found = [anchor for anchor in parsed if anchor is not None]
    if len(found) != len(parsed):
        raise click.ClickException(
            "An anchor looks like 1234:<64 letters and digits>, as an earlier verify printed it."
        )
    return found


def _check_anchors(
    what: str,
    given: list[anchors.Anchor],
    state_of: Callable[[anchors.Anchor], anchors.AnchorState],
) -> None:
    for anchor in given:
        state = state_of(anchor)
        if state == anchors.AnchorState.MISSING:
            raise click.ClickException(f"{what} was cut short: entry {anchor.entry_id} is missing.")
        if state == anchors.AnchorState.CHANGED:
            raise click.ClickException(
                f"{what} was rewritten: it does not match the anchor for entry {anchor.entry_id}."
            )
        click.echo(f"The anchor holds: entry {anchor.entry_id} is as it was.")


def _print_anchor(newest: anchors.Anchor | None, command: str) -> None:
    if newest is None:
        return
    click.echo(f"Anchor: {newest}")
    click.echo(
        "Keep this line outside the database (a backup report, a log shipper). Later, "
        f"`flask {command} --anchor <it>` shows that nothing up to it was rewritten or cut off."
    )


ANCHOR_OPTION = click.option(
    "--anchor",
    "typed_anchors",
    multiple=True,
    help="An anchor printed by an earlier run (1234:<hash>); may be given more than once.",
)


@audit_cli.command("verify")
@ANCHOR_OPTION
def audit_verify(typed_anchors: tuple[str, ...]) -> None:
    """Check that no entry of the access log was changed, removed or inserted, and that the
    entries named by earlier anchors are still as they were."""
    given = _parse_anchors(typed_anchors)
    db = db_session()
    broken_at = audit.verify(db)
    if broken_at is not None:
        raise click.ClickException(f"The access log is broken at entry {broken_at}.")
    _check_anchors("The access log", given, lambda anchor: audit.anchor_state(db, anchor))
    click.echo("The access log is complete: every entry follows the one before it.")
    _print_anchor(audit.head(db), "audit verify")


@consent_cli.command("load")
def consent_load() -> None:
    """Publish the consent texts that are new in consent_texts/."""
    db = db_session()
    try:
        added = consent.sync_texts(db)
    except consent.ConsentTextChanged as problem:
        raise click.ClickException(
            f"{problem}. Published words never change: add a new version instead."
        ) from None
    db.commit()
    click.echo(f"Published {added} new consent texts.")


@consent_cli.command("verify")
@ANCHOR_OPTION
def consent_verify(typed_anchors: tuple[str, ...]) -> None:
    """Check every client's chain of consent decisions, and that the decisions up to earlier
    anchors are still as they were."""
    given = _parse_anchors(typed_anchors)
    db = db_session()
    broken = consent.broken_chains(db)
    if broken:
        raise click.ClickException(
            "These clients' consent records were changed: " + ", ".join(broken)
        )
    _check_anchors("The consent ledger", given, lambda anchor: consent.anchor_state(db, anchor))
    click.echo("Every consent record is complete: each decision follows the one before it.")
    _print_anchor(consent.head(db), "consent verify")


@retention_cli.command("run")
def retention_run() -> None:
    """Erase drafts never sent, and closed clients, past their time."""
    db = db_session()
    config = current_app.config
    result = retention.run(
        db, utcnow(), config["RETENTION_DRAFT_DAYS"], config["RETENTION_CLOSED_DAYS"]
    )
    db.commit()
    forget_deleted_pages(db)
    click.echo(
        f"Erased {result.drafts_erased} drafts never sent "
        f"(older than {config['RETENTION_DRAFT_DAYS']} days) and {result.closed_erased} "
        f"closed clients (closed over {config['RETENTION_CLOSED_DAYS']} days ago)."
    )


# --- demo ---------------------------------------------------------------------------------


def _refuse_in_production() -> None:
    if current_app.config["ENV"] == "production":
        raise click.ClickException("The demo never runs in production.")


def _demo_totp_secret(member: StaffUser, password: str) -> str | None:
    result = staff.check_password(
        db_session(), member.username, password, staff_crypto(), staff.SignInPolicy()
    )
    if result is None:
        return None
    return staff.read_totp_secret(*result)


def setup_demo() -> bool:
    """Make the demo organisation, partner and accounts. False if they were already there."""
    db = db_session()
    if staff.organisation(db) is not None:
        return False
    admin_username, admin_name, _role, admin_password = DEMO_ACCOUNTS[0]
    _org, admin, _phrase = staff.init_organisation(
        db, DEMO_ORGANISATION, admin_username, admin_name, admin_password, staff_crypto()
    )
    result = staff.check_password(
        db, admin_username, admin_password, staff_crypto(), staff.SignInPolicy()
    )
    assert result is not None
    org_key = staff.open_org_key(*result)
    partner_org = PartnerOrg(name=DEMO_PARTNER_ORG)
    db.add(partner_org)
    members = [admin]
    for username, display_name, role, password in DEMO_ACCOUNTS[1:]:
        members.append(
            staff.create_staff(
                db,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                keys=staff_crypto(),
                org_private_key=org_key,
                partner_org=partner_org if role == Role.PARTNER else None,
            )
        )
    for member, (_u, _n, _r, password) in zip(members, DEMO_ACCOUNTS, strict=True):
        found = staff.check_password(
            db, member.username, password, staff_crypto(), staff.SignInPolicy()
        )
        assert found is not None
        staff.store_totp_secret(member, found[1], staff.new_totp_secret())
    db.commit()
    return True


@click.group("demo", invoke_without_command=True)
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Set up the demo organisation (once) and print how to sign in."""
    if ctx.invoked_subcommand is not None:
        return
    with current_app.app_context():
        _refuse_in_production()
        made = setup_demo()
        click.echo("Demo organisation " + ("created." if made else "already there: kept as it is."))
        click.echo("")
        click.echo(f"Sign in at {_public_url()}/staff/sign-in as one of:")
        for username, _name, role, password in DEMO_ACCOUNTS:
            click.echo(f"    {role:8}  username: {username:8}  password: {password}")
        click.echo("")
        click.echo("Each demo account has its 6-digit codes set up already. For the current code:")
        click.echo("    make code ACCOUNT=coach")
        click.echo(f"The client forms start at {_public_url()}/")
        link, code = _demo_referral()
        click.echo("A fresh demo referral from the demo charity (each works once):")
        click.echo(f"    link: {link}")
        click.echo(f"    code: {code}  (type it at {_public_url()}/referral-code)")


def _demo_referral() -> tuple[str, str]:
    """A new referral from the demo partner, as a caseworker would make one."""
    db = db_session()
    org = staff.organisation(db)
    partner = staff.find_staff(db, "partner")
    if org is None or partner is None or partner.partner_org is None:
        raise click.ClickException(
            "The demo partner is missing: run `flask demo` on a new database."
        )
    made = referrals.create(
        db,
        partner_org=partner.partner_org,
        created_by=partner,
        locale="en",
        nickname="",
        note="A demo referral: the note a caseworker leaves for the coach.",
        org_public_key=org.public_key,
        keys=key_settings(),
        days=int(current_app.config["REFERRAL_DAYS"]),
    )
    db.commit()
    return f"{_public_url()}/r/{made.link_token}", made.code


@demo.command("code")
@click.argument("username")
def demo_code(username: str) -> None:
    """Print a demo account's current 6-digit code."""
    _refuse_in_production()
    passwords = {name: password for name, _n, _r, password in DEMO_ACCOUNTS}
    if username not in passwords:
        raise click.ClickException(f"Demo accounts are: {', '.join(passwords)}.")
    member = _staff_or_fail(username)
    secret = _demo_totp_secret(member, passwords[username])
    db_session().commit()
    if secret is None:
        raise click.ClickException("That demo account has no 6-digit codes set up.")
    now = datetime.now(UTC)
    click.echo(pyotp.TOTP(secret).at(now))
