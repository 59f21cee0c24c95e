"""Create the database engine: SQLite in WAL mode by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text

__all__ = [
    "create_database_engine",
    "create_private_sqlite_file",
    "normalise_url",
    "read_connection",
    "take_write_lock",
    "write_transaction",
]


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def create_database_engine(url: str, *, sqlite_journal: str = "WAL", **kwargs: Any) -> Engine:
    """An engine that never puts statement parameters (which may be personal data) into errors.
    `sqlite_journal` is SQLite's journal mode (the key store uses DELETE, see `subject_keys`).

    No engine-level event listeners: with one, SQLAlchemy dispatches events on every statement,
    which costs the hot read path more than its query.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True, **kwargs)
        event.listen(engine.pool, "connect", partial(_sqlite_pragmas, journal=sqlite_journal))
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write. On SQLite it takes the write lock when it begins
    (BEGIN IMMEDIATE), so it never fails half-way because another writer committed after it read.

    Never wait for the audit log inside one: the audit writer needs the same lock.
    """
    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads. On SQLite each SELECT runs in its own implicit transaction."""
    with engine.connect() as connection:
        yield connection


def take_write_lock(connection: Connection, name: str) -> None:
    """Serialise writers of one kind across processes, until the transaction ends.

    PostgreSQL takes a transaction-level advisory lock; on SQLite, `write_transaction` already
    holds the database's write lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("select pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, journal: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA journal_mode={journal}")
    cursor.execute("PRAGMA synchronous=FULL")  # a commit is durable when it returns
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free pages
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_private_sqlite_file(url: str) -> None:
    """Create an SQLite database file owner-only (0600) before SQLite makes it with the default
    mode; SQLite gives its -wal, -shm and -journal files the same mode."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
