"""The anomaly detector's live counters: this hour's reads per client, this minute's failures per
client or address, and the highest response level each has reached this hour.

Two implementations behind one interface, with the same conformance tests: `MemoryLiveCounts`
(one process) and `RedisLiveCounts` (every replica adds to the same counts, so a thief spreading
its requests over replicas is seen whole). Records are counted with INCRBY, distinct subjects with
a HyperLogLog (PFADD/PFCOUNT: about 1% error, 12 kB at most per client-hour, and it cannot be read
back). Subject ids are hashed before they are counted, in both implementations: no id is stored.
Hour buckets expire two hours after their hour ends, which leaves the detector time to fold them
into the baseline; minute buckets a minute after theirs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from typing import Protocol

from redis.asyncio import Redis

from dataward.clock import Clock
from dataward.guard.baseline import HourCount
from dataward.guard.redis_client import LazyRedis

__all__ = ["LiveCounts", "MemoryLiveCounts", "RedisLiveCounts", "subject_digest"]

_HOUR = 3600
_MINUTE = 60
_HOURS_KEPT = 3  # an hour bucket lives through its own hour and the two after it

# Raise a key's level only upwards; 1 when this call raised it (the first to reach the level).
_RAISE_LEVEL = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""


def subject_digest(subject_id: str) -> bytes:
    """What is counted instead of a subject id: 8 bytes of its SHA-256. Ids are random UUIDs, so
    the digest does not lead back to one, and 64 bits keep collisions out of any realistic hour."""
    return hashlib.sha256(subject_id.encode()).digest()[:8]


class LiveCounts(Protocol):
    async def add_reads(
        self, client_id: str, hour: int, subject_ids: Collection[str], records: int
    ) -> HourCount:
        """Count `records` reads of `subject_ids` by the client in `hour` (hours since the epoch);
        return the hour's totals so far, from every replica."""
        ...

    async def hour_counts(
        self, client_ids: Iterable[str], hours: Iterable[int]
    ) -> dict[tuple[str, int], HourCount]:
        """The totals of each (client, hour) that still has a bucket; missing ones had no reads (or
        expired)."""
        ...

    async def add_failure(self, key: str, minute: int) -> tuple[int, int]:
        """Count one failure for `key` in `minute` (minutes since the epoch); return this minute's
        count and the previous minute's."""
        ...

    async def raise_level(self, scope: str, hour: int, level: int) -> bool:
        """Record that `scope` reached `level` (higher is graver) in `hour`; True only for the one
        call, on any replica, that first reached it."""
        ...

    async def levels(self, scopes: Iterable[str], hours: Iterable[int]) -> dict[tuple[str, int], int]:
        """The level each (scope, hour) reached, where it reached one."""
        ...

    async def close(self) -> None: ...


class MemoryLiveCounts:
    """Live counts in this process only: for one server, tests and the simulation."""

    def __init__(self) -> None:
        self._reads: dict[tuple[str, int], tuple[int, set[bytes]]] = {}
        self._failures: dict[tuple[str, int], int] = {}
        self._levels: dict[tuple[str, int], int] = {}
        self._pruned_hour = 0
        self._pruned_minute = 0

    async def add_reads(
        self, client_id: str, hour: int, subject_ids: Collection[str], records: int
    ) -> HourCount:
        self._prune_hours(hour)
        total, subjects = self._reads.get((client_id, hour), (0, set()))
        subjects.update(subject_digest(s) for s in subject_ids)
        self._reads[client_id, hour] = (total + records, subjects)
        return HourCount(total + records, len(subjects))

    async def hour_counts(
        self, client_ids: Iterable[str], hours: Iterable[int]
    ) -> dict[tuple[str, int], HourCount]:
        wanted = list(hours)
        found: dict[tuple[str, int], HourCount] = {}
        for client_id in client_ids:
            for hour in wanted:
                if (entry := self._reads.get((client_id, hour))) is not None:
                    found[client_id, hour] = HourCount(entry[0], len(entry[1]))
        return found

    async def add_failure(self, key: str, minute: int) -> tuple[int, int]:
        if minute > self._pruned_minute:
            self._pruned_minute = minute
            for stale in [k for k in self._failures if k[1] < minute - 1]:
                del self._failures[stale]
        count = self._failures.get((key, minute), 0) + 1
        self._failures[key, minute] = count
        return count, self._failures.get((key, minute - 1), 0)

    async def raise_level(self, scope: str, hour: int, level: int) -> bool:
        self._prune_hours(hour)
        if level <= self._levels.get((scope, hour), 0):
            return False
        self._levels[scope, hour] = level
        return True

    async def levels(self, scopes: Iterable[str], hours: Iterable[int]) -> dict[tuple[str, int], int]:
        wanted = list(hours)
        return {
            (scope, hour): self._levels[scope, hour]
            for scope in scopes
            for hour in wanted
            if (scope, hour) in self._levels
        }

    async def close(self) -> None:
        return None

    def _prune_hours(self, hour: int) -> None:
        if hour <= self._pruned_hour:
            return
        self._pruned_hour = hour
        oldest = hour - _HOURS_KEPT + 1
        for stale in [k for k in self._reads if k[1] < oldest]:
            del self._reads[stale]
        for stale in [k for k in self._levels if k[1] < oldest]:
            del self._levels[stale]


class RedisLiveCounts:
    """Live counts in Redis, shared by every replica; one round trip per observation."""

    def __init__(self, url: str, clock: Clock, *, prefix: str = "dataward") -> None:
        self._clock = clock
        self._prefix = f"{prefix}:anomaly"
        self._connection = LazyRedis(url)

    @property
    def _redis(self) -> Redis:
        return self._connection.client

    async def add_reads(
        self, client_id: str, hour: int, subject_ids: Collection[str], records: int
    ) -> HourCount:
        records_key, subjects_key = self._hour_keys(client_id, hour)
        ttl = self._ttl((hour + _HOURS_KEPT) * _HOUR)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incrby(records_key, records)
            pipe.expire(records_key, ttl)
            if subject_ids:
                pipe.pfadd(subjects_key, *{subject_digest(s) for s in subject_ids})
                pipe.expire(subjects_key, ttl)
            pipe.pfcount(subjects_key)
            replies = await pipe.execute()
        return HourCount(int(replies[0]), int(replies[-1]))

    async def hour_counts(
        self, client_ids: Iterable[str], hours: Iterable[int]
    ) -> dict[tuple[str, int], HourCount]:
        wanted = [(client_id, hour) for client_id in client_ids for hour in hours]
        if not wanted:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for client_id, hour in wanted:
                records_key, subjects_key = self._hour_keys(client_id, hour)
                pipe.get(records_key)
                pipe.pfcount(subjects_key)
            replies = await pipe.execute()
        found: dict[tuple[str, int], HourCount] = {}
        for n, (client_id, hour) in enumerate(wanted):
            records, subjects = replies[2 * n], replies[2 * n + 1]
            if records is not None:
                found[client_id, hour] = HourCount(int(records), int(subjects))
        return found

    async def add_failure(self, key: str, minute: int) -> tuple[int, int]:
        this_key = f"{self._prefix}:failures:{key}:{minute}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(this_key)
            pipe.expire(this_key, self._ttl((minute + 2) * _MINUTE))
            pipe.get(f"{self._prefix}:failures:{key}:{minute - 1}")
            count, _, previous = await pipe.execute()
        return int(count), int(previous or 0)

    async def raise_level(self, scope: str, hour: int, level: int) -> bool:
        key = f"{self._prefix}:level:{scope}:{hour}"
        script = self._redis.register_script(_RAISE_LEVEL)
        raised = await script(keys=[key], args=[level, self._ttl((hour + _HOURS_KEPT) * _HOUR)])
        return bool(raised)

    async def levels(self, scopes: Iterable[str], hours: Iterable[int]) -> dict[tuple[str, int], int]:
        wanted = [(scope, hour) for scope in scopes for hour in hours]
        if not wanted:
            return {}
        replies = await self._redis.mget([f"{self._prefix}:level:{scope}:{hour}" for scope, hour in wanted])
        return {where: int(level) for where, level in zip(wanted, replies, strict=True) if level is not None}

    async def close(self) -> None:
        await self._connection.close()

    def _hour_keys(self, client_id: str, hour: int) -> tuple[str, str]:
        return f"{self._prefix}:records:{client_id}:{hour}", f"{self._prefix}:subjects:{client_id}:{hour}"

    def _ttl(self, until: float) -> int:
        """Seconds from now (by the injected clock) until `until`; at least a minute."""
        return max(_MINUTE, int(until - self._clock.timestamp()))
