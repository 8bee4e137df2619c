"""Plain SQLAlchemy 2.0: the engine, one session per request, and the naming convention.

The engine and session factory live in `app.extensions["groundwork.db"]`. A view gets the
request's session with `db_session()`; it is closed when the app context ends, and anything a
view forgot to commit is rolled back at the end of the request.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_EXTENSION = "groundwork.db"


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]


def make_engine(url: str) -> Engine:
    """An engine that never puts statement parameters (ciphertext, hashes) into error messages."""
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    else:
        # A pooled connection to a server that restarted is dead: test each one before use,
        # so the app comes back by itself (tests/test_faults.py). A SQLite file has no server.
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        _create_private_file(Path(engine.url.database))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_private_file(path: Path) -> None:
    """A new SQLite file readable by its owner only (its -wal and -shm files follow it)."""
    if path.parent.is_dir() and not path.exists():
        path.touch(mode=0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA secure_delete=ON")  # erased rows are overwritten, not left on disk
    cursor.close()


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[_EXTENSION] = Database(engine, sessionmaker(engine, expire_on_commit=False))
    app.after_request(_discard_uncommitted)
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[_EXTENSION]  # type: ignore[no-any-return]


def db_session() -> Session:
    """The current request's (or CLI command's) database session."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session  # type: ignore[no-any-return]


def _discard_uncommitted(response: Any) -> Any:
    session: Session | None = g.get("db_session")
    if session is not None and session.in_transaction():
        with contextlib.suppress(Exception):  # a broken connection is reported elsewhere
            session.rollback()
    return response


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def forget_deleted_pages(session: Session) -> None:
    """After an erasure: on SQLite, fold the write-ahead log into the database and empty it,
    so erased pages (already overwritten, with secure_delete) leave no copy in the -wal file.
    PostgreSQL keeps old row versions until VACUUM; see docs/deployment.md."""
    if session.get_bind().dialect.name == "sqlite":
        with contextlib.suppress(Exception):  # busy readers: the next checkpoint will do it
            session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        session.commit()
