"""The audit log writer: entries are chained and made durable in batches, before anyone hears back.

`record` (async) parks the caller on the event loop; every entry parked while the previous batch
was being written (or during one turn of the loop, when none was) is chained, inserted and covered
by a new signed head in one transaction, and only then is each caller answered. Commits are
batched; durability is not traded away: no caller hears "recorded" before its entry is on disk, and
a caller whose entry could not be written gets `AuditUnavailable`.

The batch is chained, inserted and signed on the loop's own thread (a writer thread doing that
work would spend its time waiting for the GIL); only the commit, whose fsync is most of the wait
and which the database driver runs without the GIL, goes to a thread of its own, so the loop
serves other requests meanwhile. `record_sync` writes at once, for the CLI and other threads. One
event loop per log; code on that loop that writes to the database takes its turn with
`between_batches`.

Each batch takes a cross-process lock and reads the head from the database, so several processes
(replicas, the CLI) append to one chain.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from dataward.audit.errors import AuditUnavailable
from dataward.audit.events import GENESIS, AuditEntry, AuditEvent
from dataward.audit.signing import Role, sign_position
from dataward.clock import Clock, SystemClock
from dataward.keys import Keyring
from dataward.storage.engine import take_write_lock, write_transaction
from dataward.storage.raw import RawStatement
from dataward.storage.tables import audit_checkpoints, audit_entries, audit_head

__all__ = ["AuditLog"]

log = structlog.get_logger(__name__)

_LOCK_NAME = "dataward.audit"
_Stamped = tuple[AuditEvent, str]
_Parked = tuple[AuditEvent, str, "asyncio.Future[AuditEntry]"]


class AuditLog:
    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        *,
        clock: Clock | None = None,
        batch_max: int = 512,
        checkpoint_every: int = 1000,
    ) -> None:
        self._engine = engine
        self._keyring = keyring
        self._clock = clock or SystemClock()
        self._batch_max = batch_max
        self._checkpoint_every = checkpoint_every
        self._lock = threading.Lock()  # one batch at a time from this process
        self._turns = asyncio.Lock()  # the loop's writers: audit batches and `between_batches`
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="dataward-audit-commit")
        self._pending: list[_Parked] = []
        self._drainer: asyncio.Task[None] | None = None  # held: the loop keeps tasks only weakly
        self._draining = False
        self._closed = False

    # -- appending -----------------------------------------------------------------------------

    async def record(self, event: AuditEvent) -> AuditEntry:
        """Append an event; return its entry once it is durable. Batched with every other entry
        recorded while the batch before it was being written."""
        self._check_open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AuditEntry] = loop.create_future()
        self._pending.append((event, self._stamp(), future))
        if not self._draining:
            self._draining = True
            loop.call_soon(self._start_drain, loop)
        return await future

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        self._drainer = loop.create_task(self._drain())

    def record_sync(self, event: AuditEvent) -> AuditEntry:
        """Append one event now and return its durable entry (thread-safe; never call it from the
        thread of the loop that uses `record`)."""
        self._check_open()
        return self._commit([(event, self._stamp())])[0]

    @asynccontextmanager
    async def between_batches(self) -> AsyncIterator[None]:
        """Wait until no batch is being written, and hold the next one back until the block ends.

        For writes made on the event loop: SQLite has a single writer, and a write begun while a
        batch commits on its thread would wait for it with the whole loop stopped. Never wait for
        the audit log inside the block: its next batch waits for the block to end.
        """
        async with self._turns:
            yield

    def close(self) -> None:
        self._closed = True
        if self._pending:
            batch, self._pending = self._pending, []
            entries: list[AuditEntry] | AuditUnavailable
            try:
                entries = self._commit([(event, at) for event, at, _ in batch])
            except AuditUnavailable as exc:
                entries = exc
            _answer(batch, entries)
        self._committer.shutdown(wait=True)

    def _check_open(self) -> None:
        if self._closed:
            raise AuditUnavailable("the audit log is closed")

    def _stamp(self) -> str:
        return self._clock.now().isoformat(timespec="microseconds")

    async def _drain(self) -> None:
        """Write batches until no caller is waiting."""
        try:
            while self._pending:
                async with self._turns:
                    batch = self._pending[: self._batch_max]
                    del self._pending[: self._batch_max]
                    entries: list[AuditEntry] | AuditUnavailable
                    try:
                        entries = await self._commit_off_loop([(event, at) for event, at, _ in batch])
                    except AuditUnavailable as exc:
                        entries = exc
                _answer(batch, entries)
                # One turn of the loop before the next batch: the callers just answered finish,
                # and requests that arrived meanwhile park their entries, which join that batch.
                await asyncio.sleep(0)
        finally:
            self._draining = False

    # -- reading -------------------------------------------------------------------------------

    def entries(self, *, after: int = 0, limit: int = 100, subject_id: str | None = None) -> list[AuditEntry]:
        query = select(audit_entries).where(audit_entries.c.seq > after)
        if subject_id is not None:
            query = query.where(audit_entries.c.subject_id == subject_id)
        query = query.order_by(audit_entries.c.seq).limit(limit)
        with self._engine.connect() as connection:
            return [AuditEntry.from_row(row) for row in connection.execute(query)]

    def count(self, *, after: int = 0) -> int:
        """How many entries come after `after`."""
        query = select(func.count()).select_from(audit_entries).where(audit_entries.c.seq > after)
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def export(self, *, after: int = 0, page: int = 5000) -> Iterator[AuditEntry]:
        """Every entry after `after`, in order, read a page at a time."""
        while batch := self.entries(after=after, limit=page):
            yield from batch
            after = batch[-1].seq

    # -- writing -------------------------------------------------------------------------------

    def _commit(self, items: Sequence[_Stamped]) -> list[AuditEntry]:
        with _fail_closed(len(items)), self._lock, write_transaction(self._engine) as connection:
            return self._append(connection, items)

    async def _commit_off_loop(self, items: Sequence[_Stamped]) -> list[AuditEntry]:
        loop = asyncio.get_running_loop()
        with _fail_closed(len(items)), self._lock, write_transaction(self._engine) as connection:
            entries = self._append(connection, items)
            committing = self._committer.submit(connection.commit)
            try:
                await asyncio.wrap_future(committing, loop=loop)
            except asyncio.CancelledError:  # the loop is shutting down: let the commit end first
                wait_for_futures([committing])
                raise
            return entries

    def _append(self, connection: Connection, batch: Sequence[_Stamped]) -> list[AuditEntry]:
        take_write_lock(connection, _LOCK_NAME)
        head = _HEAD.all(connection, {})
        seq, prev = head[0] if head else (0, GENESIS)
        first_seq = seq + 1
        entries = []
        for event, at in batch:
            seq += 1
            entry = AuditEntry.chain(event, seq, at, prev)
            entries.append(entry)
            prev = entry.hash
        _INSERT_ENTRIES.many(connection, [e.row() for e in entries])
        head_row = self._signed("head", entries[-1])
        if _UPDATE_HEAD.run(connection, head_row) == 0:
            connection.execute(_INSERT_HEAD, head_row)
        if (first_seq - 1) // self._checkpoint_every != seq // self._checkpoint_every:
            connection.execute(_INSERT_CHECKPOINT, self._signed("checkpoint", entries[-1]))
        return entries

    def _signed(self, role: Role, entry: AuditEntry) -> dict[str, object]:
        key = self._keyring.audit_signing_key()
        at = datetime.now(UTC).isoformat(timespec="seconds")
        signature = sign_position(key, role, entry.seq, entry.hash, at)
        return {
            "p_id": 1,
            "p_seq": entry.seq,
            "p_hash": entry.hash,
            "p_at": at,
            "p_kid": key.kid,
            "p_sig": signature,
        }


def _answer(batch: list[_Parked], entries: list[AuditEntry] | AuditUnavailable) -> None:
    for index, (_, _, future) in enumerate(batch):
        if future.done():  # the caller went away; its entry stands
            continue
        if isinstance(entries, AuditUnavailable):
            future.set_exception(entries)
        else:
            future.set_result(entries[index])


@contextmanager
def _fail_closed(size: int) -> Iterator[None]:
    """Whatever broke while writing a batch, its callers hear "not recorded", and nothing else."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - any failure means the entries are not durable
        log.error("audit.write_failed", error=type(exc).__name__, batch=size)
        raise AuditUnavailable("the audit entry could not be written") from None


# Statements built once: a batch only binds values.
_HEAD = RawStatement(
    select(audit_entries.c.seq, audit_entries.c.hash).order_by(audit_entries.c.seq.desc()).limit(1)
)
_INSERT_ENTRIES = RawStatement(insert(audit_entries))
_POSITION: dict[str, Any] = {
    "seq": bindparam("p_seq"),
    "hash": bindparam("p_hash"),
    "at": bindparam("p_at"),
    "kid": bindparam("p_kid"),
    "signature": bindparam("p_sig"),
}
_UPDATE_HEAD = RawStatement(update(audit_head).where(audit_head.c.id == 1).values(_POSITION))
_INSERT_HEAD = insert(audit_head).values(id=1, **_POSITION)
_INSERT_CHECKPOINT = insert(audit_checkpoints).values(_POSITION)
