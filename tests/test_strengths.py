"""Strengths and past successes carried forward (docs/agreements.md): what the person said
they are good at and proud of appears at the top of their coaching plan, for them and for
their coach, and either can add to it over time. Nothing of it is stored in plain text."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from support.clients import make_client
from support.database import assert_not_stored, database_bytes
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team

from intake.questionnaire import DEFAULT_FORM

MANAGED = "I phoned the housing office on my own."
SEEN_BY_COACH = "Spoke up at the group meeting."


def test_strengths_are_carried_to_the_plan_and_added_to_by_both(
    app: Flask, team: Team, auth: StaffBrowser, database_kind: str, instance_path: Path
) -> None:
    person = make_client(app)
    own = person.answers[DEFAULT_FORM.page_number("strengths")]
    said = [str(own["strengths"]), str(own["proud_of"])]
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")

    page = person.phone.get("/agreement").get_data(as_text=True)
    assert all(words in page for words in said)
    assert page.index("Your strengths") < page.index("Your coaching plan")
    person.phone.post("/agreement/strengths", {"text": MANAGED})
    assert (
        staff_post(coach, f"/clients/{person.id}/strengths", {"text": SEEN_BY_COACH}).status_code
        == 302
    )

    record = coach.get(f"/clients/{person.id}").get_data(as_text=True)
    plan_part = record[record.index('id="plan"') :]
    assert all(words in plan_part for words in [*said, MANAGED, SEEN_BY_COACH])
    assert "(added by them)" in plan_part
    assert "(added by you)" in plan_part
    page = person.phone.get("/agreement").get_data(as_text=True)
    assert MANAGED in page
    assert SEEN_BY_COACH in page
    assert "(added by your coach)" in page
    assert_not_stored(database_bytes(app, database_kind, instance_path), [MANAGED, SEEN_BY_COACH])


def test_a_strength_too_long_stays_on_the_page(app: Flask, team: Team) -> None:
    person = make_client(app)
    long_text = "I managed " + "a lot " * 400
    person.phone.get("/agreement")
    refused = person.phone.post("/agreement/strengths", {"text": long_text}, status=400)
    page = refused.get_data(as_text=True)
    assert long_text.strip() in page, "what they typed is kept"
    person.phone.post("/agreement/strengths", {"text": "   "}, status=400)
