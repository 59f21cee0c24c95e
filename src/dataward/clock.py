"""Time as a dependency, so tests can control it (the `*_at_time` idea of pyca's Fernet)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FrozenClock", "SystemClock", "as_utc"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def timestamp(self) -> float:
        """The current time as seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()


@dataclass
class FrozenClock:
    """A clock that moves only when told to."""

    at: float

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)

    def timestamp(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


def as_utc(value: datetime) -> datetime:
    """A stored time as timezone-aware UTC: SQLite hands back naive datetimes, PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
