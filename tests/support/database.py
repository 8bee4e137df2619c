"""The database as someone with a copy of it sees it: the raw bytes of the SQLite file and its
write-ahead log, every column of every row, the rows of a table, and what a request changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import func, inspect, select, table, text

from intake import vault
from intake.db import database, db_session
from intake.models import AccessEvent, Answer, Client
from intake.vault import AnswerValue

Row = TypeVar("Row")


def count_rows(app: Flask, *tables: str) -> dict[str, int]:
    with app.app_context():
        db = db_session()
        return {
            name: int(db.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in tables
        }


def only_client(app: Flask) -> Client:
    with app.app_context():
        db = db_session()
        clients = list(db.scalars(select(Client)))
        assert len(clients) == 1, clients
        db.expunge(clients[0])
        return clients[0]


def answer_rows(app: Flask, section_key: str | None = None) -> list[Answer]:
    with app.app_context():
        db = db_session()
        query = select(Answer).order_by(Answer.section_key, Answer.version)
        if section_key is not None:
            query = query.where(Answer.section_key == section_key)
        rows = list(db.scalars(query))
        for row in rows:
            db.expunge(row)
        return rows


def read_as_coach(app: Flask, org_private_key: bytes) -> dict[str, dict[str, AnswerValue] | None]:
    """What a coach reads: the data key opened with the organisation key, then every section."""
    with app.app_context():
        db = db_session()
        client = db.scalars(select(Client)).one()
        data_key = vault.unlock_with_org_key(client, org_private_key)
        return {
            key: opened.fields for key, opened in vault.read_sections(db, client, data_key).items()
        }


def every_value(app: Flask) -> bytes:
    """Every column of every row of every table, read through SQL, as bytes."""
    chunks: list[bytes] = []
    with app.app_context():
        engine = database(app).engine
        names = inspect(engine).get_table_names()
        assert "client" in names
        assert "answer" in names
        quote = engine.dialect.identifier_preparer.quote
        with engine.connect() as connection:
            for name in names:
                for row in connection.execute(text(f"SELECT * FROM {quote(name)}")):  # noqa: S608
                    for value in row:
                        if isinstance(value, bytes | bytearray | memoryview):
                            chunks.append(bytes(value))
                        elif value is not None:
                            chunks.append(str(value).encode("utf-8"))
    return b"\x00".join(chunks)


def database_bytes(app: Flask, database_kind: str, instance_path: Path) -> bytes:
    """All a copy of the database would hold: on SQLite the file and its WAL as raw bytes,
    plus (on both databases) every column of every row through SQL."""
    raw = b""
    if database_kind == "sqlite":
        main = instance_path / "groundwork.sqlite"
        assert main.exists()
        for suffix in ("", "-wal", "-journal"):
            path = Path(f"{main}{suffix}")
            if path.exists():
                raw += path.read_bytes()
    return raw + b"\x00" + every_value(app)


def assert_not_stored(stored: bytes, values: Iterable[str]) -> None:
    for value in values:
        for form in {value.encode("utf-8"), value.encode("utf-16-le")}:
            assert form not in stored, f"{value!r} is in the database as plain text"


def database_state(app: Flask, *, leaving_out: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Every row of every table but the sessions (which note each request) and `leaving_out`,
    as text: what a request changed, if anything."""
    with app.app_context():
        engine = database(app).engine
        quote = engine.dialect.identifier_preparer.quote
        state = {}
        with engine.connect() as connection:
            for name in sorted(inspect(engine).get_table_names()):
                if name in ("session_record", "alembic_version", *leaving_out):
                    continue
                rows = connection.execute(text(f"SELECT * FROM {quote(name)}"))  # noqa: S608
                state[name] = sorted(repr(tuple(row)) for row in rows)
        return state


def access_events(app: Flask) -> list[tuple[int | None, str, str]]:
    """Every access-log entry, oldest first: (staff id, client id, action)."""
    with app.app_context():
        return [
            (e.staff_id, e.client_id, e.action)
            for e in db_session().scalars(select(AccessEvent).order_by(AccessEvent.id))
        ]


def raw_sql(app: Flask, statement: str, **params: object) -> None:
    with app.app_context(), database(app).engine.begin() as connection:
        connection.execute(text(statement), params)


def detached_row(app: Flask, model: type[Row], key: Any) -> Row:
    """One row as the database holds it now, readable after its session has closed."""
    with app.app_context():
        db = db_session()
        found = db.get(model, key)
        assert found is not None
        db.expunge(found)
        return found
