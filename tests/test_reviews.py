""" "Are we on track?" reviews (docs/agreements.md).

A review is due after the organisation's number of sessions or days, whichever comes first,
counted from when coaching began or from the last review. The person is invited on their own
page and nowhere else; their coach sees when the next one is due. The person says what is
working, what is not, whether the goals still fit and how safe the sessions feel (with "I'd
rather not say"); the coach writes their view, and the person reads it. Where either says the
goals or the agreement should change, that opens for change, and the next version written is
linked to the review. Nothing of a review is in the database as plain text.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from support.clients import MadeClient, make_client
from support.database import assert_not_stored, database_bytes, database_state, raw_sql
from support.journey import marker
from support.pages import page_text
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team

from intake.db import db_session
from intake.models import Agreement, Review, utcnow

INVITED = "Look back with your coach"  # the invitation's link, on "your space" only when due
RATHER_NOT = "I’d rather not say"


def coached(app: Flask, team: Team, auth: StaffBrowser) -> tuple[MadeClient, object]:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    return person, auth.sign_in("coach")


def check_in(person: MadeClient) -> None:
    person.phone.get("/before-a-session")
    person.phone.post("/before-a-session", {"goal": "", "off_limits": "", "arriving": "ok"})


def send_review(person: MadeClient, **fields: str) -> None:
    person.phone.get("/review")
    person.phone.keep_private(*(v for k, v in fields.items() if k in ("working", "not_working")))
    answer = person.phone.post("/review", fields)
    assert answer.headers["Location"] == "/review?sent=1"


def invited(person: MadeClient) -> bool:
    space = page_text(person.phone.get("/your-space"))
    return "Are we on track?" in space.split("Read or change your answers")[0]


def record(coach, person: MadeClient) -> str:  # type: ignore[no-untyped-def]
    response = coach.get(f"/clients/{person.id}")
    assert response.status_code == 200
    return page_text(response)


def reviews_of(app: Flask, client_id: str) -> list[Review]:
    with app.app_context():
        found = list(db_session().scalars(select(Review).where(Review.client_id == client_id)))
        for row in found:
            db_session().expunge(row)
        return found


def plan_versions(app: Flask, client_id: str) -> list[tuple[int, int | None]]:
    with app.app_context():
        rows = db_session().execute(
            select(Agreement.version, Agreement.review_id)
            .where(Agreement.client_id == client_id, Agreement.kind == "plan")
            .order_by(Agreement.version)
        )
        return [(version, review_id) for version, review_id in rows]


def test_a_review_is_due_after_four_sessions_and_shown_on_their_space(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    assert app.config["REVIEW_EVERY_SESSIONS"] == 4
    person, coach = coached(app, team, auth)
    assert not invited(person)
    assert "Nothing to look back on yet" in record(coach, person)

    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find a flat"})  # coaching begins
    for done in range(1, 4):
        check_in(person)
        assert not invited(person), f"not yet after {done} sessions"
    assert "Next review: after 1 more session" in record(coach, person)
    # A session the person did not prepare for counts as one.
    staff_post(coach, f"/clients/{person.id}/sessions", {"agreed": "a walk in the park"})
    assert invited(person)
    seen = record(coach, person)
    assert "A review is due" in seen
    assert "4 sessions since" in seen
    # The invitation is on their own page, and nowhere else.
    for path in ("/agreement", "/before-a-session", "/check"):
        assert INVITED not in page_text(person.phone.get(path))

    send_review(person, working="the walks", safe="mostly_safe")
    assert not invited(person), "after a review, the count starts again"
    assert "Next review: after 4 more sessions" in record(coach, person)


def test_a_review_is_due_after_six_weeks_even_with_few_sessions(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person, coach = coached(app, team, auth)
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find a flat"})
    check_in(person)
    assert not invited(person)
    began = utcnow() - timedelta(days=43)
    raw_sql(
        app, "UPDATE agreement SET created_at = :at WHERE client_id = :id", at=began, id=person.id
    )
    raw_sql(
        app, "UPDATE check_in SET created_at = :at WHERE client_id = :id", at=began, id=person.id
    )
    assert invited(person)
    assert "A review is due" in record(coach, person)


def test_the_organisation_sets_the_rhythm(app: Flask, team: Team, auth: StaffBrowser) -> None:
    app.config["REVIEW_EVERY_SESSIONS"] = 2
    person, _coach = coached(app, team, auth)
    check_in(person)  # coaching began with this first session
    assert not invited(person)
    check_in(person)
    assert invited(person)


def test_a_review_asking_to_change_the_goals_opens_a_new_plan_version_linked_to_it(
    app: Flask, team: Team, auth: StaffBrowser, database_kind: str, instance_path: Path
) -> None:
    person, coach = coached(app, team, auth)
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find a flat"})
    working, not_working, view = marker(), marker(), marker()
    send_review(
        person,
        working=working,
        not_working=not_working,
        goals="change",
        safe="rather_not_say",
        agreement="keep",
    )
    (review,) = reviews_of(app, person.id)

    # Strengths at the top of the review, for both; the answers in words.
    page = page_text(person.phone.get("/review"))
    assert page.index("Your strengths") < page.index("What is working for you in coaching?")
    assert working in page
    assert RATHER_NOT in page
    seen = record(coach, person)
    assert working in seen
    assert not_working in seen
    assert "They should change" in seen
    assert RATHER_NOT in seen
    assert "Open for change: the review of" in seen
    assert "Read the review" in seen
    agreement_page = page_text(person.phone.get("/agreement"))
    assert "asked to change this" in agreement_page

    # The coach's view; the person reads it.
    response = staff_post(
        coach,
        f"/clients/{person.id}/reviews/{review.id}/view",
        {"view": view, "goals": "change", "agreement": "not_sure"},
    )
    assert response.status_code == 302
    assert view in page_text(person.phone.get("/review"))
    assert view in record(coach, person)

    # The next plan the coach writes answers the review, linked to it; then nothing is open.
    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find work first\nThen a flat"})
    assert plan_versions(app, person.id) == [(1, None), (2, review.id)]
    seen = record(coach, person)
    assert "Open for change" not in seen
    assert "Written after the review of" in seen
    assert "This version follows your review of" in page_text(person.phone.get("/agreement"))

    stored = database_bytes(app, database_kind, instance_path)
    assert_not_stored(stored, [working, not_working, view])
    with app.app_context():
        for column in ("change", "rather_not_say", "mostly_safe"):
            assert column.encode() not in b"".join(
                row.content_ct + (row.coach_view_ct or b"")
                for row in db_session().scalars(select(Review))
            )


def test_the_coach_saying_the_agreement_should_change_opens_it(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person, coach = coached(app, team, auth)
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302
    send_review(person, working="fine", agreement="keep")
    (review,) = reviews_of(app, person.id)
    assert "Open for change" not in record(coach, person)
    staff_post(
        coach, f"/clients/{person.id}/reviews/{review.id}/view", {"view": "", "agreement": "change"}
    )
    assert "Open for change" in record(coach, person)
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302
    with app.app_context():
        linked = db_session().scalar(
            select(Agreement.review_id).where(
                Agreement.client_id == person.id,
                Agreement.kind == "relationship",
                Agreement.version == 2,
            )
        )
    assert linked == review.id


def test_a_review_with_too_much_or_broken_text_keeps_what_was_typed(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person, _coach = coached(app, team, auth)
    before = database_state(app, leaving_out=("access_event",))
    person.phone.get("/review")
    huge = "words " * 20_000
    refused = person.phone.post(
        "/review", {"working": huge, "not_working": "the bus", "goals": "change"}, status=400
    )
    text = page_text(refused)
    assert "Please make this shorter" in text
    assert "the bus" in refused.get_data(as_text=True), "nothing typed is lost"
    assert '<input checked id="goals-1"' in refused.get_data(as_text=True), "the choice stays"
    broken = person.phone.post("/review", b"working=caf%FF%FE&safe=safe", status=400)
    assert "could not be read" in page_text(broken)
    odd = person.phone.post("/review", {"safe": "very"}, status=400)
    assert "Please choose from the list." in page_text(odd)
    assert database_state(app, leaving_out=("access_event",)) == before


def test_reviews_a_day_are_capped_kindly(app: Flask, team: Team, auth: StaffBrowser) -> None:
    person, _coach = coached(app, team, auth)
    for _ in range(app.config["REVIEWS_PER_DAY"]):
        send_review(person, working="fine")
    person.phone.get("/review")
    refused = person.phone.post("/review", {"working": "still fine"}, status=400)
    assert "You can send another tomorrow." in page_text(refused)
    assert "still fine" in refused.get_data(as_text=True)
    assert len(reviews_of(app, person.id)) == app.config["REVIEWS_PER_DAY"]


def test_only_their_coach_and_the_admin_read_or_answer_a_review(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    person, _coach = coached(app, team, auth)
    send_review(person, working="fine")
    (review,) = reviews_of(app, person.id)
    other = auth.sign_in("coach2")
    path = f"/clients/{person.id}/reviews/{review.id}/view"
    assert staff_post(other, path, {"view": "mine"}).status_code == 404
    someone_else = make_client(app)
    assign(auth.sign_in("admin"), someone_else.id, team.ids["coach2"])
    wrong = f"/clients/{someone_else.id}/reviews/{review.id}/view"
    assert staff_post(other, wrong, {"view": "mine"}).status_code == 404
    assert reviews_of(app, person.id)[0].coach_view_ct is None


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_review_page_speaks_the_persons_language(
    app: Flask, team: Team, auth: StaffBrowser, language: str
) -> None:
    person, _coach = coached(app, team, auth)
    page = person.phone.get(f"/review?lang={language}").get_data(as_text=True)
    assert f'lang="{language}"' in page
    if language == "ar":
        assert 'dir="rtl"' in page
        assert "What is working for you in coaching?" not in page
