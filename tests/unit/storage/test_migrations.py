"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL; SQLite
runs in WAL mode with durable commits; subject ids are random."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, insert, select, text

from dataward.services import Vault
from dataward.storage import create_database_engine, current_revision, metadata, migrate, write_transaction
from dataward.storage.tables import audit_head
from dataward.subjects.service import is_subject_id

HEAD = {"id": 1, "seq": 7, "hash": "h" * 64, "at": "t", "kid": "k", "signature": "s"}


def _schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))


def test_the_migrated_schema_is_the_declared_schema(engine: Engine) -> None:
    assert current_revision(engine) is not None
    assert _schema_differences(engine) == []


def test_the_schema_comparison_sees_a_missing_index(engine: Engine) -> None:
    """The check above is not vacuous: a schema that drifted from the metadata shows a difference."""
    with engine.begin() as connection:
        connection.execute(text("drop index ix_audit_entries_subject_id"))
    differences = _schema_differences(engine)
    assert [d[0] for d in differences] == ["add_index"]
    assert differences[0][1].name == "ix_audit_entries_subject_id"


def test_migrating_again_changes_nothing_and_keeps_the_data(engine: Engine) -> None:
    revision = current_revision(engine)
    with engine.begin() as connection:
        connection.execute(insert(audit_head).values(HEAD))

    migrate(engine)
    migrate(engine)

    assert current_revision(engine) == revision
    assert _schema_differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_head)).scalar_one() == 1


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_every_sqlite_connection_runs_in_wal_mode_with_durable_commits(sqlite_engine: Engine) -> None:
    # Two connections open at once: the pragmas hold for each pooled connection, not just the first.
    with sqlite_engine.connect() as first, sqlite_engine.connect() as second:
        for connection in (first, second):
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_subject_ids_are_random_uuid4_not_sequential(vault: Vault) -> None:
    with write_transaction(vault.engine) as connection:
        ids = [vault.subjects.create(connection) for _ in range(20)]

    assert all(is_subject_id(i) and uuid.UUID(i).version == 4 for i in ids)
    assert len(set(ids)) == 20
    # Sequential (or time-ordered) ids would sort in creation order; random ones do so by a 1 in 20!
    # chance. Nor do neighbours share a prefix, as counters and timestamps would.
    assert sorted(ids) != ids
    assert len({i[:8] for i in ids}) > 15
