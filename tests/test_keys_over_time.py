"""The organisation key over time (DESIGN.md §5): `flask keys rotate` and `flask org recover`.

Rotation makes a new organisation keypair and re-seals every client's data key to it; every
active coach and admin gets their copy of the new key (sealed to their own public key, so no
password is needed), invitations that carried the old key are cancelled, every staff session
ends, and a new recovery phrase is printed: the old key and the old phrase open nothing any
more. Recovery gives an admin the organisation key back with the recovery phrase when every
admin password is lost. Both run in one transaction and are safe to run again.

Commands run through Flask's test CLI runner, as `flask` runs them, with passwords and phrases
typed at their prompts; what they do is then checked the way people would notice it: signing
in, reading a client's record, following an invite link, and typing the phrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyotp
import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select, text
from support.clients import assign_in_database, sent_client
from support.journey import Phone, fill, marker, typed_words
from support.pages import csrf
from support.referrals import REFERENCE
from support.staff import StaffBrowser, assign
from support.team import PASSWORDS, Team

from intake import crypto, referrals, staff, vault
from intake.auth.views import ORG_KEY
from intake.context import staff_crypto
from intake.db import database, db_session
from intake.models import Client, Referral, Role, SessionRecord, StaffInvite, StaffUser, utcnow
from intake.questionnaire import DEFAULT_FORM
from intake.sessions import STAFF

NEW_ADMIN_PASSWORD = "kites above the old harbour"
OTHER_PASSWORD = "snow on the cedar branches"
RESCUE = "rescue"
GENERIC = "We could not sign you in. Check your details and try again."


# --- running commands ---------------------------------------------------------------------


def invoke(app: Flask, *args: str, answers: str | None = None) -> Result:
    """Run `flask <args>` (in an app context, as `flask` does), typing `answers` at prompts."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=answers)


def rotate(app: Flask, password: str = PASSWORDS["admin"]) -> Result:
    return invoke(app, "keys", "rotate", "--admin", "admin", answers=password + "\n")


def rotate_with_phrase(app: Flask, phrase: str) -> Result:
    return invoke(app, "keys", "rotate", answers=phrase + "\n")


def recover(app: Flask, phrase: str, username: str, password: str) -> Result:
    return invoke(
        app,
        "org",
        "recover",
        "--admin-username",
        username,
        "--admin-name",
        "Rescue Admin",
        answers=f"{phrase}\n{password}\n{password}\n",
    )


def new_phrase(result: Result) -> str:
    assert result.exit_code == 0, result.output
    found = re.search(r"NEW RECOVERY PHRASE[^\n]*\n\s*(\S+)\s*\n", result.output)
    assert found, result.output
    return found.group(1)


# --- what the database holds ----------------------------------------------------------------


def everything(app: Flask, skip: dict[str, set[str]] | None = None) -> dict[str, list[str]]:
    """Every row of every table, as text (but the columns in `skip`): what a command changed."""
    skip = skip or {}
    with app.app_context():
        engine = database(app).engine
        quote = engine.dialect.identifier_preparer.quote
        found = {}
        with engine.connect() as connection:
            for name in sorted(inspect(engine).get_table_names()):
                result = connection.execute(text(f"SELECT * FROM {quote(name)}"))  # noqa: S608
                keep = [i for i, c in enumerate(result.keys()) if c not in skip.get(name, ())]
                found[name] = sorted(repr(tuple(row[i] for i in keep)) for row in result)
        return found


# A wrong password counts towards the sign-in pause, in the CLI as on the sign-in page.
BUT_FAILURES = {"staff_user": {"failed_sign_ins"}}


def org_public_key(app: Flask) -> bytes:
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        return org.public_key


def sealed_data_keys(app: Flask) -> dict[str, bytes | None]:
    with app.app_context():
        return {c.id: c.dek_by_org for c in db_session().scalars(select(Client))}


def org_key_of(app: Flask, username: str, password: str) -> bytes | None:
    """The organisation key, as this person's own copy opens it with their password."""
    with app.app_context():
        db = db_session()
        found = staff.check_password(db, username, password, staff_crypto(), staff.SignInPolicy())
        db.commit()
        assert found is not None, f"{username} cannot sign in"
        return staff.open_org_key(*found)


def opens(app: Flask, org_key: bytes) -> dict[str, bool]:
    """For each client whose keys exist: does this key open their data key?"""
    result = {}
    with app.app_context():
        for client in db_session().scalars(select(Client).where(Client.dek_by_org.is_not(None))):
            try:
                vault.unlock_with_org_key(client, org_key)
            except crypto.CannotOpen:
                result[client.id] = False
            else:
                result[client.id] = True
    return result


def answers_with(app: Flask, org_key: bytes, client_id: str) -> dict[str, object]:
    with app.app_context():
        db = db_session()
        client = db.get(Client, client_id)
        assert client is not None
        data_key = vault.unlock_with_org_key(client, org_key)
        return {k: s.fields for k, s in vault.read_sections(db, client, data_key).items()}


def staff_sessions(app: Flask) -> int:
    with app.app_context():
        return int(
            db_session().scalar(
                select(func.count()).select_from(SessionRecord).where(SessionRecord.kind == STAFF)
            )
            or 0
        )


def signed_out(browser: FlaskClient, path: str = "/workspace") -> bool:
    response = browser.get(path)
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == (
        "/staff/sign-in"
    )


def invite(app: Flask, team: Team, role: str) -> str:
    with app.app_context():
        db = db_session()
        secret = staff.create_invite(
            db,
            role=role,
            display_name=f"New {role}",
            keys=staff_crypto(),
            days=7,
            org_private_key=None if role == Role.PARTNER else team.org_private_key,
            partner_org=staff.partner_org_named(db, "Test charity")
            if role == Role.PARTNER
            else None,
        )
        db.commit()
        return secret


def invite_opens(app: Flask, secret: str) -> bool:
    browser = app.test_client()
    assert browser.get(f"/staff/join/{secret}").status_code == 302
    return browser.get("/staff/join").status_code == 200


def enrol_and_sign_in(app: Flask, username: str, password: str) -> FlaskClient:
    """A first sign-in after the 6-digit codes were reset: password, the shown key, a code."""
    browser = app.test_client()
    first = browser.post(
        "/staff/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf(browser, "/staff/sign-in"),
        },
    )
    assert first.status_code == 302, first.get_data(as_text=True)
    page = browser.get("/staff/two-factor").get_data(as_text=True)
    shown = re.search(r'<p class="code"[^>]*>(.*?)</p>', page, re.DOTALL)
    assert shown, "no set-up key is shown: the codes were not reset"
    secret = "".join(re.findall(r"<span>([A-Z2-7]+)</span>", shown.group(1)))
    done = browser.post(
        "/staff/two-factor",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf(browser, "/staff/two-factor")},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    assert done.headers["Location"] == "/workspace"
    return browser


def password_refused(app: Flask, username: str, password: str) -> bool:
    browser = app.test_client()
    response = browser.post(
        "/staff/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf(browser, "/staff/sign-in"),
        },
    )
    return response.status_code == 200 and GENERIC in response.get_data(as_text=True)


# --- the scene ------------------------------------------------------------------------------


@dataclass
class Scene:
    """Clients, a referral, invitations and signed-in people, before the key changes."""

    app: Flask
    team: Team
    sent: str  # every page filled in, sent, assigned to coach A
    sent_answers: dict[str, dict[str, object]]
    draft: Phone  # in a visit, page 1 saved
    draft_id: str
    erased: str
    referred: str  # came by a partner's referral with a note, sent, assigned to coach A
    note: str
    unused_referral: str  # a reference: made, with a note, not used yet
    coach_invite: str
    partner_invite: str
    coach: FlaskClient
    partner: FlaskClient

    def record(self, browser: FlaskClient, client_id: str) -> str:
        response = browser.get(f"/clients/{client_id}")
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)


def client_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db_session().scalars(select(Client.id)))


@pytest.fixture
def scene(app: Flask, team: Team, auth: StaffBrowser) -> Scene:
    before = client_ids(app)
    phone = Phone(app)
    phone.begin(share="yes")
    answers = {}
    for number, section in enumerate(DEFAULT_FORM.sections, 1):
        answers[section.key] = fill(section)
        phone.save_page(number, answers[section.key])
    phone.get("/check")
    phone.post("/send", {})
    (sent_id,) = client_ids(app) - before
    assign_in_database(app, sent_id, team.ids["coach"])

    before = client_ids(app)
    erased = Phone(app)
    erased.begin()
    erased.get("/delete-everything")
    erased.post("/delete-everything", {})
    (erased_id,) = client_ids(app) - before

    before = client_ids(app)
    draft = Phone(app)
    draft.begin()
    draft.save_page(1, fill(DEFAULT_FORM.sections[0]))
    (draft_id,) = client_ids(app) - before

    partner = auth.sign_in("partner")
    note = "Prefers mornings; the note " + marker()
    made = partner.post(
        "/partner/referrals/new",
        data={
            "locale": "en",
            "nickname": "Rami",
            "note": note,
            "csrf_token": csrf(partner, "/partner/referrals/new"),
        },
    )
    link = re.search(r"<bdi>https?://[^<]*/r/([A-Za-z0-9_-]+)</bdi>", made.get_data(as_text=True))
    assert link
    unused = partner.post(
        "/partner/referrals/new",
        data={"locale": "en", "note": note, "csrf_token": csrf(partner, "/partner/referrals/new")},
    )
    unused_reference = REFERENCE.search(unused.get_data(as_text=True))
    assert unused_reference
    before = client_ids(app)
    person = Phone(app)
    person.get(f"/r/{link.group(1)}", status=302)
    person.get("/welcome")
    person.get("/agree")
    person.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    person.take_code()
    person.save_page(1, {"name": "Rami"})
    person.get("/check")
    person.post("/send", {})
    (referred,) = client_ids(app) - before
    assign_in_database(app, referred, team.ids["coach"])

    return Scene(
        app=app,
        team=team,
        sent=sent_id,
        sent_answers=answers,
        draft=draft,
        draft_id=draft_id,
        erased=erased_id,
        referred=referred,
        note=note,
        unused_referral=unused_reference.group(0),
        coach_invite=invite(app, team, Role.COACH),
        partner_invite=invite(app, team, Role.PARTNER),
        coach=auth.sign_in("coach"),
        partner=partner,
    )


# --- keys rotate ----------------------------------------------------------------------------


def test_rotation_reseals_every_data_key_and_retires_the_old_key_and_phrase(
    scene: Scene, auth: StaffBrowser
) -> None:
    app, team = scene.app, scene.team
    old_key, old_public = team.org_private_key, org_public_key(app)
    assert all(opens(app, old_key).values())
    assert scene.record(scene.coach, scene.sent)
    assert staff_sessions(app) >= 2

    result = rotate(app)
    phrase = new_phrase(result)
    assert PASSWORDS["admin"] not in result.output, "the password was echoed"
    assert "Re-sealed the data keys of 3 clients." in result.output  # the erased one has none
    assert phrase != team.recovery_phrase

    # The old key opens no client's data key any more; the public key changed.
    assert org_public_key(app) != old_public
    assert opens(app, old_key) == dict.fromkeys(opens(app, old_key), False)
    assert len(opens(app, old_key)) == 3
    with app.app_context():
        erased = db_session().get(Client, scene.erased)
        assert erased is not None
        assert erased.dek_by_org is None

    # Every staff session ended; a client in the middle of a visit carries on.
    assert staff_sessions(app) == 0
    assert signed_out(scene.coach)
    assert signed_out(scene.partner, "/partner/")
    more = fill(DEFAULT_FORM.sections[1])
    scene.draft.save_page(2, more)

    # The coach signs in again: their re-granted copy is the new key, and it opens everyone.
    new_key = org_key_of(app, "coach", PASSWORDS["coach"])
    assert new_key is not None
    assert crypto.public_key_of(new_key) == org_public_key(app)
    assert all(opens(app, new_key).values())
    assert answers_with(app, new_key, scene.sent) == scene.sent_answers
    assert answers_with(app, new_key, scene.draft_id)[DEFAULT_FORM.sections[1].key] == more
    coach = auth.sign_in("coach")
    with coach.session_transaction() as session:
        assert session.get_secret(ORG_KEY) == new_key  # type: ignore[attr-defined]
    page = scene.record(coach, scene.sent)
    for word in typed_words(
        DEFAULT_FORM.sections[0], scene.sent_answers[DEFAULT_FORM.sections[0].key]
    ):
        assert word in page
    # The partner's sealed note still reaches the coach, and the unused one is still readable.
    assert scene.note in scene.record(coach, scene.referred)
    with app.app_context():
        unused = db_session().scalar(
            select(Referral).where(Referral.reference == scene.unused_referral)
        )
        assert unused is not None
        assert referrals.open_sealed(unused, new_key)[1] == scene.note

    # Every coach and admin holds it, sealed to their own public key.
    for username in ("coach2", "admin"):
        assert org_key_of(app, username, PASSWORDS[username]) == new_key
    with app.app_context():
        for member in db_session().scalars(select(StaffUser)):
            if member.role == Role.PARTNER:
                assert member.wrapped_org_key is None
                continue
            assert member.wrapped_org_key is not None
            assert crypto.read_header(member.wrapped_org_key)[0] == crypto.KIND_SEALED

    # The invitation that carried the old key is cancelled; the partner's (no key) still works.
    assert not invite_opens(app, scene.coach_invite)
    assert invite_opens(app, scene.partner_invite)
    with app.app_context():
        cancelled = db_session().scalar(
            select(StaffInvite).where(
                StaffInvite.token_hash == crypto.token_digest(scene.coach_invite)
            )
        )
        assert cancelled is not None
        assert cancelled.org_key_wrapped is None
        assert cancelled.expires_at <= utcnow()

    # The new phrase opens the new key; the old phrase opens nothing.
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        assert staff.recover_org_key(org, phrase) == new_key
        with pytest.raises(crypto.CannotOpen):
            staff.recover_org_key(org, team.recovery_phrase)
    refused = recover(app, team.recovery_phrase, RESCUE, OTHER_PASSWORD)
    assert refused.exit_code != 0
    assert "does not open" in refused.output


def test_rotating_again_works_and_only_the_newest_key_and_phrase_open(
    scene: Scene, auth: StaffBrowser
) -> None:
    app = scene.app
    first_phrase = new_phrase(rotate(app))
    first_key = org_key_of(app, "admin", PASSWORDS["admin"])
    assert first_key is not None
    # The second time with the phrase instead of a password.
    second_phrase = new_phrase(rotate_with_phrase(app, first_phrase))
    second_key = org_key_of(app, "coach", PASSWORDS["coach"])
    assert second_key is not None
    assert len({scene.team.org_private_key, first_key, second_key}) == 3
    assert all(opens(app, second_key).values())
    assert not any(opens(app, first_key).values())
    assert answers_with(app, second_key, scene.sent) == scene.sent_answers
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        assert staff.recover_org_key(org, second_phrase) == second_key
        with pytest.raises(crypto.CannotOpen):
            staff.recover_org_key(org, first_phrase)
    coach = auth.sign_in("coach")
    assert scene.note in scene.record(coach, scene.referred)


def test_a_wrong_password_or_phrase_or_a_coach_cannot_rotate_and_changes_nothing(
    scene: Scene,
) -> None:
    app = scene.app
    before = everything(app, BUT_FAILURES)
    refused = rotate(app, "not the admin password")
    assert refused.exit_code != 0
    assert "did not match" in refused.output
    assert "RECOVERY PHRASE" not in refused.output
    # Only the sign-in throttle noticed: the admin's failed tries went up by one.
    assert everything(app, BUT_FAILURES) == before
    with app.app_context():
        admin = staff.find_staff(db_session(), "admin")
        assert admin is not None
        assert admin.failed_sign_ins == 1

    before = everything(app)
    wrong = scene.team.recovery_phrase[:-1] + (
        "2" if scene.team.recovery_phrase[-1] != "2" else "3"
    )
    refused = rotate_with_phrase(app, wrong)
    assert refused.exit_code != 0
    assert "does not open" in refused.output
    assert everything(app) == before

    before_coach = everything(app, BUT_FAILURES)
    coach = invoke(app, "keys", "rotate", "--admin", "coach", answers=PASSWORDS["coach"] + "\n")
    assert coach.exit_code != 0
    assert everything(app, BUT_FAILURES) == before_coach
    assert not signed_out(scene.coach)


@pytest.mark.parametrize(
    ("module", "step"),
    [(vault, "reseal_for_org"), (staff, "grant_org_key")],
    ids=["at-the-second-client", "at-the-second-coach"],
)
def test_a_rotation_that_fails_half_way_changes_nothing_and_runs_again(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, module: object, step: str
) -> None:
    """It stops after one client's data key (or, later, one coach's copy) was done."""
    app = scene.app
    before = everything(app)
    sealed_before = sealed_data_keys(app)
    public_before = org_public_key(app)
    real = getattr(module, step)
    done: list[object] = []

    def fails_on_the_second(*args: object) -> None:
        if len(done) == 1:
            raise RuntimeError("the machine stopped here")
        real(*args)
        done.append(args[0])

    monkeypatch.setattr(module, step, fails_on_the_second)
    stopped = rotate(app)
    assert stopped.exit_code != 0
    assert isinstance(stopped.exception, RuntimeError)
    assert len(done) == 1, "it stopped half-way"
    assert "RECOVERY PHRASE" not in stopped.output

    # Nothing changed: every sealed data key, the public key, the staff copies, the sessions.
    assert sealed_data_keys(app) == sealed_before
    assert org_public_key(app) == public_before
    assert everything(app) == before
    assert all(opens(app, scene.team.org_private_key).values())
    assert scene.record(scene.coach, scene.sent)

    monkeypatch.setattr(module, step, real)
    phrase = new_phrase(rotate(app))
    new_key = org_key_of(app, "coach", PASSWORDS["coach"])
    assert new_key is not None
    assert all(opens(app, new_key).values())
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        assert staff.recover_org_key(org, phrase) == new_key


# --- org recover --------------------------------------------------------------------------


def test_with_every_admin_password_lost_the_phrase_restores_the_admin(
    scene: Scene, auth: StaffBrowser
) -> None:
    app, team = scene.app, scene.team
    admin_before = auth.sign_in("admin")
    assert admin_before.get("/team").status_code == 200

    result = recover(app, team.recovery_phrase, "admin", NEW_ADMIN_PASSWORD)
    assert result.exit_code == 0, result.output
    assert NEW_ADMIN_PASSWORD not in result.output
    assert team.recovery_phrase not in result.output

    # The old password is gone, and so is the old session; the new one signs in (setting up
    # the 6-digit codes again) and reads a client.
    assert signed_out(admin_before, "/team")
    assert password_refused(app, "admin", PASSWORDS["admin"])
    admin = enrol_and_sign_in(app, "admin", NEW_ADMIN_PASSWORD)
    page = scene.record(admin, scene.sent)
    for word in typed_words(
        DEFAULT_FORM.sections[0], scene.sent_answers[DEFAULT_FORM.sections[0].key]
    ):
        assert word in page
    assert org_key_of(app, "admin", NEW_ADMIN_PASSWORD) == team.org_private_key
    # Recovery does not change the key: coaches are untouched.
    assert not signed_out(scene.coach)
    assert all(opens(app, team.org_private_key).values())


def test_the_phrase_makes_a_new_admin_and_running_it_again_is_safe(scene: Scene) -> None:
    app, team = scene.app, scene.team
    keys_before = sealed_data_keys(app)
    first = recover(app, team.recovery_phrase, RESCUE, NEW_ADMIN_PASSWORD)
    assert first.exit_code == 0, first.output
    again = recover(app, team.recovery_phrase, RESCUE, OTHER_PASSWORD)
    assert again.exit_code == 0, again.output
    with app.app_context():
        rescuers = list(db_session().scalars(select(StaffUser).where(StaffUser.username == RESCUE)))
    assert len(rescuers) == 1
    assert rescuers[0].role == Role.ADMIN
    assert rescuers[0].active
    assert password_refused(app, RESCUE, NEW_ADMIN_PASSWORD)
    rescue = enrol_and_sign_in(app, RESCUE, OTHER_PASSWORD)
    assert rescue.get("/team").status_code == 200
    assert scene.note in scene.record(rescue, scene.referred)
    assert sealed_data_keys(app) == keys_before
    assert org_key_of(app, RESCUE, OTHER_PASSWORD) == team.org_private_key


def test_a_wrong_phrase_is_refused_and_changes_nothing(scene: Scene) -> None:
    app, team = scene.app, scene.team
    before = everything(app)
    wrong = crypto.generate_recovery_phrase()
    for username in (RESCUE, "admin"):
        refused = recover(app, wrong, username, NEW_ADMIN_PASSWORD)
        assert refused.exit_code != 0
        assert "does not open" in refused.output
    # A weak new password is refused too, even with the right phrase, and changes nothing.
    weak = recover(app, team.recovery_phrase, "admin", "password1234")
    assert weak.exit_code != 0
    assert everything(app) == before
    assert password_refused(app, RESCUE, NEW_ADMIN_PASSWORD)
    assert org_key_of(app, "admin", PASSWORDS["admin"]) == team.org_private_key


def test_a_sent_client_needs_only_the_phrase_to_be_read_after_recovery(
    app: Flask, team: Team
) -> None:
    """The whole way back: every staff member is gone, the phrase alone makes an admin, and
    that admin assigns a waiting client to themself and reads them."""
    made = sent_client(app, "Lina")
    with app.app_context():
        db = db_session()
        for member in db.scalars(select(StaffUser)):
            staff.deactivate(db, member)
        db.commit()
    result = recover(app, team.recovery_phrase, RESCUE, NEW_ADMIN_PASSWORD)
    assert result.exit_code == 0, result.output
    rescue = enrol_and_sign_in(app, RESCUE, NEW_ADMIN_PASSWORD)
    listed = rescue.get("/workspace").get_data(as_text=True)
    assert "Lina" in listed
    with app.app_context():
        rescuer = staff.find_staff(db_session(), RESCUE)
        assert rescuer is not None
    assign(rescue, made.id, rescuer.id)  # through the workspace's own form
    assert "Lina" in rescue.get(f"/clients/{made.id}").get_data(as_text=True)


# --- moving to post-quantum hybrid keys -------------------------------------------------------


def _x25519_only() -> crypto.OrgKeyPair:
    """A keypair of the kind made before hybrid keys: X25519 alone."""
    private = crypto.new_data_key()
    return crypto.OrgKeyPair(private, crypto.public_key_of(private))


def _versions(app: Flask) -> dict[str, set[int]]:
    """Which envelope versions hold what is sealed to a public key, now."""
    with app.app_context():
        db = db_session()
        found: dict[str, set[int]] = {"clients": set(), "staff": set(), "notes": set()}
        for client in db.scalars(select(Client).where(Client.dek_by_org.is_not(None))):
            found["clients"].add(crypto.envelope_version(client.dek_by_org))
        for member in db.scalars(select(StaffUser).where(StaffUser.wrapped_org_key.is_not(None))):
            found["staff"].add(crypto.envelope_version(member.wrapped_org_key))
        for referral in db.scalars(select(Referral).where(Referral.note_ct.is_not(None))):
            found["notes"].add(crypto.envelope_version(referral.note_ct))
        return found


def test_rotation_moves_an_organisation_sealed_with_x25519_alone_to_the_hybrid_key(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organisation made before the post-quantum change: its data keys, notes and staff
    copies are sealed with X25519 alone (version 1). `flask keys rotate` seals every one with
    ML-KEM-768 + X25519 (version 2), and nothing is lost on the way."""
    app = scene.app
    with monkeypatch.context() as old_days:
        old_days.setattr(crypto, "generate_org_keypair", _x25519_only)
        assert rotate(app).exit_code == 0
    assert not crypto.is_hybrid(org_public_key(app))
    before = _versions(app)
    assert (before["clients"], before["notes"]) == ({1}, {1})

    result = rotate(app)
    assert result.exit_code == 0, result.output
    assert crypto.is_hybrid(org_public_key(app))
    assert _versions(app) == {"clients": {2}, "staff": {2}, "notes": {2}}
    phrase = new_phrase(result)
    org_key = org_key_of(app, "admin", PASSWORDS["admin"])
    assert org_key is not None
    assert crypto.is_hybrid(org_key)
    assert all(opens(app, org_key).values())
    assert answers_with(app, org_key, scene.sent) == scene.sent_answers
    # The recovery phrase printed by that rotation opens the hybrid key too.
    with app.app_context():
        org = staff.organisation(db_session())
        assert org is not None
        assert staff.recover_org_key(org, phrase) == org_key


def _enrol(app: Flask, username: str, password: str) -> str:
    """A first sign-in that sets up 6-digit codes; the secret of those codes."""
    browser = app.test_client()
    browser.post(
        "/staff/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf(browser, "/staff/sign-in"),
        },
    )
    page = browser.get("/staff/two-factor").get_data(as_text=True)
    shown = re.search(r'<p class="code"[^>]*>(.*?)</p>', page, re.DOTALL)
    assert shown, "no set-up key is shown"
    secret = "".join(re.findall(r"<span>([A-Z2-7]+)</span>", shown.group(1)))
    done = browser.post(
        "/staff/two-factor",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf(browser, "/staff/two-factor")},
    )
    assert done.headers["Location"] == "/workspace"
    return secret


def _sign_in(auth: StaffBrowser, username: str, password: str, secret: str) -> FlaskClient:
    """Both steps on a new browser, landing on the workspace."""
    auth.forget_used_codes(username)
    browser = auth.app.test_client()
    first = auth.post_password(browser, username, password)
    assert first.headers["Location"] == "/staff/two-factor"
    done = auth.post_code(browser, pyotp.TOTP(secret).now())
    assert done.headers["Location"] == "/workspace", done.get_data(as_text=True)
    return browser


def test_an_older_personal_key_is_made_post_quantum_at_the_next_sign_in(
    app: Flask, team: Team, auth: StaffBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A coach whose personal key predates hybrid keys holds their copy of the organisation key
    and their two-step secret sealed with X25519 alone; their next sign-in gives them a hybrid
    key and seals both again, and they go on reading records with the same codes."""
    with monkeypatch.context() as old_days:
        old_days.setattr(crypto, "new_private_key", crypto.new_data_key)  # X25519 alone
        with app.app_context():
            db = db_session()
            staff.create_staff(
                db,
                username="olderkey",
                display_name="Older Key",
                role=Role.COACH,
                password=OTHER_PASSWORD,
                keys=staff_crypto(),
                org_private_key=team.org_private_key,
            )
            db.commit()
        secret = _enrol(app, "olderkey", OTHER_PASSWORD)
    with app.app_context():
        older = staff.find_staff(db_session(), "olderkey")
        assert older is not None
        assert not crypto.is_hybrid(older.public_key or b"")
        assert crypto.envelope_version(older.wrapped_org_key or b"") == 1
        assert crypto.envelope_version(older.totp_secret_ct or b"") == 1
        older_id = older.id
    person = sent_client(app, "Sam " + marker()[:6])
    assign_in_database(app, person.id, older_id)

    coach = _sign_in(auth, "olderkey", OTHER_PASSWORD, secret)
    assert person.name in coach.get(f"/clients/{person.id}").get_data(as_text=True)
    with app.app_context():
        upgraded = staff.find_staff(db_session(), "olderkey")
        assert upgraded is not None
        assert crypto.is_hybrid(upgraded.public_key or b"")
        assert crypto.envelope_version(upgraded.wrapped_org_key or b"") == 2
        assert crypto.envelope_version(upgraded.totp_secret_ct or b"") == 2
    # And the next day: the same password, the same codes, the same records.
    again = _sign_in(auth, "olderkey", OTHER_PASSWORD, secret)
    assert person.name in again.get(f"/clients/{person.id}").get_data(as_text=True)
