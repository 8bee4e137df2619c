"""The coach's side of the relationship agreement (docs/agreements.md): what every coach of the
organisation promises, from the form, in the person's language, and the coach's own words
under it. The person reads it before confirming; the agreement keeps it word for word; the
coach's own words are never stored in plain text."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from support.clients import make_client
from support.database import assert_not_stored, database_bytes
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team

from intake.questionnaire import DEFAULT_FORM

OWN_WORDS = "I also speak Tigrinya, and I keep Friday afternoons free for people I coach."
LATER_WORDS = "From January I coach on Mondays only."


def margins_in(language: str) -> tuple[str, str]:
    part = next(p for p in DEFAULT_FORM.coach_side if p.key == "margins")
    return part.heading.in_language(language), part.text.in_language(language)


def test_the_person_reads_the_coachs_side_in_arabic_before_confirming(
    app: Flask,
    team: Team,
    auth: StaffBrowser,
    database_kind: str,
    instance_path: Path,
) -> None:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    page = coach.get("/account/my-side").get_data(as_text=True)
    assert margins_in("en")[1] in page, "the organisation's words, to add to"
    saved = staff_post(coach, "/account/my-side", {"margins": OWN_WORDS})
    assert saved.status_code == 200
    assert OWN_WORDS in coach.get("/account/my-side").get_data(as_text=True)
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302

    agreement = person.phone.get("/agreement?lang=ar").get_data(as_text=True)
    heading, text = margins_in("ar")
    assert heading != margins_in("en")[0], "the form has the words in Arabic"
    assert heading in agreement
    assert text in agreement
    assert OWN_WORDS in agreement, "the coach's own words, as written"
    assert agreement.index(text) < agreement.index('value="confirmed"'), "read before confirming"

    # The agreement keeps the words it was accepted with; later words reach the next version.
    staff_post(coach, "/account/my-side", {"margins": LATER_WORDS})
    again = person.phone.get("/agreement").get_data(as_text=True)
    assert OWN_WORDS in again
    assert LATER_WORDS not in again

    record = coach.get(f"/clients/{person.id}").get_data(as_text=True)
    assert margins_in("en")[0] in record
    assert OWN_WORDS in record

    assert_not_stored(database_bytes(app, database_kind, instance_path), [OWN_WORDS, LATER_WORDS])


def test_only_coaches_have_a_side_and_only_they_read_their_own_words(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    coach = auth.sign_in("coach")
    staff_post(coach, "/account/my-side", {"margins": OWN_WORDS})
    other = auth.sign_in("coach2")
    assert OWN_WORDS not in other.get("/account/my-side").get_data(as_text=True)
    assert auth.sign_in("partner").get("/account/my-side").status_code == 404
    too_long = staff_post(coach, "/account/my-side", {"margins": "x" * 2001})
    assert too_long.status_code == 400
    assert OWN_WORDS in coach.get("/account/my-side").get_data(as_text=True), "nothing lost"
