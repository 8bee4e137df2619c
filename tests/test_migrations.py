"""The Alembic migrations build exactly the models' schema, and the append-only tables refuse
to change: through the ORM, and on the database itself, whoever connects (DESIGN.md §4).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    create_engine,
    delete,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from intake.cli import alembic_config
from intake.db import database
from intake.models import (
    APPEND_ONLY_TABLES,
    AccessEvent,
    AppendOnlyViolation,
    Base,
    ConsentEvent,
    utcnow,
)


def comparison(connection: Connection) -> MigrationContext:
    """Alembic's autogenerate comparison, types and server defaults included. UTCDateTime
    needs no special case: Alembic compares a TypeDecorator by the type it stores."""
    return MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )


def copy_of_models() -> MetaData:
    copy = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


@pytest.fixture
def connection(app: Flask) -> Iterator[Connection]:
    with database(app).engine.connect() as connection:
        yield connection


def test_the_migrations_are_at_head(connection: Connection) -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, "the migrations have more than one head"

    assert MigrationContext.configure(connection).get_current_revision() == heads[0]


def test_the_migrations_make_exactly_the_models_schema(connection: Connection) -> None:
    differences = compare_metadata(comparison(connection), Base.metadata)

    assert differences == []


def test_the_comparison_notices_a_missing_column(connection: Connection) -> None:
    """The check above is not empty by construction: a real difference shows."""
    models = copy_of_models()
    models.tables["client"].append_column(Column("nickname", String(40)))

    differences = compare_metadata(comparison(connection), models)

    assert [(d[0], d[3].name) for d in differences] == [("add_column", "nickname")]


@pytest.mark.parametrize(
    ("table", "column", "new_type"),
    [("client", "created_at", Integer()), ("staff_user", "username", String(20))],
)
def test_the_comparison_notices_a_changed_type(
    connection: Connection, table: str, column: str, new_type: Any
) -> None:
    models = copy_of_models()
    models.tables[table].columns[column].type = new_type

    differences = compare_metadata(comparison(connection), models)

    # A column's changes come as a list of ("modify_type", schema, table, column, ...) tuples.
    assert len(differences) == 1
    kind, _schema, changed_table, changed_column, *_rest = differences[0][0]
    assert (kind, changed_table, changed_column) == ("modify_type", table, column)


def test_every_model_table_exists_with_its_columns(connection: Connection) -> None:
    inspector = inspect(connection)
    for table in Base.metadata.sorted_tables:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert columns == {column.name for column in table.columns}, table.name


# --- append-only ------------------------------------------------------------------------


def consent_event(n: int = 1) -> ConsentEvent:
    return ConsentEvent(
        client_id=f"client{n}",
        purpose="store_answers",
        decision="granted",
        actor="client",
        prev_hash=f"{n - 1:064x}",
        hash=f"{n:064x}",
    )


def access_event(n: int = 1) -> AccessEvent:
    return AccessEvent(
        client_id=f"client{n}", action="viewed", prev_hash=f"{n - 1:064x}", hash=f"{n:064x}"
    )


MAKERS = {"consent_event": consent_event, "access_event": access_event}
# A third row written with plain SQL: the columns each table needs besides the chain.
PLAIN_INSERT = {
    "consent_event": {
        "client_id": "client3",
        "purpose": "contact",
        "decision": "declined",
        "actor": "client",
    },
    "access_event": {"client_id": "client3", "action": "viewed"},
}


@pytest.fixture
def orm(app: Flask) -> Iterator[Session]:
    with Session(database(app).engine) as session:
        yield session


@pytest.fixture(params=APPEND_ONLY_TABLES)
def table(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_append_only_tables_are_the_two_ledgers() -> None:
    assert set(APPEND_ONLY_TABLES) == {"consent_event", "access_event"}


def test_inserting_works(orm: Session, table: str) -> None:
    orm.add_all([MAKERS[table](1), MAKERS[table](2)])
    orm.commit()

    model = type(MAKERS[table]())
    assert orm.scalar(select(func.count()).select_from(model)) == 2


def test_the_orm_refuses_to_change_a_row(orm: Session, table: str) -> None:
    row = MAKERS[table]()
    orm.add(row)
    orm.commit()

    row.hash = "f" * 64
    with pytest.raises(AppendOnlyViolation):
        orm.flush()
    orm.rollback()

    orm.expire_all()
    assert orm.get(type(row), row.id).hash == f"{1:064x}"


def test_the_orm_refuses_to_delete_a_row(orm: Session, table: str) -> None:
    row = MAKERS[table]()
    orm.add(row)
    orm.commit()

    orm.delete(row)
    with pytest.raises(AppendOnlyViolation):
        orm.flush()
    orm.rollback()

    assert orm.scalar(select(func.count()).select_from(type(row))) == 1


def test_a_bulk_orm_update_or_delete_is_refused_by_the_database(orm: Session, table: str) -> None:
    """Bulk statements skip the ORM's per-row hooks: the database trigger still refuses."""
    model = type(MAKERS[table]())
    orm.add(MAKERS[table]())
    orm.commit()

    with pytest.raises(DBAPIError, match="append-only"):
        orm.execute(update(model).values(hash="f" * 64))
    orm.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        orm.execute(delete(model))
    orm.rollback()

    assert orm.scalars(select(model.hash)).all() == [f"{1:064x}"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET hash = 'forged'",
        "UPDATE {table} SET client_id = 'someone-else' WHERE id = (SELECT MIN(id) FROM {table})",
        "DELETE FROM {table}",
        "DELETE FROM {table} WHERE id = (SELECT MIN(id) FROM {table})",
    ],
)
def test_raw_sql_cannot_change_or_delete_a_row(
    app: Flask, orm: Session, table: str, statement: str
) -> None:
    """Someone with a plain database connection (not the app) is refused too."""
    orm.add_all([MAKERS[table](1), MAKERS[table](2)])
    orm.commit()
    before = orm.execute(text(f"SELECT id, client_id, hash FROM {table} ORDER BY id")).all()  # noqa: S608
    orm.commit()

    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as raw:
            with pytest.raises(DBAPIError, match="append-only"):
                raw.execute(text(statement.format(table=table)))
            raw.rollback()
            values = {
                **PLAIN_INSERT[table],
                "at": utcnow().replace(tzinfo=None),
                "prev_hash": "2" * 64,  # follows the ORM's rows, as a chain would
                "hash": "3" * 64,
            }
            columns = ", ".join(values)
            placeholders = ", ".join(f":{name}" for name in values)
            raw.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"), values)  # noqa: S608
            raw.commit()
    finally:
        engine.dispose()

    after = orm.execute(text(f"SELECT id, client_id, hash FROM {table} ORDER BY id")).all()  # noqa: S608
    assert after[:2] == before
    assert len(after) == 3, "a plain INSERT still works"
