"""The coach's workspace shows the rhythm of each person's coaching (docs/agreements.md): a
review due, reviews waiting for the coach's view, and agreement versions waiting for a
signature, in the list of their clients and at the top of the record. Only words that hold
nothing of the person: no answer is opened to say it."""

from __future__ import annotations

import html
import re

from flask import Flask
from support.clients import make_client
from support.pages import page_text
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team


def row_of(workspace_html: str, client_id: str) -> str:
    """The text of the person's row in the coach's list of their clients."""
    rows = re.findall(r"<tr>(.*?)</tr>", workspace_html, flags=re.DOTALL)
    (row,) = [r for r in rows if f"/clients/{client_id}" in r]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def test_the_list_and_the_record_show_what_waits_and_clear_when_it_is_done(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    app.config["REVIEW_EVERY_SESSIONS"] = 1
    person = make_client(app)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    quiet = row_of(coach.get("/workspace").get_data(as_text=True), person.id)
    assert "waiting" not in quiet.lower()

    staff_post(coach, f"/clients/{person.id}/plan", {"goals": "Find a flat"})
    row = row_of(coach.get("/workspace").get_data(as_text=True), person.id)
    assert "Coaching plan: waiting for your signature" in row
    assert "Coaching plan: waiting for their signature" in row
    assert "A review is due" not in row

    staff_post(coach, f"/clients/{person.id}/sessions", {"agreed": "a walk"})
    person.phone.get("/review")
    person.phone.post("/review", {"working": "the walks"})
    person.phone.get("/agreement")
    person.phone.post(
        "/agreement", {"kind": "plan", "version": "1", "response": "confirmed", "agree": "y"}
    )
    row = row_of(coach.get("/workspace").get_data(as_text=True), person.id)
    assert "1 review waits for your view" in row
    assert "waiting for their signature" not in row
    record = page_text(coach.get(f"/clients/{person.id}"))
    assert "Waiting" in record
    assert "1 review waits for your view" in record
    assert "Coaching plan: waiting for your signature" in record

    staff_post(coach, f"/clients/{person.id}/agreements/plan/sign", {"version": "1"})
    page = coach.get(f"/clients/{person.id}").get_data(as_text=True)
    (review_id,) = re.findall(rf"/clients/{person.id}/reviews/([0-9]+)/view", page)
    staff_post(coach, f"/clients/{person.id}/reviews/{review_id}/view", {"view": "steady"})
    row = row_of(coach.get("/workspace").get_data(as_text=True), person.id)
    assert "waits for your view" not in row
    assert "signature" not in row
    assert "Next review:" in row
