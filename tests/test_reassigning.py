"""Nobody is stranded when their coach leaves or they ask for someone else.

A person whose coach was deactivated goes back to the admin's "Waiting for a coach" list; an
admin finds everyone else under "Everyone with a coach" and can move anyone to another coach
from their record. The coach who had them loses the
record at once, the new coach gains it, and the person sees "chose the coach" in who looked.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.clients import sent_client
from support.pages import csrf
from support.staff import StaffBrowser, assign, rename
from support.team import Team

WAITING_CAPTION = "Sent, with no coach yet, or whose coach has left:"


@pytest.fixture
def admin(app: Flask, team: Team, auth: StaffBrowser) -> FlaskClient:
    return auth.sign_in("admin")


def waiting_section(admin: FlaskClient) -> str:
    page = admin.get("/workspace").get_data(as_text=True)
    start = page.index("Waiting for a coach")
    end = page.find("Everyone with a coach", start)
    return page[start : end if end != -1 else None]


def deactivate(admin: FlaskClient, staff_id: int) -> None:
    response = admin.post(f"/team/{staff_id}/deactivate", data={"csrf_token": csrf(admin, "/team")})
    assert response.status_code == 302, response.get_data(as_text=True)


def reassign_from_record(admin: FlaskClient, client_id: str, coach_id: int) -> None:
    response = admin.post(
        f"/clients/{client_id}/assign",
        data={
            "coach": str(coach_id),
            "back": "record",
            "csrf_token": csrf(admin, f"/clients/{client_id}"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/clients/{client_id}"


def test_a_leaving_coachs_clients_wait_for_a_new_coach(
    app: Flask, team: Team, admin: FlaskClient, auth: StaffBrowser
) -> None:
    person = sent_client(app, "Farida Stranded")
    assign(admin, person.id, team.ids["coach"])
    assert "Farida Stranded" not in waiting_section(admin)

    deactivate(admin, team.ids["coach"])

    waiting = waiting_section(admin)
    assert WAITING_CAPTION in waiting
    assert "<bdi>Farida Stranded</bdi>" in waiting
    assert f'action="/clients/{person.id}/assign"' in waiting, "the admin can pick a coach"
    options = re.findall(r'<option value="(\d+)"', waiting)
    assert str(team.ids["coach"]) not in options, "nobody is given to a coach who has left"

    assign(admin, person.id, team.ids["coach2"])
    assert "Farida Stranded" not in waiting_section(admin)
    coach2 = auth.sign_in("coach2")
    assert "<bdi>Farida Stranded</bdi>" in coach2.get("/workspace").get_data(as_text=True)
    assert coach2.get(f"/clients/{person.id}").status_code == 200


def test_an_admin_moves_someone_to_another_coach_from_their_record(
    app: Flask, team: Team, admin: FlaskClient, auth: StaffBrowser
) -> None:
    rename(app, "coach2", "Mirela Second-Coach")
    person = sent_client(app, "Yusuf Moving")
    assign(admin, person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    assert coach.get(f"/clients/{person.id}").status_code == 200

    record = admin.get(f"/clients/{person.id}").get_data(as_text=True)
    chooser = record[record.index(f'action="/clients/{person.id}/assign"') :]
    chooser = chooser[: chooser.index("</form>")]
    assert re.search(rf'<option value="{team.ids["coach"]}" selected>', chooser), (
        "the current coach is the one chosen"
    )
    reassign_from_record(admin, person.id, team.ids["coach2"])

    assert coach.get(f"/clients/{person.id}").status_code == 404, "the old coach loses them"
    assert "Yusuf Moving" not in coach.get("/workspace").get_data(as_text=True)
    coach2 = auth.sign_in("coach2")
    assert coach2.get(f"/clients/{person.id}").status_code == 200
    shown = admin.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "<dd>Mirela Second-Coach</dd>" in shown

    looked = person.phone.get("/who-looked").get_data(as_text=True)
    assert looked.count("chose your coach") == 2, "each choice of coach is shown to them"


def test_a_coach_is_not_offered_the_choice_and_cannot_make_it(
    app: Flask, team: Team, admin: FlaskClient, auth: StaffBrowser
) -> None:
    person = sent_client(app, "Lena Staying")
    assign(admin, person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    record = coach.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "/assign" not in record

    refused = coach.post(
        f"/clients/{person.id}/assign",
        data={
            "coach": str(team.ids["coach2"]),
            "back": "record",
            "csrf_token": csrf(coach, f"/clients/{person.id}"),
        },
    )
    assert refused.status_code in (403, 404)
    assert coach.get(f"/clients/{person.id}").status_code == 200, "nothing moved"


def test_an_admin_finds_everyone_who_has_a_coach_and_who_that_is(
    app: Flask, team: Team, admin: FlaskClient, auth: StaffBrowser
) -> None:
    rename(app, "coach", "Tomasz First-Coach")
    person = sent_client(app, "Amira Withacoach")
    assign(admin, person.id, team.ids["coach"])

    page = admin.get("/workspace").get_data(as_text=True)
    everyone = page[page.index("Everyone with a coach") :]
    row = everyone[everyone.index("<bdi>Amira Withacoach</bdi>") :]
    row = row[: row.index("</tr>")]
    assert f'href="/clients/{person.id}"' in everyone, "their record is one click away"
    assert "<td>Tomasz First-Coach</td>" in row, "the row says who their coach is"

    coach = auth.sign_in("coach")
    assert "Everyone with a coach" not in coach.get("/workspace").get_data(as_text=True)
