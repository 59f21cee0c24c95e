"""Group commit on the event loop: batches, their commit thread, loop writers' turns, failing closed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import Connection, Engine, func, select

from dataward.audit import (
    AuditAction,
    AuditEntry,
    AuditEvent,
    AuditLog,
    AuditUnavailable,
    Outcome,
    verify_log,
)
from dataward.keys import LocalKeyring
from dataward.storage import write_transaction
from dataward.storage.tables import audit_entries

SUBJECT = "6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11"


def _event(n: int) -> AuditEvent:
    return AuditEvent(AuditAction.RECORD_READ, f"client-{n}", Outcome.ALLOWED, f"request-{n:04d}", SUBJECT)


@pytest.fixture
def log(engine: Engine, keyring: LocalKeyring) -> AuditLog:
    return AuditLog(engine, keyring, batch_max=64, checkpoint_every=50)


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(audit_entries)).scalar_one())


def test_concurrent_records_make_one_gapless_verifiable_chain(
    log: AuditLog, engine: Engine, keyring: LocalKeyring
) -> None:
    async def main() -> list[int]:
        entries = await asyncio.gather(*(log.record(_event(n)) for n in range(300)))
        return [e.seq for e in entries]

    seqs = asyncio.run(main())

    assert sorted(seqs) == list(range(1, 301))  # every caller got its own place in the chain
    report = verify_log(engine, keyring.audit_verification_keys())
    assert report.intact, report.problem
    assert (report.entries, report.head_seq) == (300, 300)
    # A batch that passes a multiple of 50 signs a checkpoint; with batches of at most 64, every
    # one of these 300 entries' batches does, bar perhaps one that passes none.
    assert report.checkpoints >= 300 // 64


def test_entries_recorded_together_share_commits(
    log: AuditLog, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits: list[int] = []
    commit = log._commit_off_loop

    async def counting(items: Sequence[tuple[AuditEvent, str]]) -> list[AuditEntry]:
        commits.append(len(items))
        return await commit(items)

    monkeypatch.setattr(log, "_commit_off_loop", counting)

    async def main() -> None:
        await asyncio.gather(*(log.record(_event(n)) for n in range(200)))

    asyncio.run(main())
    assert commits == [64, 64, 64, 8]  # batches of at most `batch_max`, not one commit per entry
    assert _count(engine) == 200


def test_a_caller_hears_back_only_after_its_entry_is_durable(log: AuditLog, engine: Engine) -> None:
    async def main() -> int:
        entry = await log.record(_event(1))
        return entry.seq

    seq = asyncio.run(main())
    # A connection of its own sees the entry: it was committed before the caller was answered.
    with engine.connect() as connection:
        stored = connection.execute(select(audit_entries.c.seq)).scalars().all()
    assert stored == [seq]


def test_a_loop_writer_holds_batches_back_until_it_is_done(log: AuditLog, engine: Engine) -> None:
    seen_during_write: list[int] = []

    async def main() -> None:
        await log.record(_event(0))
        async with log.between_batches():
            waiting = asyncio.ensure_future(log.record(_event(1)))
            for _ in range(20):  # give the batch every chance to run, were it allowed to
                await asyncio.sleep(0)
            with write_transaction(engine) as connection:  # the loop's own write: not blocked
                seen_during_write.append(
                    int(connection.execute(select(func.count()).select_from(audit_entries)).scalar_one())
                )
            assert not waiting.done()
        await waiting

    asyncio.run(main())
    assert seen_during_write == [1]
    assert _count(engine) == 2


def test_a_batch_that_cannot_be_written_fails_every_caller_and_leaves_nothing(
    log: AuditLog, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise OSError("disk full")

    async def main() -> list[BaseException | object]:
        return await asyncio.gather(*(log.record(_event(n)) for n in range(10)), return_exceptions=True)

    monkeypatch.setattr("dataward.audit.log._UPDATE_HEAD.run", broken)
    outcomes = asyncio.run(main())

    assert all(isinstance(o, AuditUnavailable) for o in outcomes)
    assert _count(engine) == 0  # the inserted rows were rolled back with the failed batch
    monkeypatch.undo()
    assert asyncio.run(log.record(_event(11))).seq == 1  # and the log carries on afterwards


def test_a_closed_log_refuses_new_entries(log: AuditLog) -> None:
    log.close()
    with pytest.raises(AuditUnavailable):
        log.record_sync(_event(1))
    with pytest.raises(AuditUnavailable):
        asyncio.run(log.record(_event(2)))


def test_a_commit_under_way_when_the_loop_stops_is_finished_not_torn(
    log: AuditLog, engine: Engine, keyring: LocalKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    committing = threading.Event()
    commit = Connection.commit

    def slow_commit(connection: Connection) -> None:
        committing.set()
        time.sleep(0.1)  # on the commit thread, while the loop is being shut down
        commit(connection)

    monkeypatch.setattr(Connection, "commit", slow_commit)

    async def main() -> None:
        asyncio.ensure_future(log.record(_event(1)))  # noqa: RUF006 - left behind on purpose
        while not committing.is_set():
            await asyncio.sleep(0.001)

    asyncio.run(main())  # cancels the batch's task while its commit runs

    assert _count(engine) == 1  # the commit under way was waited for, not rolled back under it
    report = verify_log(engine, keyring.audit_verification_keys())
    assert report.intact, report.problem
