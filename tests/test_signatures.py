"""Both people sign an agreement version, simply (docs/agreements.md).

The person types the name they chose, or ticks "I agree to this"; today's date is on the page.
Their coach signs the same version. Each signature is an entry of the consent ledger's chain
holding a hash of the version's sealed words, so `flask consent verify` notices a signed
version whose words were changed afterwards. The typed name is never stored in plain text. A
signed version can still be changed: the old one stays readable by both, with its signatures,
and the print view shows every version and who signed it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from support.app import invoke
from support.clients import MadeClient, make_client
from support.database import assert_not_stored, database_bytes, database_state, raw_sql
from support.journey import marker
from support.pages import page_text
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team

from intake import consent
from intake.db import db_session
from intake.models import Agreement, ConsentEvent, ConsentText

SIGN_OR_TICK = "To sign, type your name or tick “I agree to this”. Then press “Sign”."


def sign(person: MadeClient, kind: str, version: int, **fields: str) -> str:
    """Sign from the agreement page as a phone would; the page that follows, as text."""
    person.phone.get("/agreement")
    person.phone.post(
        "/agreement", {"kind": kind, "version": str(version), "response": "confirmed", **fields}
    )
    return page_text(person.phone.get("/agreement"))


def ledger(app: Flask, client_id: str) -> list[ConsentEvent]:
    with app.app_context():
        return list(
            db_session().scalars(
                select(ConsentEvent)
                .where(ConsentEvent.client_id == client_id)
                .order_by(ConsentEvent.id)
            )
        )


def agreement_row(app: Flask, client_id: str, kind: str, version: int) -> Agreement:
    with app.app_context():
        row = db_session().scalar(
            select(Agreement).where(
                Agreement.client_id == client_id,
                Agreement.kind == kind,
                Agreement.version == version,
            )
        )
        assert row is not None
        db_session().expunge(row)
        return row


def test_both_sign_the_same_words_and_the_ledger_proves_them(
    app: Flask, team: Team, auth: StaffBrowser, database_kind: str, instance_path: Path
) -> None:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302

    page = person.phone.get("/agreement").get_data(as_text=True)
    assert "Today’s date:" in page, "the date is shown where the person signs"

    chosen_name = "Amina " + marker()[:8]
    person.phone.keep_private(chosen_name)
    seen = sign(person, "relationship", 1, signed_name=chosen_name)
    assert f"as “{chosen_name}”" in seen
    assert "Receipt number:" in seen
    assert "Your coach has not signed this yet." in seen

    record = page_text(coach.get(f"/clients/{person.id}"))
    assert "They signed it on" in record
    assert chosen_name in record
    assert "Their coach has not signed it yet." in record
    assert (
        staff_post(
            coach, f"/clients/{person.id}/agreements/relationship/sign", {"version": "1"}
        ).status_code
        == 302
    )
    record = page_text(coach.get(f"/clients/{person.id}"))
    assert "Coach signed it on" in record
    assert "Sign version 1" not in record
    assert "Your coach signed this on" in page_text(person.phone.get("/agreement"))

    # Two entries in the chain, each holding the hash of the sealed words they signed.
    signed = agreement_row(app, person.id, "relationship", 1)
    signatures = [e for e in ledger(app, person.id) if e.agreement_id is not None]
    assert [(e.actor, e.decision) for e in signatures] == [
        ("client", "signed"),
        ("coach", "signed"),
    ]
    for entry in signatures:
        assert entry.agreement_id == signed.id
        assert entry.agreement_sha256 == hashlib.sha256(signed.content_ct).hexdigest()
    assert signatures[0].signed_name_ct is not None
    assert signatures[1].signed_name_ct is None
    result = invoke(app, "consent", "verify")
    assert result.exit_code == 0, result.output
    assert_not_stored(database_bytes(app, database_kind, instance_path), [chosen_name])

    # A signature is not a consent decision: the person's choices are as they were.
    choices = page_text(person.phone.get("/my-choices"))
    assert "signed" not in choices.lower()
    with app.app_context():
        assert all(
            not purpose.startswith("agreement")
            for purpose in consent.effective_state(db_session(), person.id)
        )

    # Someone with the database swaps the signed words for another version's: it shows.
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302
    other = agreement_row(app, person.id, "relationship", 2)
    raw_sql(
        app,
        "UPDATE agreement SET content_ct = :ct WHERE id = :id",
        ct=other.content_ct,
        id=signed.id,
    )
    result = invoke(app, "consent", "verify")
    assert result.exit_code != 0
    assert person.id in result.output


def test_a_tick_signs_for_someone_who_cannot_type_easily(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find a flat\nSleep better"})
    seen = sign(person, "plan", 1, agree="y")
    assert "you ticked “I agree to this”" in seen
    assert "with a tick" in page_text(coach.get(f"/clients/{person.id}"))


def test_signing_with_nothing_or_too_much_is_refused_kindly_and_keeps_what_was_typed(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find a flat"})
    before = database_state(app, leaving_out=("access_event",))

    person.phone.get("/agreement")
    empty = person.phone.post(
        "/agreement", {"kind": "plan", "version": "1", "response": "confirmed"}, status=400
    )
    assert SIGN_OR_TICK in page_text(empty)
    assert 'aria-describedby="signed-name-plan-hint signed-name-plan-error"' in empty.get_data(
        as_text=True
    )

    too_long = "Amina " * 60
    refused = person.phone.post(
        "/agreement",
        {"kind": "plan", "version": "1", "response": "confirmed", "signed_name": too_long},
        status=400,
    )
    assert "Please make this shorter" in page_text(refused)
    assert too_long.strip() in refused.get_data(as_text=True), "what they typed is still there"

    broken = person.phone.post(
        "/agreement",
        b"kind=plan&version=1&response=confirmed&signed_name=Am%FF%FEina",
        status=400,
    )
    assert "could not be read" in page_text(broken)
    assert database_state(app, leaving_out=("access_event",)) == before, "nothing was kept"


def test_a_second_press_signs_once(app: Flask, team: Team, auth: StaffBrowser) -> None:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find a flat"})
    person.phone.get("/agreement")
    fields = {"kind": "plan", "version": "1", "response": "confirmed", "agree": "y"}
    person.phone.post("/agreement", fields)
    person.phone.post("/agreement", fields)  # the back button, or a double tap
    for _ in range(2):
        staff_post(coach, f"/clients/{person.id}/agreements/plan/sign", {"version": "1"})
    signatures = [e for e in ledger(app, person.id) if e.agreement_id is not None]
    assert [e.actor for e in signatures] == ["client", "coach"]


def test_only_their_coach_signs_for_the_coaching_side(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person = make_client(app)
    admin = auth.sign_in("admin")
    assign(admin, person.id, team.ids["coach"])
    staff_post(auth.sign_in("coach"), f"/clients/{person.id}/plan", {"goals": "Find a flat"})
    path = f"/clients/{person.id}/agreements/plan/sign"
    assert staff_post(admin, path, {"version": "1"}).status_code == 404
    assert "Sign version 1" not in page_text(admin.get(f"/clients/{person.id}"))
    assert staff_post(auth.sign_in("coach2"), path, {"version": "1"}).status_code == 404
    nobody = "/clients/nobody/agreements/plan/sign"
    assert staff_post(auth.sign_in("coach"), nobody, {}).status_code == 404
    assert [e for e in ledger(app, person.id) if e.agreement_id is not None] == []


def test_a_signed_version_can_change_and_stays_readable_by_both(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    first_goal, second_goal = marker(), marker()
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": first_goal})
    sign(person, "plan", 1, signed_name="Amina")
    staff_post(coach, f"/clients/{person.id}/agreements/plan/sign", {"version": "1"})

    # Later the person asks for a change; the coach writes version 2.
    person.phone.get("/agreement")
    person.phone.post(
        "/agreement",
        {"kind": "plan", "version": "1", "response": "change_requested", "note": "Work first"},
    )
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": second_goal})
    seen = page_text(person.phone.get("/agreement"))
    assert second_goal in seen
    assert first_goal not in seen
    assert "Earlier versions are kept." in seen
    everything = page_text(person.phone.get("/my-data"))
    assert first_goal in everything
    assert second_goal in everything

    printed = page_text(coach.get(f"/clients/{person.id}/print"))
    assert "Earlier versions" in printed
    assert first_goal in printed
    assert second_goal in printed
    assert "They signed it on" in printed
    assert "“Amina”" in printed
    assert "Coach signed it on" in printed
    assert "They have not signed it yet." in printed  # version 2
    exported = json.loads(person.phone.get("/my-data.json").get_data(as_text=True))
    plans = [a for a in exported["agreements"] if a["kind"] == "plan"]
    assert {a["version"] for a in plans} == {1, 2}
    version_1 = next(a for a in plans if a["version"] == 1)
    assert [s["by"] for s in version_1["signatures"]] == ["you", "your coach"]
    assert version_1["signatures"][0]["typed_name"] == "Amina"


def test_decisions_recorded_before_signatures_keep_their_hashes(app: Flask, team: Team) -> None:
    """Entries written before signatures existed hash exactly as they always did: the chain
    of everyone who decided before this change still verifies."""
    person = make_client(app)
    with app.app_context():
        for event in db_session().scalars(
            select(ConsentEvent).where(ConsentEvent.client_id == person.id)
        ):
            text = event.consent_text_id and db_session().get(ConsentText, event.consent_text_id)
            canonical = json.dumps(
                {
                    "prev": event.prev_hash,
                    "client": event.client_id,
                    "purpose": event.purpose,
                    "decision": event.decision,
                    "text": event.consent_text_id,
                    "text_sha256": text.sha256 if text else None,
                    "actor": event.actor,
                    "staff": event.actor_staff_id,
                    "reason": hashlib.sha256(event.reason_ct or b"").hexdigest(),
                    "at": event.at.isoformat(),
                },
                sort_keys=True,
                separators=(",", ":"),
            )
            assert event.hash == hashlib.sha256(canonical.encode()).hexdigest()
