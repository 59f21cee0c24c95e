"""Throttles that anomaly response puts on a client or an address: "held to RATE until T".

The rate limiter reads them on every call (`throttled_rate`), so a throttle takes effect on the
next request, on every replica when they live in Redis. A throttle ends by itself at `until`, or
when a person lifts it.

Keys name what is throttled: `client_key(client_id)` or `address_key(address)`. The two can never
be confused, whatever a client id looks like (an external provider's ids contain colons).

Two implementations behind one interface, with the same conformance tests: `MemoryThrottles` and
`RedisThrottles`.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from dataward.clock import Clock
from dataward.guard.redis_client import LazyRedis

__all__ = [
    "MemoryThrottles",
    "RedisThrottles",
    "Throttles",
    "address_key",
    "client_key",
    "client_of",
]

_CLIENT = "client:"
_ADDRESS = "address:"


def client_key(client_id: str) -> str:
    return f"{_CLIENT}{client_id}"


def address_key(address: str) -> str:
    return f"{_ADDRESS}{address}"


def client_of(key: str) -> str | None:
    """The client id a key names, or None for an address."""
    return key.removeprefix(_CLIENT) if key.startswith(_CLIENT) else None


class Throttles(Protocol):
    async def throttle(self, key: str, rate: str, until: float) -> None:
        """Hold `key` to `rate` (a policy rate string) until the timestamp `until`."""

    async def throttled_rate(self, key: str) -> str | None:
        """The rate `key` is held to now, or None when it is not throttled."""

    async def lift(self, key: str) -> None:
        """End a throttle early (a person decided the client is fine)."""

    async def close(self) -> None: ...


class MemoryThrottles:
    """Throttles in this process only: for one server, tests and the simulation."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}

    async def throttle(self, key: str, rate: str, until: float) -> None:
        if until > self._clock.timestamp():
            self._held[key] = (rate, until)

    async def throttled_rate(self, key: str) -> str | None:
        held = self._held.get(key)
        if held is None:
            return None
        if held[1] <= self._clock.timestamp():
            del self._held[key]
            return None
        return held[0]

    async def lift(self, key: str) -> None:
        self._held.pop(key, None)

    async def close(self) -> None:
        return None


class RedisThrottles:
    """Throttles in Redis, seen by every replica; each key expires with its throttle."""

    def __init__(self, url: str, clock: Clock, *, prefix: str = "dataward") -> None:
        self._clock = clock
        self._prefix = f"{prefix}:throttle"
        self._connection = LazyRedis(url)

    @property
    def _redis(self) -> Redis:
        return self._connection.client

    async def throttle(self, key: str, rate: str, until: float) -> None:
        ttl_ms = int((until - self._clock.timestamp()) * 1000)
        if ttl_ms > 0:
            # `until` is kept too, so the injected clock decides, as it does in memory.
            await self._redis.set(f"{self._prefix}:{key}", f"{until!r} {rate}".encode(), px=ttl_ms)

    async def throttled_rate(self, key: str) -> str | None:
        value = await self._redis.get(f"{self._prefix}:{key}")
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else value
        until, _, rate = text.partition(" ")
        return rate if float(until) > self._clock.timestamp() else None

    async def lift(self, key: str) -> None:
        await self._redis.delete(f"{self._prefix}:{key}")

    async def close(self) -> None:
        await self._connection.close()
