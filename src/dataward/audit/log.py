"""The audit log writer: entries are chained in one background thread and made durable in batches.

A caller submits an event and waits for its entry; the writer takes every event waiting at that
moment, chains them, inserts them and signs the new head in one transaction, and only then answers
each caller. Commits are batched, durability is not traded away: no caller hears "recorded" before
its entry is on disk, and a caller whose entry could not be written gets `AuditUnavailable`.
The writer takes a cross-process lock per batch and reads the head from the database, so several
processes (replicas, the CLI) can append to one chain.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection, Engine, insert, select, update

from dataward.audit.errors import AuditUnavailable
from dataward.audit.events import GENESIS, AuditEntry, AuditEvent
from dataward.audit.signing import sign_position
from dataward.clock import Clock, SystemClock
from dataward.keys import Keyring
from dataward.storage.engine import take_write_lock, write_transaction
from dataward.storage.tables import audit_checkpoints, audit_entries, audit_head

__all__ = ["AuditLog"]

log = structlog.get_logger(__name__)

_LOCK_NAME = "dataward.audit"
_Pending = tuple[AuditEvent, str, "Future[AuditEntry]"]


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
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="dataward-audit", daemon=True)
        self._thread.start()

    # -- appending -----------------------------------------------------------------------------

    def submit(self, event: AuditEvent) -> Future[AuditEntry]:
        """Queue an event; the future holds its entry once the entry is durable."""
        future: Future[AuditEntry] = Future()
        if self._closed:
            future.set_exception(AuditUnavailable("the audit log is closed"))
            return future
        at = self._clock.now().isoformat(timespec="microseconds")
        self._queue.put((event, at, future))
        return future

    async def record(self, event: AuditEvent) -> AuditEntry:
        """Append an event and wait, without blocking the event loop, until it is durable."""
        return await asyncio.wrap_future(self.submit(event))

    def record_sync(self, event: AuditEvent, timeout: float = 30.0) -> AuditEntry:
        return self.submit(event).result(timeout=timeout)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=30)

    # -- reading -------------------------------------------------------------------------------

    def entries(self, *, after: int = 0, limit: int = 100, subject_id: str | None = None) -> list[AuditEntry]:
        query = select(audit_entries).where(audit_entries.c.seq > after)
        if subject_id is not None:
            query = query.where(audit_entries.c.subject_id == subject_id)
        query = query.order_by(audit_entries.c.seq).limit(limit)
        with self._engine.connect() as connection:
            return [AuditEntry.from_row(row) for row in connection.execute(query)]

    def export(self, *, after: int = 0, page: int = 5000) -> Iterator[AuditEntry]:
        """Every entry after `after`, in order, read a page at a time."""
        while batch := self.entries(after=after, limit=page):
            yield from batch
            after = batch[-1].seq

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._batch_max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with write_transaction(self._engine) as connection:
                entries = self._append(connection, batch)
        except Exception as exc:  # noqa: BLE001 - whatever broke, the callers must hear "not recorded"
            log.error("audit.write_failed", error=type(exc).__name__, batch=len(batch))
            for _, _, future in batch:
                future.set_exception(AuditUnavailable("the audit entry could not be written"))
            return
        for (_, _, future), entry in zip(batch, entries, strict=True):
            future.set_result(entry)

    def _append(self, connection: Connection, batch: list[_Pending]) -> list[AuditEntry]:
        take_write_lock(connection, _LOCK_NAME)
        head = connection.execute(
            select(audit_entries.c.seq, audit_entries.c.hash).order_by(audit_entries.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
        first_seq = seq + 1
        entries = []
        for event, at, _ in batch:
            seq += 1
            entry = AuditEntry.chain(event, seq, at, prev)
            entries.append(entry)
            prev = entry.hash
        connection.execute(insert(audit_entries), [e.row() for e in entries])
        self._sign_head(connection, entries[-1])
        if (first_seq - 1) // self._checkpoint_every != seq // self._checkpoint_every:
            self._checkpoint(connection, entries[-1])
        return entries

    def _signed(self, entry: AuditEntry) -> dict[str, object]:
        key = self._keyring.audit_signing_key()
        at = datetime.now(UTC).isoformat(timespec="seconds")
        signature = sign_position(key, entry.seq, entry.hash, at)
        return {"seq": entry.seq, "hash": entry.hash, "at": at, "kid": key.kid, "signature": signature}

    def _sign_head(self, connection: Connection, entry: AuditEntry) -> None:
        values = self._signed(entry)
        updated = connection.execute(update(audit_head).where(audit_head.c.id == 1).values(**values))
        if updated.rowcount == 0:
            connection.execute(insert(audit_head).values(id=1, **values))

    def _checkpoint(self, connection: Connection, entry: AuditEntry) -> None:
        connection.execute(insert(audit_checkpoints).values(**self._signed(entry)))
