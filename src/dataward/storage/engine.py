"""Create the database engine: SQLite in WAL mode by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text

__all__ = ["WRITE_LOCK", "create_database_engine", "normalise_url", "take_write_lock", "write_transaction"]

# Execution option: on SQLite, begin the transaction with BEGIN IMMEDIATE (take the write lock now).
WRITE_LOCK = "dataward_write_lock"


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def create_database_engine(url: str, **kwargs: Any) -> Engine:
    """An engine that never puts statement parameters (which may be personal data) into errors."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write. On SQLite it takes the write lock when it begins, so it never
    fails half-way because another writer committed after it first read.

    Never wait for the audit log inside one: the audit writer needs the same lock.
    """
    with engine.connect().execution_options(**{WRITE_LOCK: True}) as connection, connection.begin():
        yield connection


def take_write_lock(connection: Connection, name: str) -> None:
    """Serialise writers of one kind across processes, until the transaction ends.

    PostgreSQL takes a transaction-level advisory lock; SQLite already holds its database write
    lock when the connection was opened with the `WRITE_LOCK` execution option.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("select pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def _sqlite_begin(connection: Connection) -> None:
    # pysqlite's own transaction handling is off (see _sqlite_pragmas); begin explicitly.
    immediate = connection.get_execution_options().get(WRITE_LOCK, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a commit is durable when it returns
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
