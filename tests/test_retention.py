"""Retention: `flask retention run` erases what is no longer needed, and nothing else.

Drafts never sent are erased once they have not changed for RETENTION_DRAFT_DAYS; one a day
younger stays and still opens with its return code. Sent clients stay however old they are.
Closed clients are erased RETENTION_CLOSED_DAYS after they were closed; recently closed ones
stay. An erased client is crypto-shredded exactly as when they delete everything themselves,
and the command says how many it erased.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from support.app import invoke
from support.clients import MadeClient, client_row, come_back, make_client
from support.database import count_rows, raw_sql
from support.journey import Phone
from support.pages import page_text
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team

from intake.db import db_session
from intake.models import Answer, ConsentEvent, utcnow


def age(app: Flask, person: MadeClient, column: str, days: int) -> None:
    """Make a date in the database `days` old, as time passing would."""
    when = (utcnow() - timedelta(days=days)).replace(tzinfo=None)
    raw_sql(app, f"UPDATE client SET {column} = :when WHERE id = :id", when=when, id=person.id)  # noqa: S608


def answers_of(app: Flask, person: MadeClient) -> int:
    with app.app_context():
        return int(
            db_session().scalar(
                select(func.count()).select_from(Answer).where(Answer.client_id == person.id)
            )
            or 0
        )


def decisions_of(app: Flask, person: MadeClient) -> int:
    with app.app_context():
        return int(
            db_session().scalar(
                select(func.count())
                .select_from(ConsentEvent)
                .where(ConsentEvent.client_id == person.id)
            )
            or 0
        )


def assert_erased(app: Flask, person: MadeClient) -> None:
    row = client_row(app, person.id)
    assert row.status == "erased"
    assert row.erased_at is not None
    assert (row.dek_by_code, row.dek_by_org, row.lookup_hash) == (None, None, None)
    assert answers_of(app, person) == 0
    assert decisions_of(app, person) > 0  # the ledger keeps the decisions
    response = Phone(app).come_back(person.code, status=400)
    assert "We could not find answers for that code." in page_text(response)


def assert_kept(app: Flask, person: MadeClient, status: str) -> None:
    row = client_row(app, person.id)
    assert row.status == status
    assert row.erased_at is None
    assert row.dek_by_code is not None
    assert row.dek_by_org is not None
    assert answers_of(app, person) == len(person.answers)


@pytest.fixture
def draft_days(request: pytest.FixtureRequest, settings: dict[str, object]) -> int:
    """RETENTION_DRAFT_DAYS, set before the app starts, as an operator sets it."""
    settings["RETENTION_DRAFT_DAYS"] = request.param
    return int(request.param)


@pytest.mark.parametrize("draft_days", [30, 7], indirect=True)
def test_drafts_past_the_limit_are_erased_and_younger_ones_still_open(
    draft_days: int, app: Flask, team: Team
) -> None:
    limit = draft_days
    assert app.config["RETENTION_DRAFT_DAYS"] == limit
    old_draft = make_client(app, pages=2, send=False)
    young_draft = make_client(app, pages=2, send=False)
    old_sent = make_client(app, pages=2, send=True)
    age(app, old_draft, "updated_at", limit + 1)
    age(app, young_draft, "updated_at", limit - 1)
    age(app, old_sent, "updated_at", limit * 20)
    age(app, old_sent, "submitted_at", limit * 20)

    result = invoke(app, "retention", "run")
    assert result.exit_code == 0, result.output
    assert f"Erased 1 drafts never sent (older than {limit} days)" in result.output
    assert "and 0 closed clients" in result.output

    assert_erased(app, old_draft)
    assert_kept(app, young_draft, "draft")
    assert_kept(app, old_sent, "submitted")

    # The younger draft still opens with its code, with its answers.
    assert come_back(app, young_draft).headers["Location"] == "/your-space"
    shown = page_text(young_draft.phone.get("/check"))
    assert str(young_draft.answers[1]["name"]) in shown
    assert str(young_draft.answers[2]["languages"]) in shown

    # Running again erases nothing more.
    result = invoke(app, "retention", "run")
    assert "Erased 0 drafts never sent" in result.output
    assert_kept(app, young_draft, "draft")


def test_closed_clients_are_erased_only_past_the_limit_and_sent_ones_never(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    closed_long_ago = make_client(app, pages=2)
    closed_lately = make_client(app, pages=2)
    active_for_years = make_client(app, pages=2)
    sent_years_ago = make_client(app, pages=2)
    for person in (closed_long_ago, closed_lately, active_for_years):
        assign(admin, person.id, team.ids["coach"])
    for person, status in (
        (closed_long_ago, "closed"),
        (closed_lately, "closed"),
        (active_for_years, "active"),
    ):
        response = staff_post(coach, f"/clients/{person.id}/status", {"status": status})
        assert response.status_code == 302
    limit = int(app.config["RETENTION_CLOSED_DAYS"])
    age(app, closed_long_ago, "closed_at", limit + 1)
    age(app, closed_lately, "closed_at", limit - 1)
    for person in (closed_long_ago, closed_lately, active_for_years, sent_years_ago):
        age(app, person, "updated_at", limit * 3)
        age(app, person, "submitted_at", limit * 3)

    result = invoke(app, "retention", "run")
    assert result.exit_code == 0, result.output
    assert "Erased 0 drafts never sent" in result.output
    assert f"and 1 closed clients (closed over {limit} days ago)" in result.output

    assert_erased(app, closed_long_ago)
    assert_kept(app, closed_lately, "closed")
    assert_kept(app, active_for_years, "active")
    assert_kept(app, sent_years_ago, "submitted")
    assert coach.get(f"/clients/{closed_long_ago.id}").status_code == 404
    assert coach.get(f"/clients/{closed_lately.id}").status_code == 200
    assert count_rows(app, "client")["client"] == 4  # the erased one stays as a tombstone

    # Their ledgers are intact after the erasure.
    verified = invoke(app, "consent", "verify")
    assert verified.exit_code == 0, verified.output
