"""The two workspace reads that grew with the number of clients go through an index
(docs/performance.md): a coach's count of their clients, from the index alone, and an admin's
"Waiting for a coach" list, both kinds (no coach, a coach who left) found by the index rather
than a look at every client. Asked of each database's own planner; PostgreSQL is told not to
scan the table, so a plan through an index shows that one serves the query (which index it
picks for a handful of rows says little; the plans at 10,000 clients are in
docs/performance.md)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from support.team import Team

from intake import audit, workspace
from intake.db import db_session
from intake.models import Client, StaffUser


def plan(db: Session, database_kind: str, query: object) -> str:
    sql = str(query.compile(db.get_bind(), compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]
    if database_kind == "postgresql":
        db.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(db.execute(text(f"EXPLAIN {sql}")).scalars())
    return "\n".join(str(row[-1]) for row in db.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def test_a_coachs_count_and_the_waiting_list_read_through_an_index(
    app: Flask, team: Team, database_kind: str
) -> None:
    with app.app_context():
        db = db_session()
        coach = db.get(StaffUser, team.ids["coach"])
        gone = db.get(StaffUser, team.ids["coach2"])
        assert coach is not None
        assert gone is not None
        gone.active = False  # a coach who left: their clients wait for a coach too
        db.flush()
        count = select(func.count()).select_from(workspace.assigned_to(coach).subquery())
        counted = plan(db, database_kind, count)
        assert "ix_client_coach_" in counted, counted
        for whole_table in ("Seq Scan", "SCAN client"):
            assert whole_table not in counted, counted
        if database_kind == "sqlite":  # on PostgreSQL, at 10,000: docs/performance.md
            assert "COVERING INDEX ix_client_coach_status_shared" in counted, counted

        waiting = workspace.waiting_for_a_coach(db).order_by(Client.submitted_at, Client.id)
        listed = plan(db, database_kind, waiting)
        assert "ix_client_coach_" in listed, listed
        for whole_table in ("Seq Scan", "SCAN client", "SubPlan"):
            assert whole_table not in listed, listed
        db.rollback()


def test_when_a_coach_last_viewed_each_listed_client_reads_their_views_alone(
    app: Flask, team: Team, database_kind: str
) -> None:
    """Every look at the workspace adds a "saw your name in a list" entry per name: "last
    viewed" must not read those to find the views, or the list slows each time it is opened."""
    with app.app_context():
        db = db_session()
        query = audit.last_looked_query(team.ids["coach"], ["a" * 32, "b" * 32])
        planned = plan(db, database_kind, query)
        assert "ix_access_event_staff_client_action" in planned, planned
        if database_kind == "sqlite":
            assert "COVERING INDEX" in planned, planned
        else:
            assert "Index Only Scan" in planned, planned
        db.rollback()
