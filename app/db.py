"""Database plumbing: the declarative base, shared column types and engine set-up."""

from __future__ import annotations

import enum
import json
import operator
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

#: What domain functions take: a Session, or Flask-SQLAlchemy's request-scoped proxy for one.
DbSession = Session | scoped_session[Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite forgets the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL for concurrent readers, and SAVEPOINTs that actually work.

    pysqlite starts transactions lazily on its own and breaks SAVEPOINT; SQLAlchemy's documented
    recipe takes that over so nested transactions (used for race handling) behave as on PostgreSQL.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(SQLITE_BEGIN_IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: Execution option: start this SQLite transaction holding the write lock. A deferred transaction
#: that reads and then writes fails at once with "database is locked" when another writer got in
#: between; an immediate one waits its turn (busy_timeout) instead. PostgreSQL ignores it.
SQLITE_BEGIN_IMMEDIATE = "undersigned_sqlite_begin_immediate"


def begin_writing(session: DbSession) -> None:
    """Open the session's transaction as one that will write (matters on SQLite only).

    Only when the session starts its own transactions: a session bound to a connection that is
    already in a transaction (as in the tests) has nothing left to begin.
    """
    current = session() if isinstance(session, scoped_session) else session
    bind = current.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite" and not current.in_transaction():
        current.connection(execution_options={SQLITE_BEGIN_IMMEDIATE: True})


def upsert(target: Any, dialect_name: str) -> Any:
    """INSERT ... ON CONFLICT for this database (both dialects spell it the same)."""
    if dialect_name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


def bulk_insert(session: DbSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once: COPY on PostgreSQL (a huge multi-row INSERT spends most of its
    time having its parameters parsed), a plain executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    columns = list(rows[0])
    names = ", ".join(columns)
    values_of = operator.itemgetter(*columns)
    # Enums are written as their stored strings; which columns hold them is seen once.
    enum_positions = [i for i, c in enumerate(columns) if isinstance(rows[0][c], enum.Enum)]
    # JSON columns as their text, as the JSON type would have written them.
    json_positions = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = list(values_of(row)) if len(columns) > 1 else [row[columns[0]]]
            for position in enum_positions:
                values[position] = values[position].value
            for position in json_positions:
                if values[position] is not None:
                    values[position] = json.dumps(values[position])
            copy.write_row(values)


def migration_filter(dialect_name: str) -> Any:
    """Alembic's include_object hook: indexes made only on PostgreSQL (ddl_if) are not expected
    on other databases, so comparing models and schema there must not look for them."""

    def include(obj: Any, _name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
        if type_ != "index" or dialect_name == "postgresql":
            return True
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, dialect_name)

    return include
