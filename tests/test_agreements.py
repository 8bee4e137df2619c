"""The three levels of the coaching agreement, as the client and the coach see them.

1. The relationship agreement: the coach accepts the client's PROMISES answers as a version;
   the client reads it and confirms. When the client changes an answer afterwards, the coach is
   told; accepting again makes a new version, and the old one is kept.
2. The coaching plan: the coach writes the goals; the client asks for a change with a note; the
   coach reads the note, writes a new version, and the client confirms it.
3. Check-ins: before a session the client may say what they want from it (every part can be
   skipped; a very long answer gets a kind "please make this shorter"); the coach writes down
   what was agreed, and the client sees it.

All of it is encrypted: none of the words is in a copy of the database. Every route refuses a
coach the client is not assigned to, with a 404. "Everything we hold about you" holds all of it,
and nothing of anyone else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support.clients import MadeClient, come_back, make_client
from support.consent import label, my_data
from support.database import assert_not_stored, database_bytes, raw_sql
from support.database import database_state as every_row
from support.journey import marker
from support.pages import Page, page_text
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team

from intake.db import db_session
from intake.models import Agreement, CheckIn
from intake.questionnaire import DEFAULT_FORM

PURPOSE_PAGE = DEFAULT_FORM.note_after_page + 1  # PROMISES: the purpose of coaching
OUTCOMES_PAGE = DEFAULT_FORM.note_after_page + 3
SHORTER = "Please make this shorter. You can write up to 2,000 letters here."
CHANGED_NOTICE = "Their answers below changed after you accepted them."
COACH_NAME = "Rowan Ferreira-Quill"


# --- helpers ------------------------------------------------------------------------------


def coached(app: Flask, team: Team, admin: FlaskClient, coach: str = "coach") -> MadeClient:
    person = make_client(app)
    assign(admin, person.id, team.ids[coach])
    return person


def record(coach: FlaskClient, person: MadeClient) -> str:
    response = coach.get(f"/clients/{person.id}")
    assert response.status_code == 200
    return page_text(response)


def versions(app: Flask, client_id: str, kind: str) -> list[int]:
    with app.app_context():
        return sorted(
            db_session().scalars(
                select(Agreement.version).where(
                    Agreement.client_id == client_id, Agreement.kind == kind
                )
            )
        )


def check_in_ids(app: Flask, client_id: str) -> list[int]:
    with app.app_context():
        return sorted(
            db_session().scalars(select(CheckIn.id).where(CheckIn.client_id == client_id))
        )


def respond(person: MadeClient, kind: str, version: int, response: str, note: str = "") -> None:
    person.phone.get("/agreement")
    fields = {"kind": kind, "version": str(version), "response": response, "note": note}
    if response == "confirmed":
        fields["agree"] = "y"  # signing with a tick
    answer = person.phone.post("/agreement", fields)
    # Back to the agreement: at the version answered, or at the top when a newer one came.
    assert answer.headers["Location"] in (f"/agreement#{kind}", "/agreement")


def check_in(person: MadeClient, **fields: str) -> None:
    person.phone.get("/before-a-session")
    person.phone.keep_private(*fields.values())
    answer = person.phone.post(
        "/before-a-session",
        {
            "goal": fields.get("goal", ""),
            "off_limits": fields.get("off_limits", ""),
            "arriving": fields.get("arriving", ""),
        },
    )
    assert answer.headers["Location"] == "/before-a-session?sent=1"


def agree_on(coach: FlaskClient, person: MadeClient, check_in_id: int, words: str) -> int:
    return staff_post(
        coach, f"/clients/{person.id}/check-ins/{check_in_id}/agreed", {"agreed": words}
    ).status_code


def database_state(app: Flask) -> dict[str, list[str]]:
    """Every row but the sessions and the access log (which note each request)."""
    return every_row(app, leaving_out=("access_event",))


# --- 1. the relationship agreement --------------------------------------------------------


def test_the_relationship_agreement_is_accepted_confirmed_revisited_and_kept(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    person = coached(app, team, admin)
    purpose = str(person.answers[PURPOSE_PAGE]["purpose"])
    outcomes = str(person.answers[OUTCOMES_PAGE]["outcomes"])
    name = str(person.answers[1]["name"])

    come_back(app, person)
    assert "Your coach has not written this yet." in page_text(person.phone.get("/agreement"))
    assert "You have not accepted their agreement yet." in record(coach, person)

    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302
    seen = record(coach, person)
    assert "Version 1, accepted on" in seen
    assert "They have not signed it yet." in seen

    # The client reads their PROMISES answers as accepted, and confirms them.
    agreement = page_text(person.phone.get("/agreement"))
    assert "How we work together" in agreement
    assert purpose in agreement
    assert outcomes in agreement
    assert name not in agreement  # the intake is not part of the agreement
    respond(person, "relationship", 1, "confirmed")
    assert "You signed this on" in page_text(person.phone.get("/agreement"))
    seen = record(coach, person)
    assert "They signed it on" in seen
    assert CHANGED_NOTICE not in seen

    # Changing an intake answer is not a change to the agreement...
    person.phone.save_page(1, {**person.answers[1], "name": marker()})
    assert CHANGED_NOTICE not in record(coach, person)
    # ...changing a PROMISES answer is, and the coach is told.
    new_outcomes = marker()
    person.phone.save_page(OUTCOMES_PAGE, {"outcomes": new_outcomes})
    seen = record(coach, person)
    assert CHANGED_NOTICE in seen
    assert new_outcomes in seen
    # The client's agreement still shows the words the coach accepted.
    agreement = page_text(person.phone.get("/agreement"))
    assert outcomes in agreement
    assert new_outcomes not in agreement

    # Accepting again makes version 2; version 1 is kept as it was.
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302
    seen = record(coach, person)
    assert "Version 2, accepted on" in seen
    assert CHANGED_NOTICE not in seen
    assert "They have not signed it yet." in seen
    assert versions(app, person.id, "relationship") == [1, 2]
    agreement = page_text(person.phone.get("/agreement"))
    assert "Version 2" in agreement
    assert new_outcomes in agreement
    assert "You signed this on" not in agreement

    # A confirmation of the old version, sent from a page left open, confirms nothing.
    respond(person, "relationship", 1, "confirmed")
    assert "They have not signed it yet." in record(coach, person)
    respond(person, "relationship", 2, "confirmed")
    assert "They signed it on" in record(coach, person)

    kept = {
        a["version"]: a
        for a in my_data(person.phone)["agreements"]  # type: ignore[union-attr]
        if a["kind"] == "relationship"
    }
    assert sorted(kept) == [1, 2]
    assert kept[1]["content"]["promises"]["outcomes"]["outcomes"] == outcomes
    assert kept[2]["content"]["promises"]["outcomes"]["outcomes"] == new_outcomes
    assert kept[1]["your_response"] == "confirmed"
    assert kept[2]["your_response"] == "confirmed"
    assert_not_stored(
        database_bytes(app, database_kind, instance_path), [purpose, outcomes, new_outcomes]
    )


# --- 2. the coaching plan -----------------------------------------------------------------


def test_the_plan_is_written_questioned_rewritten_and_confirmed(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    person = coached(app, team, admin)
    first, second, third = marker(), marker(), marker()
    note = f"Could we start with the second one? {marker()}"

    assert "No plan yet." in record(coach, person)
    response = staff_post(coach, f"/clients/{person.id}/plan", {"goals": f"{first}\n\n{second}\n"})
    assert response.status_code == 302
    come_back(app, person)
    page = person.phone.get("/agreement")
    agreement = page_text(page)
    assert "Your coaching plan" in agreement
    assert agreement.index(first) < agreement.index(second)
    assert len(re.findall(r"<li><bdi>", page.get_data(as_text=True))) == 2  # no empty goal

    # The client asks for a change, with a note the coach reads.
    respond(person, "plan", 1, "change_requested", note)
    assert "You asked for a change on" in page_text(person.phone.get("/agreement"))
    seen = record(coach, person)
    assert "They asked for a change" in seen
    assert note in seen

    # The coach writes version 2; the client confirms it.
    response = staff_post(coach, f"/clients/{person.id}/plan", {"goals": f"{second}\n{third}"})
    assert response.status_code == 302
    agreement = page_text(person.phone.get("/agreement"))
    assert "Version 2" in agreement
    assert first not in agreement
    assert agreement.index(second) < agreement.index(third)
    respond(person, "plan", 2, "confirmed")
    seen = record(coach, person)
    assert "Version 2." in seen
    assert "They signed it on" in seen
    assert versions(app, person.id, "plan") == [1, 2]

    kept = {
        a["version"]: a
        for a in my_data(person.phone)["agreements"]  # type: ignore[union-attr]
        if a["kind"] == "plan"
    }
    assert kept[1]["content"]["goals"] == [first, second]
    assert kept[1]["your_response"] == "change_requested"
    assert kept[1]["your_note"] == note
    assert kept[2]["content"]["goals"] == [second, third]
    assert kept[2]["your_response"] == "confirmed"
    assert_not_stored(
        database_bytes(app, database_kind, instance_path), [first, second, third, note]
    )


# --- 3. check-ins -------------------------------------------------------------------------


def test_before_a_session_the_client_says_what_they_bring_and_sees_what_was_agreed(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    person = coached(app, team, admin)
    goal, off_limits, arriving, agreed = marker(), marker(), marker(), marker()
    come_back(app, person)

    page = page_text(person.phone.get("/before-a-session"))
    assert "Every question can be skipped." in page
    check_in(person, goal=goal, off_limits=off_limits, arriving=arriving)
    assert "Thank you. Your coach will read this before your session." in page_text(
        person.phone.get("/before-a-session?sent=1")
    )
    # An empty one is fine too: nothing is required.
    check_in(person)
    assert len(check_in_ids(app, person.id)) == 2

    # A very long answer is kindly sent back, with everything typed kept; nothing is saved.
    person.phone.get("/before-a-session")
    too_long = "a" * 100_000
    response = person.phone.post(
        "/before-a-session",
        {"goal": too_long, "off_limits": off_limits, "arriving": ""},
        status=400,
    )
    shown = Page(response.get_data(as_text=True))
    assert SHORTER in page_text(response)
    assert ("#goal", SHORTER) in shown.summary_links
    assert shown.value("goal") == too_long
    assert shown.value("off_limits") == off_limits
    assert len(check_in_ids(app, person.id)) == 2

    # The coach reads it and writes down what was agreed.
    seen = record(coach, person)
    for words in (goal, off_limits, arriving):
        assert words in seen
    assert seen.count("Not provided") >= 3  # the empty check-in, shown as such
    first_id, _second_id = check_in_ids(app, person.id)
    assert agree_on(coach, person, first_id, "") == 400  # nothing to save
    assert agree_on(coach, person, first_id, agreed) == 302
    assert f"Agreed: {agreed}" in record(coach, person)

    # The client sees what was agreed.
    assert f"you agreed {agreed}" in page_text(person.phone.get("/before-a-session"))
    held = my_data(person.phone)["check_ins"]
    said = [c["you_said"] for c in held]  # type: ignore[union-attr]
    assert {"goal": goal, "off_limits": off_limits, "arriving": arriving} in said
    assert agreed in [c["agreed"] for c in held]  # type: ignore[union-attr]
    assert_not_stored(
        database_bytes(app, database_kind, instance_path), [goal, off_limits, arriving, agreed]
    )


# --- who may do it ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("relationship", {}),
        ("plan", {"goals": "Sleep better"}),
        ("check-ins/{check_in}/agreed", {"agreed": "Talk about sleep"}),
        ("consent", {"purpose": "contact", "decision": "granted", "reason": "On the phone"}),
        ("status", {"status": "closed"}),
    ],
)
def test_another_coach_gets_404_and_changes_nothing(
    app: Flask, team: Team, path: str, form: dict[str, str], auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    other_coach = auth.sign_in("coach2")
    person = coached(app, team, admin)
    come_back(app, person)
    check_in(person, goal=marker())
    (check_in_id,) = check_in_ids(app, person.id)
    before = database_state(app)

    address = f"/clients/{person.id}/" + path.format(check_in=check_in_id)
    assert staff_post(other_coach, address, form).status_code == 404
    assert database_state(app) == before
    for page in ("", "/print", "/export"):
        assert other_coach.get(f"/clients/{person.id}{page}").status_code == 404


def test_a_check_in_of_one_client_cannot_be_reached_through_another(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    mine = coached(app, team, admin)
    also_mine = coached(app, team, admin)
    come_back(app, mine)
    check_in(mine, goal=marker())
    (check_in_id,) = check_in_ids(app, mine.id)
    before = database_state(app)
    assert agree_on(coach, also_mine, check_in_id, "Something else") == 404
    assert database_state(app) == before


# --- everything we hold about you ---------------------------------------------------------


def test_my_data_holds_everything_about_the_person_and_nothing_of_anyone_else(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    raw_sql(
        app,
        "UPDATE staff_user SET display_name = :name WHERE id = :id",
        name=COACH_NAME,
        id=team.ids["coach"],
    )
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    people = [coached(app, team, admin) for _ in range(2)]
    written: dict[str, dict[str, str]] = {}
    for person in people:
        words = {key: marker() for key in ("goal", "note", "today", "agreed")}
        written[person.id] = words
        staff_post(coach, f"/clients/{person.id}/relationship", {})
        staff_post(coach, f"/clients/{person.id}/plan", {"goals": words["goal"]})
        come_back(app, person)
        respond(person, "plan", 1, "change_requested", words["note"])
        respond(person, "relationship", 1, "confirmed")
        person.phone.get("/my-choices")
        person.phone.post("/my-choices", {"purpose": "anonymous_statistics", "decision": "granted"})
        check_in(person, goal=words["today"])
        (check_in_id,) = check_in_ids(app, person.id)
        assert agree_on(coach, person, check_in_id, words["agreed"]) == 302
        record(coach, person)

    person, other = people
    mine = [*person.typed, *written[person.id].values()]
    theirs = [*other.typed, *written[other.id].values()]

    page = person.phone.get("/my-data")
    shown = page_text(page)
    for words in [*person.typed, *(written[person.id][k] for k in ("goal", "today", "agreed"))]:
        assert words in shown
    for kind in ("relationship", "plan"):
        assert f"{label(app, 'AGREEMENT', kind)} · version 1" in shown
    yes = label(app, "DECISION", "granted")
    for purpose in ("store_answers", "share_with_coach", "anonymous_statistics"):
        assert f"{label(app, 'PURPOSE', purpose)} · {yes}" in shown
    assert COACH_NAME in shown
    assert not any(words in page.get_data(as_text=True) for words in theirs)

    raw = person.phone.get("/my-data.json").get_data(as_text=True)
    for words in mine:
        assert words in raw
    assert not any(words in raw for words in theirs)
    assert other.id not in raw
    document = json.loads(raw)
    assert document["record"] == person.id
    assert {r["purpose"] for r in document["consent"]} == {
        "store_answers",
        "share_with_coach",
        "anonymous_statistics",
    }
    assert all(r["record"] == person.id for r in document["consent"])
    assert {(a["kind"], a["version"]) for a in document["agreements"]} == {
        ("relationship", 1),
        ("plan", 1),
    }
    assert {"who": COACH_NAME, "what": "viewed"} in [
        {"who": e["who"], "what": e["what"]} for e in document["who_looked"]
    ]
    assert all(e["who"] in (COACH_NAME, "Ada Admin") for e in document["who_looked"])
