"""`write_transaction`: all or nothing, and on SQLite concurrent writers wait their turn instead of
failing with "database is locked"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, Table, func, insert, select

from dataward.storage import create_database_engine, migrate, write_transaction
from dataward.storage.tables import clients, records, subjects

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Boom(Exception):
    pass


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _add_subject_with_record(connection: Connection, n: int) -> None:
    subject_id = f"subject-{n}"
    connection.execute(insert(subjects).values(id=subject_id, region="eu", created_at=NOW))
    connection.execute(
        insert(records).values(
            id=f"record-{n}", subject_id=subject_id, collection="profile", created_at=NOW, updated_at=NOW
        )
    )


def test_a_write_transaction_commits_when_its_block_ends(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        _add_subject_with_record(connection, 1)
    assert (_count(engine, subjects), _count(engine, records)) == (1, 1)


def test_an_exception_rolls_back_everything_the_transaction_wrote(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        _add_subject_with_record(connection, 1)

    with pytest.raises(Boom), write_transaction(engine) as connection:
        _add_subject_with_record(connection, 2)
        assert _count_in(connection) == (2, 2)  # both rows were written inside the transaction
        raise Boom

    assert (_count(engine, subjects), _count(engine, records)) == (1, 1)  # neither survived
    with engine.connect() as connection:
        assert connection.execute(select(subjects.c.id)).scalars().all() == ["subject-1"]


def _count_in(connection: Connection) -> tuple[int, int]:
    count = select(func.count())
    return (
        int(connection.execute(count.select_from(subjects)).scalar_one()),
        int(connection.execute(count.select_from(records)).scalar_one()),
    )


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_concurrent_sqlite_writers_take_turns_without_database_is_locked(sqlite_engine: Engine) -> None:
    threads, writes = 8, 25
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        start.wait()
        try:
            for w in range(writes):
                with write_transaction(sqlite_engine) as connection:
                    # Read, then write: under a deferred BEGIN two such transactions deadlock, and
                    # SQLite fails one of them at once with "database is locked".
                    taken = connection.execute(select(func.count()).select_from(clients)).scalar_one()
                    connection.execute(
                        insert(clients).values(
                            id=f"c-{t}-{w}",
                            name=f"n-{t}-{w}-{taken}",
                            role="r",
                            secret_hash="x",
                            created_at=NOW,
                        )
                    )
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert not any(worker.is_alive() for worker in workers)
    assert errors == []
    assert _count(sqlite_engine, clients) == threads * writes
