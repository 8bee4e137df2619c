"""The access log, as the client, the admin and an attacker with the database see it.

Every look at a client's answers (read, print, export) and every choice of coach is written
down. The client sees their own lines — who, when, and what in plain words — and nobody
else's. The admin sees the whole log and is told it is complete; `flask audit verify` agrees.
An attacker who drops the append-only triggers and changes, removes or forges a line is
caught: the chain names the first broken entry, the command fails, the admin page warns.
An entry is written before anything of the record is opened, and two entries written at
once never fork the chain.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import format_date, format_time
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from support.clients import MadeClient, sent_client
from support.journey import Phone
from support.staff import StaffBrowser, assign, rename
from support.team import Team

from intake import audit, vault
from intake.db import database, db_session
from intake.labels import ACTION
from intake.models import AccessEvent, Client

ADMIN_NAME = "Ada Admin"
COACH_NAME = "Rowan Ferreira-Quill"
COACH2_NAME = "Mina Oduya-Brandt"
PLAIN_WORDS = {
    "viewed": "read your answers",
    "printed": "printed your answers",
    "exported": "saved a copy of your answers",
    "assigned": "chose your coach",
}
INTACT = "The log is complete: no entry has been changed or removed."
BROKEN = "The log has been changed"


# --- helpers ------------------------------------------------------------------------------


def events(app: Flask, client_id: str | None = None) -> list[AccessEvent]:
    """The rows of the log, oldest first, read straight from the database."""
    with app.app_context():
        db = db_session()
        query = select(AccessEvent).order_by(AccessEvent.id)
        if client_id is not None:
            query = query.where(AccessEvent.client_id == client_id)
        rows = list(db.scalars(query))
        for row in rows:
            db.expunge(row)
        return rows


def looked_lines(response: object) -> list[str]:
    """The lines of the "who looked" list, as a person reads them."""
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    block = re.search(r'<ul class="looked">(.*?)</ul>', page, re.DOTALL)
    if block is None:
        return []
    items = re.findall(r"<li>(.*?)</li>", block.group(1), re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in items]


def expected_lines(app: Flask, rows: list[AccessEvent], names: dict[int, str]) -> list[str]:
    """What the client should read for these rows, newest first, in English: one line each,
    for rows where no two in a row share a person and an action (tests/test_who_looked.py
    covers looks that are joined into one line)."""
    with app.test_request_context():
        return [
            f"{names[row.staff_id]} {PLAIN_WORDS[row.action]} "  # type: ignore[index]
            f"at {format_time(row.at, 'HH:mm')}, {format_date(row.at, 'd MMMM yyyy')}"
            for row in reversed(rows)
        ]


def log_rows(response: object) -> list[list[str]]:
    """The rows of the admin's access-log table, cell by cell."""
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.DOTALL)
    assert body, "no log table"
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.DOTALL)
    return [
        [html.unescape(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in rows
    ]


def audit_verify(app: Flask) -> Result:
    """`flask audit verify`, run as the flask command runs it."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["audit", "verify"])


def verify(app: Flask) -> int | None:
    with app.app_context():
        return audit.verify(db_session())


@pytest.fixture
def names(app: Flask, team: Team) -> dict[int, str]:
    """Names that appear nowhere else on a page, so a line is found by who wrote it."""
    rename(app, "coach", COACH_NAME)
    rename(app, "coach2", COACH2_NAME)
    return {
        team.ids["admin"]: ADMIN_NAME,
        team.ids["coach"]: COACH_NAME,
        team.ids["coach2"]: COACH2_NAME,
    }


@dataclass
class Logged:
    """A sent client, assigned to the coach, whose record was read, printed, exported, read."""

    person: MadeClient
    admin: FlaskClient
    coach: FlaskClient
    ids: list[int]


@pytest.fixture
def logged(app: Flask, team: Team, names: dict[int, str], auth: StaffBrowser) -> Logged:
    person = sent_client(app, "Hana Quietbrook")
    admin = auth.sign_in("admin")
    assign(admin, person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    for path in ("", "/print", "/export", ""):
        assert coach.get(f"/clients/{person.id}{path}").status_code == 200, path
    rows = events(app)
    assert [row.action for row in rows] == ["assigned", "viewed", "printed", "exported", "viewed"]
    assert verify(app) is None
    return Logged(person, admin, coach, [row.id for row in rows])


# --- what the client sees -----------------------------------------------------------------


def test_the_client_sees_each_look_in_plain_words_and_nobody_elses(
    app: Flask, team: Team, names: dict[int, str], auth: StaffBrowser
) -> None:
    first = sent_client(app, "Hana Quietbrook")
    other = sent_client(app, "Yusuf Lantern-Reed")
    assert (
        first.phone.get("/who-looked")
        .get_data(as_text=True)
        .count("Nobody has opened your answers yet.")
        == 1
    )

    admin = auth.sign_in("admin")
    assign(admin, first.id, team.ids["coach"])
    assign(admin, other.id, team.ids["coach2"])

    coach = auth.sign_in("coach")
    record = coach.get(f"/clients/{first.id}")
    assert record.status_code == 200
    assert first.name in record.get_data(as_text=True)
    printed = coach.get(f"/clients/{first.id}/print")
    assert printed.status_code == 200
    assert first.name in printed.get_data(as_text=True)
    exported = coach.get(f"/clients/{first.id}/export")
    assert exported.status_code == 200
    assert json.loads(exported.get_data(as_text=True))["answers"]["name"]["name"] == first.name
    # The coach cannot open someone assigned to another coach, and that is not a look.
    assert coach.get(f"/clients/{other.id}").status_code == 404

    coach2 = auth.sign_in("coach2")
    assert other.name in coach2.get(f"/clients/{other.id}").get_data(as_text=True)

    mine = events(app, first.id)
    assert [row.action for row in mine] == ["assigned", "viewed", "printed", "exported"]
    assert [row.staff_id for row in mine] == [team.ids["admin"], *[team.ids["coach"]] * 3]
    want = expected_lines(app, mine, names)
    assert want[-1].startswith(f"{ADMIN_NAME} chose your coach at ")
    assert want[0].startswith(f"{COACH_NAME} saved a copy of your answers at ")

    # In the client's own session...
    page = first.phone.get("/who-looked")
    assert looked_lines(page) == want
    shown = page.get_data(as_text=True)
    assert COACH2_NAME not in shown, "another client's entries are not shown"
    assert other.name not in shown
    said = {word for line in looked_lines(page) for word in line.split()}
    codes = set(PLAIN_WORDS) - {"printed"}  # "printed" is a code and a plain word
    assert not said & codes, "the action is in plain words, not a code"

    # ...and on another phone, coming back with the code.
    again = Phone(app)
    again.keep_private(first.code)
    assert again.come_back(first.code).headers["Location"] == "/your-space"
    assert looked_lines(again.get("/who-looked")) == want

    # The other client sees only their own two lines.
    theirs = events(app, other.id)
    assert [row.staff_id for row in theirs] == [team.ids["admin"], team.ids["coach2"]]
    other_page = other.phone.get("/who-looked")
    assert looked_lines(other_page) == expected_lines(app, theirs, names)
    assert COACH_NAME not in other_page.get_data(as_text=True)

    # The admin sees every entry, newest first, and is told the log is complete.
    log = admin.get("/access-log")
    assert log.status_code == 200
    assert INTACT in log.get_data(as_text=True)
    assert BROKEN not in log.get_data(as_text=True)
    every = events(app)
    rows = log_rows(log)
    assert len(rows) == len(every) == 6
    assert [row[1:] for row in rows] == [
        [names[e.staff_id], str(ACTION[e.action]), e.client_id[:6]]  # type: ignore[index]
        for e in reversed(every)
    ]
    # Only the admin reads the whole log.
    assert coach.get("/access-log").status_code == 404

    result = audit_verify(app)
    assert result.exit_code == 0, result.output
    assert "complete" in result.output


def test_a_person_nobody_looked_at_is_told_so(app: Flask, team: Team) -> None:
    person = sent_client(app, "Ola Stillwater")
    page = person.phone.get("/who-looked")
    assert looked_lines(page) == []
    assert "Nobody has opened your answers yet." in page.get_data(as_text=True)
    assert person.phone.get("/your-space").get_data(as_text=True).count('href="/who-looked"') == 1


# --- an attacker with the database --------------------------------------------------------


@pytest.fixture
def drop_triggers(app: Flask, database_kind: str) -> Iterator[Callable[[], None]]:
    """Drop the append-only triggers as someone with database access would; on PostgreSQL
    (one schema for the whole run) put them back afterwards."""
    engine = database(app).engine
    dropped = False

    def _drop() -> None:
        nonlocal dropped
        with engine.begin() as connection:
            if database_kind == "sqlite":
                connection.execute(text("DROP TRIGGER access_event_no_update"))
                connection.execute(text("DROP TRIGGER access_event_no_delete"))
            else:
                connection.execute(text("DROP TRIGGER access_event_append_only ON access_event"))
        dropped = True

    yield _drop
    if dropped and database_kind == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE TRIGGER access_event_append_only BEFORE UPDATE OR DELETE "
                    "ON access_event FOR EACH ROW EXECUTE FUNCTION groundwork_append_only()"
                )
            )


def change_action(app: Flask, logged: Logged, team: Team) -> int:
    """Hide that the record was printed: the line now says it was only read."""
    target = logged.ids[2]
    with database(app).engine.begin() as connection:
        connection.execute(
            text("UPDATE access_event SET action = 'viewed' WHERE id = :id"), {"id": target}
        )
    return target


def change_staff(app: Flask, logged: Logged, team: Team) -> int:
    """Blame another coach for a look."""
    target = logged.ids[2]
    with database(app).engine.begin() as connection:
        connection.execute(
            text("UPDATE access_event SET staff_id = :staff WHERE id = :id"),
            {"staff": team.ids["coach2"], "id": target},
        )
    return target


def delete_middle(app: Flask, logged: Logged, team: Team) -> int:
    """Remove the line that says the record was printed."""
    with database(app).engine.begin() as connection:
        connection.execute(text("DELETE FROM access_event WHERE id = :id"), {"id": logged.ids[2]})
    return logged.ids[3]  # the entry after the gap no longer follows the one before it


def insert_forged(app: Flask, logged: Logged, team: Team) -> int:
    """Add a line saying another coach read the record, after the last real one."""
    last = events(app)[-1]
    with database(app).engine.begin() as connection:
        connection.execute(
            insert(AccessEvent.__table__).values(
                staff_id=team.ids["coach2"],
                client_id=logged.person.id,
                action="viewed",
                at=last.at,
                prev_hash=last.hash,
                hash=hashlib.sha256(b"a line nobody wrote").hexdigest(),
            )
        )
        forged = connection.scalar(select(func.max(AccessEvent.id)))
    assert forged is not None
    assert forged > logged.ids[-1]
    return int(forged)


@pytest.mark.parametrize(
    "tamper",
    [change_action, change_staff, delete_middle, insert_forged],
    ids=["changed-action", "changed-staff", "deleted-entry", "forged-entry"],
)
def test_a_changed_removed_or_forged_entry_is_found_and_named(
    app: Flask,
    team: Team,
    logged: Logged,
    drop_triggers: Callable[[], None],
    tamper: Callable[[Flask, Logged, Team], int],
) -> None:
    before = audit_verify(app)
    assert before.exit_code == 0, before.output
    assert INTACT in logged.admin.get("/access-log").get_data(as_text=True)

    # The database itself refuses to change or remove a line while its triggers are there.
    engine = database(app).engine
    for statement in (
        "UPDATE access_event SET action = 'viewed' WHERE id = :id",
        "DELETE FROM access_event WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement), {"id": logged.ids[2]})
    assert [row.id for row in events(app)] == logged.ids

    drop_triggers()
    broken = tamper(app, logged, team)

    assert verify(app) == broken
    result = audit_verify(app)
    assert result.exit_code != 0
    assert f"broken at entry {broken}" in result.output

    page = logged.admin.get("/access-log")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert BROKEN in shown
    assert f"entry {broken} does not follow" in shown
    assert INTACT not in shown


def test_a_long_log_is_checked_across_batches(
    app: Flask, team: Team, logged: Logged, drop_triggers: Callable[[], None]
) -> None:
    """verify reads the log in batches and carries the chain from one batch to the next."""
    with app.app_context():
        db = db_session()
        for _ in range(7):
            audit.record(db, team.ids["coach"], logged.person.id, audit.Action.VIEWED)
        assert audit.verify(db, batch=3) is None
        assert audit.verify(db, batch=1) is None
    ids = [row.id for row in events(app)]
    assert len(ids) == 12

    drop_triggers()
    with database(app).engine.begin() as connection:
        connection.execute(text("DELETE FROM access_event WHERE id = :id"), {"id": ids[5]})
    with app.app_context():
        db = db_session()
        assert audit.verify(db, batch=3) == ids[6]
        assert audit.verify(db) == ids[6]


# --- written before anything is opened ----------------------------------------------------


def committed_entries(url: str, client_id: str, action: str) -> int:
    """Entries another connection can already see: committed, not just pending."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(AccessEvent)
                    .where(AccessEvent.client_id == client_id, AccessEvent.action == action)
                )
                or 0
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("path", "action"),
    [("", "viewed"), ("/print", "printed"), ("/export", "exported")],
    ids=["read", "print", "export"],
)
def test_the_entry_is_committed_before_the_data_key_is_opened(
    app: Flask,
    team: Team,
    names: dict[int, str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    action: str,
    auth: StaffBrowser,
) -> None:
    person = sent_client(app, "Lior Harbourlight")
    admin = auth.sign_in("admin")
    assign(admin, person.id, team.ids["coach"])
    coach = auth.sign_in("coach")

    seen_when_opening: list[int] = []
    original = vault.unlock_with_org_key

    def opening(client: Client, org_key: bytes) -> bytes:
        if client.id == person.id:
            seen_when_opening.append(
                committed_entries(str(app.config["DATABASE_URL"]), person.id, action)
            )
        return original(client, org_key)

    monkeypatch.setattr(vault, "unlock_with_org_key", opening)
    response = coach.get(f"/clients/{person.id}{path}")
    assert response.status_code == 200
    assert person.name in response.get_data(as_text=True)
    assert seen_when_opening, "the record was opened"
    assert all(count == 1 for count in seen_when_opening), seen_when_opening


def test_a_look_that_fails_after_the_entry_still_leaves_the_entry(
    app: Flask,
    team: Team,
    names: dict[int, str],
    monkeypatch: pytest.MonkeyPatch,
    auth: StaffBrowser,
) -> None:
    person = sent_client(app, "Teo Windmere")
    admin = auth.sign_in("admin")
    assign(admin, person.id, team.ids["coach"])
    coach = auth.sign_in("coach")

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("the page could not be drawn")

    import intake.coach.views as coach_views
    from intake import workspace

    # The page fails while it is being drawn (after the entry).
    with monkeypatch.context() as patch:
        patch.setattr(coach_views, "record_view", broken)
        for path in ("", "/print"):
            response = coach.get(f"/clients/{person.id}{path}")
            assert response.status_code == 500
            assert person.name not in response.get_data(as_text=True)
    # The export fails while it opens the record (after the entry).
    with monkeypatch.context() as patch:
        patch.setattr(workspace, "open_record", broken)
        response = coach.get(f"/clients/{person.id}/export")
        assert response.status_code == 500
        assert person.name not in response.get_data(as_text=True)

    # The organisation key no longer opens this client's data key.
    with app.app_context():
        db = db_session()
        client = db.get(Client, person.id)
        assert client is not None
        client.dek_by_org = bytes(reversed(client.dek_by_org or b""))
        db.commit()
    unreadable = coach.get(f"/clients/{person.id}")
    assert unreadable.status_code == 200
    assert "could not be opened with the organisation key" in unreadable.get_data(as_text=True)
    assert person.name not in unreadable.get_data(as_text=True)

    assert [row.action for row in events(app, person.id)] == [
        "assigned",
        "viewed",
        "printed",
        "exported",
        "viewed",
    ]
    assert verify(app) is None
    lines = looked_lines(person.phone.get("/who-looked"))
    assert len(lines) == 5
    assert all(line.startswith(COACH_NAME) for line in lines[:4])


# --- written at once ----------------------------------------------------------------------


def test_two_entries_written_at_once_never_fork_the_chain(
    app: Flask, team: Team, logged: Logged, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = database(app).sessions
    first_writer, second_writer = sessions(), sessions()
    try:
        # The second writer reads the end of the chain, then the first writer appends.
        stale = audit._last_hash(second_writer)
        assert stale == events(app)[-1].hash
        written_first = audit.record(first_writer, team.ids["coach"], logged.person.id, "viewed")
        assert written_first.prev_hash == stale

        reads: list[str] = []
        original = audit._last_hash

        def last_hash(db: object) -> str:
            value = stale if not reads else original(db)  # type: ignore[arg-type]
            reads.append(value)
            return value

        monkeypatch.setattr(audit, "_last_hash", last_hash)
        written_second = audit.record(
            second_writer, team.ids["admin"], logged.person.id, "assigned"
        )
    finally:
        first_writer.close()
        second_writer.close()

    assert reads == [stale, written_first.hash], "the second writer tried again after the first"
    assert written_second.prev_hash == written_first.hash
    rows = events(app)
    assert [row.id for row in rows][-2:] == [written_first.id, written_second.id]
    prev_hashes = [row.prev_hash for row in rows]
    assert len(set(prev_hashes)) == len(prev_hashes), "two entries follow the same one"
    assert verify(app) is None
    assert audit_verify(app).exit_code == 0
    # And both lines reach the client.
    # The coach's look follows the coach's last look, so the two are one line.
    lines = looked_lines(logged.person.phone.get("/who-looked"))
    assert lines[0].startswith(f"{ADMIN_NAME} chose your coach at ")
    assert lines[1].startswith(f"{COACH_NAME} read your answers 2 times ")
    assert len(lines) == 6


# --- anchors: a rewritten or shortened log, found from a line kept elsewhere --------------

ANCHOR_LINE = re.compile(r"^Anchor: (\d+:[0-9a-f]{64})$", re.MULTILINE)


def audit_verify_with(app: Flask, *anchors: str) -> Result:
    arguments = ["audit", "verify"]
    for anchor in anchors:
        arguments += ["--anchor", anchor]
    with app.app_context():
        return app.test_cli_runner().invoke(args=arguments)


def anchor_now(app: Flask) -> str:
    result = audit_verify(app)
    assert result.exit_code == 0, result.output
    found = ANCHOR_LINE.findall(result.output)
    assert len(found) == 1, result.output
    return found[0]


def rebuild_from(app: Flask, first_id: int, action: str) -> None:
    """What someone with write access could do: change an entry, then recompute every hash
    after it so that the chain is whole again (in SQL: the app itself refuses to)."""
    engine = database(app).engine
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE access_event SET action = :action WHERE id = :id"),
            {"action": action, "id": first_id},
        )
    with app.app_context():
        db = db_session()
        before = db.scalar(
            select(AccessEvent.hash)
            .where(AccessEvent.id < first_id)
            .order_by(AccessEvent.id.desc())
            .limit(1)
        )
        rows = list(
            db.scalars(
                select(AccessEvent).where(AccessEvent.id >= first_id).order_by(AccessEvent.id)
            )
        )
        for row in rows:
            db.expunge(row)
        db.rollback()
    previous = before or audit.GENESIS_HASH
    with engine.begin() as connection:
        for row in rows:
            row.prev_hash = previous
            row.hash = audit.event_hash(row)
            connection.execute(
                text("UPDATE access_event SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                {"prev": row.prev_hash, "hash": row.hash, "id": row.id},
            )
            previous = row.hash


def test_verify_prints_an_anchor_that_later_entries_keep(
    app: Flask, team: Team, logged: Logged
) -> None:
    anchor = anchor_now(app)
    last = events(app)[-1]
    assert anchor == f"{last.id}:{last.hash}"

    assert logged.coach.get(f"/clients/{logged.person.id}").status_code == 200
    assert events(app)[-1].id > last.id, "the log went on"
    later = audit_verify_with(app, anchor)
    assert later.exit_code == 0, later.output
    assert f"entry {last.id} is as it was" in later.output


def test_a_rebuilt_log_passes_alone_but_not_against_its_anchor(
    app: Flask, team: Team, logged: Logged, drop_triggers: Callable[[], None]
) -> None:
    anchor = anchor_now(app)
    drop_triggers()
    rebuild_from(app, logged.ids[2], "viewed")  # hide that the record was printed

    assert audit_verify(app).exit_code == 0, "a rebuilt chain is whole: this is the limit"
    result = audit_verify_with(app, anchor)
    assert result.exit_code != 0
    assert f"does not match the anchor for entry {logged.ids[-1]}" in result.output


def test_a_log_cut_short_fails_against_its_anchor(
    app: Flask, team: Team, logged: Logged, drop_triggers: Callable[[], None]
) -> None:
    anchor = anchor_now(app)
    drop_triggers()
    with database(app).engine.begin() as connection:
        connection.execute(text("DELETE FROM access_event WHERE id >= :id"), {"id": logged.ids[3]})

    assert audit_verify(app).exit_code == 0, "a chain without its end is whole: the limit"
    result = audit_verify_with(app, anchor)
    assert result.exit_code != 0
    assert f"entry {logged.ids[-1]} is missing" in result.output


@pytest.mark.parametrize("typed", ["", "12", "x:abc", "3:" + "0" * 63, "-1:" + "0" * 64])
def test_a_mistyped_anchor_is_named_and_nothing_is_claimed(
    app: Flask, team: Team, logged: Logged, typed: str
) -> None:
    result = audit_verify_with(app, typed)
    assert result.exit_code != 0
    assert "An anchor looks like 1234:" in result.output
    assert "complete" not in result.output


def test_names_shown_in_a_list_are_in_the_log_and_the_person_sees_it(
    app: Flask, team: Team, names: dict[int, str], auth: StaffBrowser
) -> None:
    """A name is an answer: opening it for the workspace lists writes an entry per person."""
    named = sent_client(app, "Hana Quietbrook")
    admin = auth.sign_in("admin")
    before = len(events(app))
    page = admin.get("/workspace")
    assert named.name in page.get_data(as_text=True)
    listed = [row for row in events(app)[before:] if row.client_id == named.id]
    assert [(row.action, row.staff_id) for row in listed] == [("listed", team.ids["admin"])]
    assert verify(app) is None, "the entries join the chain"
    assert admin.get("/workspace").status_code == 200
    lines = looked_lines(named.phone.get("/who-looked"))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{ADMIN_NAME} saw your name in a list 2 times")
    # Listing is not reading: the record still shows as new to this admin.
    assert audit_last_looked(app, team.ids["admin"], named.id) is None


def audit_last_looked(app: Flask, staff_id: int, client_id: str) -> object:
    from intake import audit

    with app.app_context():
        return audit.last_looked(db_session(), staff_id, [client_id]).get(client_id)


def test_eight_lists_opened_at_once_all_land_in_one_unbroken_chain(
    app: Flask, team: Team, logged: Logged
) -> None:
    """Eight staff lists written at the same moment (each with 50 names) all succeed: on
    PostgreSQL they take turns at the chain's end rather than running out of retries."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    before = len(events(app))
    start = Barrier(8)

    def open_a_list(_n: int) -> None:
        db = database(app).sessions()
        try:
            start.wait()
            audit.record_many(db, team.ids["coach"], [logged.person.id] * 50, audit.Action.LISTED)
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(open_a_list, range(8)))
    assert len(events(app)) == before + 8 * 50
    assert verify(app) is None
