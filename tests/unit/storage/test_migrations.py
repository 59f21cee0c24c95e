"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from dataward.services import Vault
from dataward.storage import create_database_engine, current_revision, metadata, migrate, write_transaction
from dataward.subjects.service import is_subject_id


def test_the_migrated_schema_is_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_migrating_again_changes_nothing(engine: Engine) -> None:
    revision = current_revision(engine)
    assert revision is not None
    migrate(engine)
    assert current_revision(engine) == revision


def test_sqlite_runs_in_wal_mode_with_durable_commits(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_subject_ids_are_random_uuid4_not_sequential(vault: Vault) -> None:
    with write_transaction(vault.engine) as connection:
        ids = [vault.subjects.create(connection) for _ in range(20)]
    assert all(is_subject_id(i) and uuid.UUID(i).version == 4 for i in ids)
    assert len(set(ids)) == 20
    assert sorted(ids) != ids  # in creation order they would sort only by a 1 in 20! chance
