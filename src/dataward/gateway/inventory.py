"""The endpoint inventory: what is really called, held against what the spec documents.

The proxy calls `InventoryRecorder.record` once per request (a dict update under a lock no task
waits on) and `flush` every few seconds from a worker thread; `flush` adds the counts to the
`gateway_endpoints` table, so replicas and restarts accumulate into one inventory.

Paths the spec does not know (shadow paths) are recorded only after `normalise_shadow_path` has
replaced what looks like an identifier or personal data (numbers, UUIDs, long hex or base64 runs,
e-mail addresses, anything with four digits or more) by `{id}`: the raw path is never stored, and
one endpoint probed with a million ids is one row. A cap on distinct shadow paths (in memory and
in the table) folds the rest into `/{overflow}`, so a scanner cannot grow the table without bound.

What the counts mean against the spec is `inventory_report`'s.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, func, insert, select, tuple_, update

from dataward.clock import Clock, as_utc
from dataward.storage.engine import take_write_lock, write_transaction
from dataward.storage.tables import gateway_endpoints

__all__ = [
    "DEFAULT_MAX_SHADOW",
    "OVERFLOW_PATH",
    "InventoryRecorder",
    "normalise_method",
    "normalise_shadow_path",
]

DEFAULT_MAX_SHADOW = 500
OVERFLOW_PATH = "/{overflow}"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_MAX_PATH = 200  # the column holds 255
_MAX_SEGMENTS = 12
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^(?=.*[0-9])[0-9a-fA-F]{8,}$")
_TOKEN = re.compile(r"^(?=.*[0-9])[A-Za-z0-9_\-+=.~]{20,}$|^[A-Za-z0-9_\-+=]{33,}$")
_DIGITS = re.compile(r"[0-9]")
_BATCH = 200  # keys per IN (...) query


def normalise_method(method: str) -> str:
    """The method, upper case; anything outside HTTP's registered methods as `OTHER`."""
    upper = method.upper()
    return upper if upper in _METHODS else "OTHER"


def normalise_shadow_path(path: str) -> str:
    """A path as the inventory may keep it: identifiers and personal data as `{id}`, at most
    `_MAX_SEGMENTS` segments and `_MAX_PATH` characters (the rest as `{more}`). Idempotent."""
    path = path.split("?", 1)[0]
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    out = ""
    for i, segment in enumerate(segments):
        shown = _segment(segment)
        if i >= _MAX_SEGMENTS or len(out) + len(shown) + 1 > _MAX_PATH - len("/{more}"):
            return f"{out}/{{more}}"
        out += f"/{shown}"
    return out or "/"


def _segment(segment: str) -> str:
    if segment.startswith("{") and segment.endswith("}"):
        return segment  # already a variable (`{id}`, or a template recorded for a 405)
    text = unquote(segment, errors="replace")
    if (
        "@" in text
        or len(_DIGITS.findall(text)) >= 4
        or _UUID.match(text)
        or _HEX.match(text)
        or _TOKEN.match(text)
        or len(text) > 64
    ):
        return "{id}"
    return segment


@dataclass(slots=True)
class _Tally:
    first_seen: float
    last_seen: float
    documented: bool
    hits: int = 0
    authenticated_hits: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, other: _Tally) -> None:
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.documented = other.documented
        self.hits += other.hits
        self.authenticated_hits += other.authenticated_hits
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count


class InventoryRecorder:
    """Counts requests per (method, path) in memory until `flush` writes them to the database."""

    def __init__(self, clock: Clock, *, max_shadow: int = DEFAULT_MAX_SHADOW) -> None:
        self._clock = clock
        self._max_shadow = max_shadow
        self._lock = threading.Lock()  # `flush` runs in a worker thread, `record` in the event loop
        self._pending: dict[tuple[str, str], _Tally] = {}
        self._shadows = 0

    def record(self, method: str, path: str, documented: bool, status: int, authenticated: bool) -> None:
        """One request: `path` is the spec's template when `documented`, else any path (the raw
        path is fine: it is normalised here, and never kept as it came)."""
        method = normalise_method(method)
        if not documented:
            path = normalise_shadow_path(path)
        now = self._clock.timestamp()
        key = (method, path)
        with self._lock:
            tally = self._pending.get(key)
            if tally is None:
                if not documented:
                    if self._shadows >= self._max_shadow:
                        key = (method, OVERFLOW_PATH)
                        tally = self._pending.get(key)
                    else:
                        self._shadows += 1
                if tally is None:
                    tally = self._pending[key] = _Tally(first_seen=now, last_seen=now, documented=documented)
            tally.last_seen = now
            tally.documented = documented
            tally.hits += 1
            tally.authenticated_hits += authenticated
            tally.statuses[status] = tally.statuses.get(status, 0) + 1

    @property
    def pending(self) -> int:
        """Distinct (method, path) pairs waiting for `flush`."""
        return len(self._pending)

    def flush(self, engine: Engine) -> int:
        """Add what was recorded since the last flush to the table; the number of rows written.
        If the database fails, the counts are kept for the next flush and the error raised."""
        with self._lock:
            taken, self._pending, self._shadows = self._pending, {}, 0
        if not taken:
            return 0
        try:
            return _upsert(engine, taken, self._max_shadow)
        except BaseException:
            with self._lock:
                for key, tally in taken.items():
                    current = self._pending.get(key)
                    if current is None:
                        self._pending[key] = tally
                        self._shadows += not tally.documented
                    else:
                        tally.add(current)
                        self._pending[key] = tally
            raise


def _upsert(engine: Engine, taken: dict[tuple[str, str], _Tally], max_shadow: int) -> int:
    table = gateway_endpoints
    with write_transaction(engine) as connection:
        take_write_lock(connection, "gateway_endpoints")
        keys = list(taken)
        existing: dict[tuple[str, str], Any] = {}
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            rows = connection.execute(select(table).where(tuple_(table.c.method, table.c.path).in_(batch)))
            existing.update({(row.method, row.path): row for row in rows})
        shadows = connection.execute(
            select(func.count()).select_from(table).where(table.c.documented == 0)
        ).scalar_one()
        room = max(max_shadow - int(shadows), 0)
        merged: dict[tuple[str, str], _Tally] = {}
        for key, tally in taken.items():
            target = key
            if key not in existing and not tally.documented and key[1] != OVERFLOW_PATH:
                if room == 0:
                    target = (key[0], OVERFLOW_PATH)
                else:
                    room -= 1
            if target in merged:
                merged[target].add(tally)
            else:
                merged[target] = tally
        for key, tally in merged.items():
            row = existing.get(key)
            if row is None and key[1] == OVERFLOW_PATH:
                row = connection.execute(
                    select(table).where(table.c.method == key[0], table.c.path == key[1])
                ).first()
            if row is None:
                connection.execute(insert(table).values(**_values(key, tally)))
                continue
            stored = _Tally(
                first_seen=as_utc(row.first_seen).timestamp(),
                last_seen=as_utc(row.last_seen).timestamp(),
                documented=bool(row.documented),
                hits=int(row.hits),
                authenticated_hits=int(row.authenticated_hits),
                statuses={int(k): int(v) for k, v in json.loads(row.statuses).items()},
            )
            stored.add(tally)
            values = _values(key, stored)
            connection.execute(
                update(table)
                .where(table.c.method == key[0], table.c.path == key[1])
                .values({k: v for k, v in values.items() if k not in ("method", "path")})
            )
        return len(merged)


def _values(key: tuple[str, str], tally: _Tally) -> dict[str, Any]:
    return {
        "method": key[0],
        "path": key[1],
        "documented": int(tally.documented),
        "first_seen": datetime.fromtimestamp(tally.first_seen, UTC),
        "last_seen": datetime.fromtimestamp(tally.last_seen, UTC),
        "hits": tally.hits,
        "authenticated_hits": tally.authenticated_hits,
        "statuses": json.dumps({str(k): v for k, v in sorted(tally.statuses.items())}),
    }
