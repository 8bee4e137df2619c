"""The `flask` commands an operator runs: the organisation and its recovery phrase, staff
invitations that pass on the organisation key, deactivation, 2FA resets, the demo, and the
database upgrade (DESIGN.md §5, §6, §11).

Commands run through Flask's test CLI runner inside an app context, as `flask` itself runs
every command; what they print is then used the way a person would: the phrase opens the key,
the invite link is followed in a browser, the demo passwords and codes sign in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.app import settings_for
from support.pages import csrf
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team
from werkzeug.test import TestResponse

from intake import consent, create_app, crypto, staff
from intake.auth.views import ORG_KEY
from intake.cli import DEMO_ACCOUNTS
from intake.context import staff_crypto
from intake.db import database, db_session
from intake.models import (
    Base,
    Organisation,
    PartnerOrg,
    Role,
    SessionRecord,
    StaffInvite,
    StaffUser,
)

ADMIN_PASSWORD = "lanterns along the quay"
NEW_PASSWORD = "seven swans on a grey lake"


def invoke(app: Flask, *args: str, answers: str | None = None) -> Result:
    """Run `flask <args>` as the `flask` command does (it pushes an app context for every
    command), typing `answers` at its prompts."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=answers)


def count(app: Flask, model: type[Base]) -> int:
    with app.app_context():
        return int(db_session().scalar(select(func.count()).select_from(model)) or 0)


def member(app: Flask, username: str) -> StaffUser:
    with app.app_context():
        found = staff.find_staff(db_session(), username)
        assert found is not None, username
        db_session().expunge(found)
        return found


def org_key_of(app: Flask, username: str, password: str) -> bytes | None:
    """The organisation key as this person's own copy opens it, with their password."""
    with app.app_context():
        db = db_session()
        found = staff.check_password(db, username, password, staff_crypto(), staff.SignInPolicy())
        db.commit()
        assert found is not None, f"{username} cannot sign in"
        return staff.open_org_key(*found)


def database_bytes(app: Flask) -> bytes:
    """Every value in every table, as bytes: what a stolen copy of the database holds."""
    parts = []
    with app.app_context():
        db = db_session()
        for table in Base.metadata.sorted_tables:
            for row in db.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value))
                    elif value is not None:
                        parts.append(str(value).encode())
    return b"\x00".join(parts)


def enrolment_secret(client: FlaskClient) -> str:
    """The key the two-factor page shows as text, for people who cannot scan the picture."""
    page = client.get("/staff/two-factor").get_data(as_text=True)
    shown = re.search(r'<p class="code"[^>]*>(.*?)</p>', page, re.DOTALL)
    assert shown, "the two-factor page does not offer enrolment"
    return "".join(re.findall(r"<span>([A-Z2-7=]+)</span>", shown.group(1)))


def enrol_and_sign_in(client: FlaskClient, username: str, password: str) -> str:
    """Sign in for the first time: password, set up the 6-digit codes, land in the workspace."""
    first = StaffBrowser.post_password(client, username, password)
    assert first.status_code == 302, first.get_data(as_text=True)
    secret = enrolment_secret(client)
    done = StaffBrowser.post_code(client, pyotp.TOTP(secret).now())
    assert done.status_code == 302, done.get_data(as_text=True)
    landing = urlsplit(done.headers["Location"]).path
    assert landing in ("/workspace", "/partner/")
    assert client.get(landing).status_code == 200
    return secret


def session_secret(client: FlaskClient, name: str) -> bytes | None:
    """A key held in this browser's server-side session (opened with the cookie's key)."""
    with client.session_transaction() as session:
        return session.get_secret(name)  # type: ignore[attr-defined, no-any-return]


def invite_link(result: Result) -> str:
    assert result.exit_code == 0, result.output
    found = re.search(r"(https?://\S+/staff/join/\S+)", result.output)
    assert found, result.output
    return urlsplit(found.group(1)).path


def join(client: FlaskClient, path: str, username: str, password: str) -> TestResponse:
    """Follow an invite link and fill in the join form, like the invited person would."""
    secret = path.rsplit("/", 1)[1]
    opened = client.get(path)
    assert opened.status_code == 302
    assert urlsplit(opened.headers["Location"]).path == "/staff/join"
    assert secret not in opened.headers["Location"]
    form = client.get("/staff/join")
    assert form.status_code == 200
    assert secret not in form.get_data(as_text=True)
    return client.post(
        "/staff/join",
        data={
            "username": username,
            "password": password,
            "password_again": password,
            "csrf_token": csrf(client, "/staff/join"),
        },
    )


@pytest.fixture
def production_app(database_url: str, instance_path: Path) -> Iterator[Flask]:
    application = create_app(
        settings_for(
            database_url, ENV="production", PUBLIC_URL="https://forms.example.org", HOSTS=1
        ),
        instance_path=str(instance_path),
    )
    yield application
    database(application).engine.dispose()


# --- org init -----------------------------------------------------------------------------


def org_init(app: Flask, username: str = "ada") -> Result:
    answers = ["Harbour coaching", username, "Ada Admin", ADMIN_PASSWORD, ADMIN_PASSWORD]
    return invoke(app, "org", "init", answers="\n".join(answers) + "\n")


def printed_phrase(result: Result) -> str:
    found = re.search(r"RECOVERY PHRASE[^\n]*\n\s*(\S+)\s*\n", result.output)
    assert found, result.output
    return found.group(1)


def test_org_init_prints_a_recovery_phrase_that_opens_the_org_key(app: Flask) -> None:
    result = org_init(app)

    assert result.exit_code == 0, result.output
    phrase = printed_phrase(result)
    assert result.output.count(phrase) == 1, "the phrase is shown once"
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        recovered = staff.recover_org_key(org, phrase)
        assert crypto.public_key_of(recovered) == org.public_key
        # As typed back from paper: lower case, spaces for dashes.
        assert staff.recover_org_key(org, phrase.lower().replace("-", " ")) == recovered
        wrong = ("2" if phrase[0] != "2" else "3") + phrase[1:]
        with pytest.raises(crypto.CannotOpen):
            staff.recover_org_key(org, wrong)
    assert org_key_of(app, "ada", ADMIN_PASSWORD) == recovered


def test_the_recovery_phrase_and_password_are_nowhere_in_the_database(app: Flask) -> None:
    phrase = printed_phrase(org_init(app))

    stolen = database_bytes(app)

    assert stolen, "the database dump is empty"
    for form in {phrase, crypto.normalise_recovery_phrase(phrase), phrase.lower()}:
        assert form.encode() not in stolen
    assert ADMIN_PASSWORD.encode() not in stolen


def test_org_init_twice_is_refused_and_keeps_the_first_organisation(app: Flask) -> None:
    phrase = printed_phrase(org_init(app))

    again = org_init(app, username="mallory")

    assert again.exit_code != 0
    assert "already has an organisation" in again.output
    assert "RECOVERY PHRASE" not in again.output
    assert count(app, Organisation) == 1
    assert count(app, StaffUser) == 1
    with app.app_context():
        assert staff.find_staff(db_session(), "mallory") is None
        org = staff.organisation(db_session())
        assert org is not None
        assert crypto.public_key_of(staff.recover_org_key(org, phrase)) == org.public_key


# --- staff invite -------------------------------------------------------------------------


def invite_coach(app: Flask, name: str = "Cora Coach") -> str:
    result = invoke(
        app,
        "staff",
        "invite",
        "--role",
        "coach",
        "--name",
        name,
        "--admin",
        "admin",
        answers=PASSWORDS["admin"] + "\n",
    )
    assert PASSWORDS["admin"] not in result.output, "the password is echoed"
    return invite_link(result)


def test_an_invited_coach_joins_signs_in_and_holds_the_org_key(
    app: Flask, team: Team, client: FlaskClient
) -> None:
    path = invite_coach(app)
    secret = path.rsplit("/", 1)[1]
    assert secret.encode() not in database_bytes(app), "the invite secret is stored"

    joined = join(client, path, "cora", NEW_PASSWORD)

    assert joined.status_code == 302, joined.get_data(as_text=True)
    assert urlsplit(joined.headers["Location"]).path == "/staff/sign-in"
    cora = member(app, "cora")
    assert (cora.role, cora.display_name) == (Role.COACH, "Cora Coach")
    enrol_and_sign_in(client, "cora", NEW_PASSWORD)
    assert session_secret(client, ORG_KEY) == team.org_private_key
    assert org_key_of(app, "cora", NEW_PASSWORD) == team.org_private_key
    with app.app_context():
        invite = db_session().scalar(select(StaffInvite))
        assert invite is not None
        assert invite.used_at is not None
        assert invite.org_key_wrapped is None, "the used invite still holds the org key"


def test_an_invite_link_works_once(app: Flask, team: Team, client: FlaskClient) -> None:
    path = invite_coach(app)
    assert join(client, path, "cora", NEW_PASSWORD).status_code == 302

    again = team.app.test_client()
    opened = again.get(path)
    closed = again.get("/staff/join")

    assert opened.status_code == 302
    assert closed.status_code == 404
    assert "This invitation cannot be used" in closed.get_data(as_text=True)
    assert count(app, StaffUser) == 5


def test_a_made_up_invite_link_gets_the_kind_page(client: FlaskClient, team: Team) -> None:
    client.get("/staff/join/" + crypto.new_secret_token())
    closed = client.get("/staff/join")

    assert closed.status_code == 404
    assert "This invitation cannot be used" in closed.get_data(as_text=True)


def test_inviting_a_coach_needs_an_admin_and_their_password(app: Flask, team: Team) -> None:
    args = ("staff", "invite", "--role", "coach", "--name", "Cora Coach")
    without_admin = invoke(app, *args)
    wrong_password = invoke(app, *args, "--admin", "admin", answers="not the password at all\n")
    not_an_admin = invoke(app, *args, "--admin", "coach", answers=PASSWORDS["coach"] + "\n")

    for result in (without_admin, wrong_password, not_an_admin):
        assert result.exit_code != 0
        assert "/staff/join/" not in result.output
    assert "--admin" in without_admin.output
    assert "did not match" in wrong_password.output
    assert "did not match" in not_an_admin.output
    assert count(app, StaffInvite) == 0


def test_a_partner_invite_names_the_partner_org_and_carries_no_org_key(
    app: Flask, team: Team, client: FlaskClient
) -> None:
    result = invoke(
        app, "staff", "invite", "--role", "partner", "--name", "Pia", "--partner-org", "Harbour"
    )
    path = invite_link(result)
    with app.app_context():
        invite = db_session().scalar(select(StaffInvite))
        assert invite is not None
        assert invite.org_key_wrapped is None

    assert join(client, path, "pia", NEW_PASSWORD).status_code == 302
    enrol_and_sign_in(client, "pia", NEW_PASSWORD)

    pia = member(app, "pia")
    assert pia.role == Role.PARTNER
    assert pia.wrapped_org_key is None
    with app.app_context():
        org = db_session().get(PartnerOrg, pia.partner_org_id)
        assert org is not None
        assert org.name == "Harbour"
    assert session_secret(client, ORG_KEY) is None
    assert org_key_of(app, "pia", NEW_PASSWORD) is None


def test_a_partner_invite_without_a_partner_org_is_refused(app: Flask, team: Team) -> None:
    result = invoke(app, "staff", "invite", "--role", "partner", "--name", "Pia")

    assert result.exit_code != 0
    assert "--partner-org" in result.output
    assert count(app, StaffInvite) == 0


# --- staff deactivate and reset-2fa -------------------------------------------------------


def test_deactivating_signs_someone_out_and_removes_their_key(
    app: Flask, team: Team, client: FlaskClient, auth: StaffBrowser
) -> None:
    auth.sign_in("coach", browser=client)
    assert client.get("/workspace").status_code == 200

    result = invoke(app, "staff", "deactivate", "coach")

    assert result.exit_code == 0, result.output
    assert client.get("/workspace").status_code == 302, "still signed in"
    refused = auth.post_password(client, "coach", PASSWORDS["coach"])
    assert refused.status_code != 302, "a deactivated coach signed in"
    coach = member(app, "coach")
    assert coach.active is False
    assert coach.wrapped_org_key is None
    with app.app_context():
        rows = (
            db_session()
            .scalars(select(SessionRecord).where(SessionRecord.staff_id == coach.id))
            .all()
        )
        assert rows == []
    assert org_key_of(app, "coach2", PASSWORDS["coach2"]) == team.org_private_key


def test_deactivating_nobody_says_so(app: Flask, team: Team) -> None:
    result = invoke(app, "staff", "deactivate", "nobody-here")

    assert result.exit_code != 0
    assert "nobody with that username" in result.output


def test_reset_2fa_signs_out_and_asks_for_a_new_code_app(
    app: Flask, team: Team, client: FlaskClient, auth: StaffBrowser
) -> None:
    auth.sign_in("coach", browser=client)

    result = invoke(app, "staff", "reset-2fa", "coach")

    assert result.exit_code == 0, result.output
    assert client.get("/workspace").status_code == 302, "still signed in"
    assert auth.post_password(client, "coach", PASSWORDS["coach"]).status_code == 302
    new_secret = enrolment_secret(client)
    assert new_secret != team.totp["coach"]
    assert auth.post_code(client, team.code("coach")).status_code != 302, "the old app still works"
    assert auth.post_code(client, pyotp.TOTP(new_secret).now()).status_code == 302
    assert client.get("/workspace").status_code == 200
    assert session_secret(client, ORG_KEY) == team.org_private_key


# --- demo ---------------------------------------------------------------------------------


def printed_accounts(result: Result) -> dict[str, str]:
    return dict(re.findall(r"username:\s*(\S+)\s+password:\s*(.+?)\s*$", result.output, re.M))


def test_demo_sets_up_once_and_prints_working_logins(app: Flask, client: FlaskClient) -> None:
    first = invoke(app, "demo")

    assert first.exit_code == 0, first.output
    accounts = printed_accounts(first)
    assert set(accounts) == {username for username, *_ in DEMO_ACCOUNTS}
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        public_key = org.public_key
    admin_key = org_key_of(app, "admin", accounts["admin"])
    assert admin_key is not None
    for username, password in accounts.items():
        someone = member(app, username)
        if someone.role == Role.PARTNER:
            assert someone.partner_org_id is not None
            assert org_key_of(app, username, password) is None
        else:
            assert someone.partner_org_id is None, f"the demo {username} is in a partner org"
            assert org_key_of(app, username, password) == admin_key

    second = invoke(app, "demo")

    assert second.exit_code == 0, second.output
    assert printed_accounts(second) == accounts
    assert count(app, Organisation) == 1
    assert count(app, StaffUser) == len(DEMO_ACCOUNTS)
    assert count(app, PartnerOrg) == 1
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        assert org.public_key == public_key


def test_demo_code_signs_the_demo_coach_in(app: Flask, client: FlaskClient) -> None:
    accounts = printed_accounts(invoke(app, "demo"))

    result = invoke(app, "demo", "code", "coach")

    assert result.exit_code == 0, result.output
    code = result.output.strip()
    assert re.fullmatch(r"\d{6}", code), result.output
    with app.app_context():
        db = db_session()
        found = staff.check_password(
            db, "coach", accounts["coach"], staff_crypto(), staff.SignInPolicy()
        )
        assert found is not None
        secret = staff.read_totp_secret(*found)
        db.commit()
    assert secret is not None
    assert pyotp.TOTP(secret).verify(code, valid_window=1)
    assert StaffBrowser.post_password(client, "coach", accounts["coach"]).status_code == 302
    assert StaffBrowser.post_code(client, code).status_code == 302
    assert client.get("/workspace").status_code == 200


def test_demo_code_for_someone_else_is_refused(app: Flask) -> None:
    invoke(app, "demo")

    result = invoke(app, "demo", "code", "mallory")

    assert result.exit_code != 0
    assert not re.search(r"\b\d{6}\b", result.output)


def test_the_demo_never_runs_in_production(production_app: Flask) -> None:
    made = invoke(production_app, "demo")
    code = invoke(production_app, "demo", "code", "coach")

    for result in (made, code):
        assert result.exit_code != 0
        assert "never runs in production" in result.output
    assert "password:" not in made.output
    assert count(production_app, Organisation) == 0
    assert count(production_app, StaffUser) == 0


# --- db upgrade ---------------------------------------------------------------------------


def test_db_upgrade_is_idempotent_and_keeps_the_data(app: Flask, team: Team) -> None:
    first = invoke(app, "db", "upgrade")
    second = invoke(app, "db", "upgrade")

    for result in (first, second):
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    assert count(app, StaffUser) == 4
    assert org_key_of(app, "coach", PASSWORDS["coach"]) == team.org_private_key


def test_db_upgrade_makes_a_new_database_usable(tmp_path: Path) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    fresh = create_app(
        settings_for(f"sqlite:///{folder}/groundwork.sqlite"), instance_path=str(folder)
    )
    try:
        shipped = len(list(consent.TEXTS_FOLDER.glob("*/*.txt")))
        outputs = []
        for _ in range(2):
            result = invoke(fresh, "db", "upgrade")
            assert result.exit_code == 0, result.output
            outputs.append(result.output)
        # The consent texts are published by the upgrade, once; never by a page reading them.
        assert f"Published {shipped} new consent texts." in outputs[0]
        assert "Published" not in outputs[1]

        assert invoke(fresh, "demo").exit_code == 0
        assert count(fresh, StaffUser) == len(DEMO_ACCOUNTS)
    finally:
        database(fresh).engine.dispose()


def test_demo_prints_a_referral_link_and_code_that_work_once(
    app: Flask, client: FlaskClient
) -> None:
    """`make run` shows a caseworker's referral: the link opens the referred start page."""
    printed = invoke(app, "demo")
    assert printed.exit_code == 0, printed.output
    link = re.search(r"link: http://[^/]+(/r/[A-Za-z0-9_-]+)", printed.output)
    code = re.search(r"code: ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", printed.output)
    assert link, printed.output
    assert code, printed.output
    arrived = client.get(link.group(1))
    assert arrived.status_code == 302
    assert arrived.headers["Location"] == "/referred"
    assert "Demo refugee charity" in client.get("/referred").get_data(as_text=True)
    again = invoke(app, "demo")
    assert link.group(1) not in again.output, "each run makes a fresh referral"
