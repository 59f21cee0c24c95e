"""The processor outbox (Art. 19): every recipient hears of rectification, erasure and restriction.

A notice is a row written in the same transaction as the change it reports, so it exists if and
only if the change committed. Workers deliver due rows as signed webhooks (`webhooks.py`), at least
once: a row is claimed before it is sent (a conditional update that pushes `next_attempt_at` past the
longest an attempt can take, after `FOR UPDATE SKIP LOCKED` on PostgreSQL), so two workers never
send one event at the same time, and a worker that dies mid-send only delays it. Failures back off
exponentially with jitter; after `max_attempts` the row stays, visible as failed, until retried.

Bodies hold ids and field names, never values: a processor fetches new values through the API.
Signing secrets come from the environment (the variable named by the processor's webhook), never
from the policy file or the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Any

import httpx
import structlog
from sqlalchemy import Connection, Engine, Row, insert, select, update

from dataward import __version__
from dataward.clock import Clock, as_utc
from dataward.policy import Policy, Processor
from dataward.rights.webhooks import EventKind, webhook_headers
from dataward.storage.engine import read_connection, write_transaction
from dataward.storage.tables import outbox

__all__ = [
    "DeliveryReport",
    "DeliveryState",
    "Outbox",
    "OutboxEvent",
    "RetrySchedule",
    "SecretLookup",
    "run_outbox",
]

log = structlog.get_logger(__name__)

SecretLookup = Callable[[str], str | None]
"""Maps the name of an environment variable to its value (or None when unset)."""


class DeliveryState(StrEnum):
    DELIVERED = "delivered"
    PENDING = "pending"
    FAILED = "failed"  # gave up after the last attempt; `Outbox.retry` tries again


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """10 s doubling to an hour between attempts; 30 attempts span about a day."""

    max_attempts: int = 30
    first_delay: float = 10.0
    max_delay: float = 3600.0
    jitter: float = 0.25  # each delay is cut by up to this share, so failed rows do not retry in step

    def delay(self, attempts: int, draw: float) -> float:
        """Seconds to wait after the `attempts`-th failed attempt; `draw` is uniform in [0, 1)."""
        full = min(self.max_delay, self.first_delay * 2.0 ** min(attempts - 1, 62))
        return full * (1.0 - self.jitter * draw)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one `deliver_due` round did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0  # gave up on this round

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: str  # also the Idempotency-Key
    processor: str
    kind: EventKind
    rights_request_id: str | None
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None  # a status code or an exception's class name, never a response body
    state: DeliveryState


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    processor: str
    kind: str
    body: str
    attempts: int


_SEVERITY = {DeliveryState.DELIVERED: 0, DeliveryState.PENDING: 1, DeliveryState.FAILED: 2}


class Outbox:
    """`enqueue` works inside the caller's transaction; the rest opens transactions of its own.

    `transport` is for tests; `timeout` bounds each phase of an attempt (connect, send, wait).
    """

    def __init__(
        self,
        engine: Engine,
        policy: Policy,
        clock: Clock,
        *,
        secret_lookup: SecretLookup = os.environ.get,
        transport: httpx.BaseTransport | None = None,
        retry: RetrySchedule | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._policy = policy
        self._clock = clock
        self._secret_lookup = secret_lookup
        self._retry = retry or RetrySchedule()
        # Longer than an attempt can take, so a claimed row is not claimed again while in flight.
        self._lease = timedelta(seconds=max(60.0, 10 * timeout))
        self._random = random.Random()  # noqa: S311 - jitter, not a secret
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,  # a notice goes where the policy says, nowhere else
            headers={"User-Agent": f"dataward/{__version__}"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writing notices ---------------------------------------------------------------------

    def enqueue(
        self,
        connection: Connection,
        kind: EventKind | str,
        subject_id: str,
        fields: Iterable[str],
        rights_request_id: str | None = None,
    ) -> list[str]:
        """One notice per processor with a webhook whose purposes use any of `fields`
        (`collection.field` or `collection.*`); returns the new event ids."""
        kind = EventKind(kind)
        changed = frozenset(self._policy.expand(list(fields)))
        now = self._clock.now()
        rows: list[dict[str, Any]] = []
        for name, processor in self._policy.processors.items():
            used = changed & self._fields_used_by(processor)
            if processor.webhook is None or not used:
                continue
            event_id = str(uuid.uuid4())
            body = {
                "id": event_id,
                "kind": kind.value,
                "subject_id": subject_id,
                "fields": sorted(used),  # only what this processor uses: it needs to know no more
                "rights_request_id": rights_request_id,
                "occurred_at": now.isoformat(),
            }
            rows.append(
                {
                    "id": event_id,
                    "processor": name,
                    "kind": kind.value,
                    "rights_request_id": rights_request_id,
                    "body": json.dumps(body, separators=(",", ":"), sort_keys=True),
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
        if rows:
            connection.execute(insert(outbox), rows)
        return [row["id"] for row in rows]

    def _fields_used_by(self, processor: Processor) -> frozenset[str]:
        return frozenset(f for purpose in processor.purposes for f in self._policy.purpose_fields(purpose))

    # -- delivering --------------------------------------------------------------------------

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Attempt up to `limit` due notices, one at a time; safe to run in several workers at once."""
        outcomes = dict.fromkeys(("delivered", "retrying", "failed"), 0)
        for _ in range(limit):
            claimed = self._claim()
            if claimed is None:
                break
            outcomes[self._record(claimed, self._attempt(claimed))] += 1
        return DeliveryReport(**outcomes)

    def _claim(self) -> _Claimed | None:
        with write_transaction(self._engine) as connection:
            now = self._clock.now()
            due = (
                outbox.c.delivered_at.is_(None),
                outbox.c.attempts < self._retry.max_attempts,
                outbox.c.next_attempt_at <= now,
            )
            candidate = connection.execute(
                select(outbox.c.id)
                .where(*due)
                .order_by(outbox.c.next_attempt_at, outbox.c.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)  # PostgreSQL: skip rows another worker is claiming
            ).scalar_one_or_none()
            if candidate is None:
                return None
            row = connection.execute(
                update(outbox)
                .where(outbox.c.id == candidate, *due)  # still due: a claim is taken once
                .values(attempts=outbox.c.attempts + 1, next_attempt_at=now + self._lease)
                .returning(outbox.c.id, outbox.c.processor, outbox.c.kind, outbox.c.body, outbox.c.attempts)
            ).one_or_none()
        return None if row is None else _Claimed(*row)

    def _attempt(self, claimed: _Claimed) -> str | None:
        """Send one notice; the error to record, or None when the processor acknowledged it."""
        processor = self._policy.processors.get(claimed.processor)
        webhook = processor.webhook if processor else None
        if webhook is None:
            return "the policy names no webhook for this processor any more"
        secret = self._secret_lookup(webhook.secret_env)
        if not secret:
            return f"no signing secret: environment variable {webhook.secret_env} is unset or empty"
        body = claimed.body.encode()
        headers = webhook_headers(
            event_id=claimed.id,
            kind=EventKind(claimed.kind),
            secret=secret.encode(),
            body=body,
            timestamp=int(self._clock.timestamp()),
        )
        try:
            # Streamed and never read: the answer's status is all that counts, its body is not kept.
            with self._http.stream("POST", webhook.url, content=body, headers=headers) as response:
                status = response.status_code
        except Exception as error:  # noqa: BLE001 - any failure is a failed attempt, retried later
            return type(error).__name__
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _record(self, claimed: _Claimed, error: str | None) -> str:
        now = self._clock.now()
        if error is None:
            values: dict[str, Any] = {"delivered_at": now, "last_error": None}
            outcome = "delivered"
        elif claimed.attempts >= self._retry.max_attempts:
            values = {"next_attempt_at": now, "last_error": error[:255]}
            outcome = "failed"
            log.warning("outbox.gave_up", event_id=claimed.id, processor=claimed.processor, error=error[:255])
        else:
            delay = self._retry.delay(claimed.attempts, self._random.random())
            values = {"next_attempt_at": now + timedelta(seconds=delay), "last_error": error[:255]}
            outcome = "retrying"
        with write_transaction(self._engine) as connection:
            connection.execute(
                update(outbox)
                .where(outbox.c.id == claimed.id, outbox.c.delivered_at.is_(None))
                .values(values)
            )
        return outcome

    def retry(self, event_id: str) -> bool:
        """Give a failed notice a fresh set of attempts, due now; False if it had not failed."""
        now = self._clock.now()
        with write_transaction(self._engine) as connection:
            result = connection.execute(
                update(outbox)
                .where(
                    outbox.c.id == event_id,
                    outbox.c.delivered_at.is_(None),
                    outbox.c.attempts >= self._retry.max_attempts,
                    outbox.c.next_attempt_at <= now,
                )
                .values(attempts=0, next_attempt_at=now)
            )
        return result.rowcount == 1

    # -- reading -----------------------------------------------------------------------------

    def events(self, rights_request_id: str, connection: Connection | None = None) -> list[OutboxEvent]:
        """Every notice sent for a rights request, oldest first; read in `connection` when given."""
        query = (
            select(outbox)
            .where(outbox.c.rights_request_id == rights_request_id)
            .order_by(outbox.c.created_at, outbox.c.id)
        )
        if connection is None:
            with read_connection(self._engine) as own:
                rows = own.execute(query).all()
        else:
            rows = connection.execute(query).all()
        now = self._clock.now()
        return [self._event(row, now) for row in rows]

    def status(self, rights_request_id: str, connection: Connection | None = None) -> dict[str, str]:
        """processor -> delivered | pending | failed (the worst of its notices): a rights request is
        complete when every processor is `delivered`."""
        worst: dict[str, DeliveryState] = {}
        for event in self.events(rights_request_id, connection):
            seen = worst.get(event.processor, DeliveryState.DELIVERED)
            worst[event.processor] = max(seen, event.state, key=_SEVERITY.__getitem__)
        return dict(worst)

    def missing_secrets(self) -> list[str]:
        """The environment variables that webhooks name but that are unset: worth a warning at start."""
        hooks = (p.webhook for p in self._policy.processors.values())
        return sorted(
            {h.secret_env for h in hooks if h is not None and not self._secret_lookup(h.secret_env)}
        )

    def _event(self, row: Row[Any], now: datetime) -> OutboxEvent:
        next_attempt_at = as_utc(row.next_attempt_at)
        delivered_at = None if row.delivered_at is None else as_utc(row.delivered_at)
        if delivered_at is not None:
            state = DeliveryState.DELIVERED
        elif row.attempts >= self._retry.max_attempts and next_attempt_at <= now:
            state = DeliveryState.FAILED
        else:
            state = DeliveryState.PENDING  # including a last attempt still in flight
        return OutboxEvent(
            id=row.id,
            processor=row.processor,
            kind=EventKind(row.kind),
            rights_request_id=row.rights_request_id,
            created_at=as_utc(row.created_at),
            attempts=row.attempts,
            next_attempt_at=next_attempt_at,
            delivered_at=delivered_at,
            last_error=row.last_error,
            state=state,
        )


async def run_outbox(
    outbox: Outbox,
    interval: float,
    stop: asyncio.Event,
    *,
    batch: int = 10,
    after_round: Callable[[DeliveryReport], object] | None = None,
) -> None:
    """Deliver due notices every `interval` seconds, in a worker thread, until `stop` is set.

    Rounds are small so that stopping waits for at most `batch` attempts; a full round is followed
    by another at once. A failed round (the database away, say) is logged and tried again later.
    """
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(outbox.deliver_due, batch)
            if after_round is not None and report.delivered:  # e.g. complete the requests now settled
                await asyncio.to_thread(after_round, report)
        except Exception as error:  # noqa: BLE001 - the worker outlives a database outage
            log.warning("outbox.round_failed", error=type(error).__name__)
            report = DeliveryReport()
        if report.attempted:
            log.info(
                "outbox.round", delivered=report.delivered, retrying=report.retrying, failed=report.failed
            )
        if report.attempted < batch:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
