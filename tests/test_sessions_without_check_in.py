"""A session the person did not prepare for (docs/agreements.md): the coach records what was
agreed; the person sees it on "Before your session" and confirms it or says something is not
right, with a note only they and the coach can read. Nothing of it is stored in plain text."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from support.clients import make_client
from support.database import assert_not_stored, database_bytes
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team

AGREED = "We met by phone and agreed to look for an evening course."
NOTE = "I would rather look for a course on Saturdays."


def test_a_session_without_a_check_in_is_recorded_and_answered(
    app: Flask, team: Team, auth: StaffBrowser, database_kind: str, instance_path: Path
) -> None:
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    assert person.phone.get("/before-a-session").status_code == 200
    recorded = staff_post(coach, f"/clients/{person.id}/sessions", {"agreed": AGREED})
    assert recorded.status_code == 302
    record = coach.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "A session they did not prepare for." in record
    assert AGREED in record

    page = person.phone.get("/before-a-session").get_data(as_text=True)
    assert AGREED in page
    (session_id,) = {int(n) for n in _session_forms(page)}
    person.phone.post(
        f"/before-a-session/{session_id}",
        {"response": "change_requested", "note": NOTE},
    )
    page = person.phone.get("/before-a-session").get_data(as_text=True)
    assert "You told your coach something was not right." in page
    assert NOTE in page
    assert not _session_forms(page), "answered once; nothing more to press"

    record = coach.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "They said something is not right" in record
    assert NOTE in record
    assert_not_stored(database_bytes(app, database_kind, instance_path), [AGREED, NOTE])


def test_a_person_cannot_answer_anyone_elses_session(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    mine, theirs = make_client(app), make_client(app)
    for person in (mine, theirs):
        assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    staff_post(coach, f"/clients/{theirs.id}/sessions", {"agreed": AGREED})
    (their_session,) = {
        int(n) for n in _session_forms(theirs.phone.get("/before-a-session").get_data(as_text=True))
    }
    mine.phone.get("/before-a-session")
    mine.phone.post(f"/before-a-session/{their_session}", {"response": "confirmed"}, status=404)
    assert _session_forms(theirs.phone.get("/before-a-session").get_data(as_text=True))


def _session_forms(page: str) -> list[str]:
    return re.findall(r'action="/before-a-session/(\d+)"', page)
