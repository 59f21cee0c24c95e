"""Live counts: the same behaviour in memory and in a real Redis, shared between two counters on
one Redis (as replicas share it), and no subject id ever stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
import redis

from dataward.clock import FrozenClock
from dataward.guard.baseline import HourCount
from dataward.guard.live_counts import LiveCounts, MemoryLiveCounts, RedisLiveCounts, subject_digest
from support import run_on_two

HOUR = 500_000
SUBJECT = "6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11"

MakeCounts = Callable[[], LiveCounts]


@pytest.fixture
def make_counts(shared_redis: tuple[str, str] | None, clock: FrozenClock) -> Iterator[MakeCounts]:
    """Counters in memory (one shared instance: one process), or each a client of the real Redis
    under this test's own prefix."""
    clock.at = HOUR * 3600 + 10
    if shared_redis is None:
        shared = MemoryLiveCounts()
        yield lambda: shared
        return
    url, prefix = shared_redis
    yield lambda: RedisLiveCounts(url, clock, prefix=prefix)


def test_reads_add_up_records_and_distinct_subjects(make_counts: MakeCounts) -> None:
    async def scenario(counts: LiveCounts, _: LiveCounts) -> None:
        assert await counts.add_reads("c1", HOUR, ["a", "b"], 2) == HourCount(2, 2)
        assert await counts.add_reads("c1", HOUR, ["a", "a", "c"], 3) == HourCount(5, 3)
        assert await counts.add_reads("c1", HOUR, [], 4) == HourCount(9, 3)  # records without ids
        assert await counts.add_reads("c1", HOUR + 1, ["a"], 1) == HourCount(1, 1)  # a new hour
        assert await counts.add_reads("c2", HOUR, ["a"], 1) == HourCount(1, 1)  # another client

    run_on_two(make_counts, scenario)


def test_distinct_subjects_are_counted_closely_at_scale(make_counts: MakeCounts) -> None:
    async def scenario(counts: LiveCounts, _: LiveCounts) -> None:
        ids = [f"subject-{n}" for n in range(3000)]
        for start in range(0, 3000, 100):
            total = await counts.add_reads("c1", HOUR, ids[start : start + 100], 100)
        total = await counts.add_reads("c1", HOUR, ids[:500], 500)  # read again: no new subject
        assert total.records == 3500
        assert total.subjects == pytest.approx(3000, rel=0.02)  # HyperLogLog: about 1%

    run_on_two(make_counts, scenario)


def test_replicas_share_counts(make_counts: MakeCounts) -> None:
    async def scenario(one: LiveCounts, other: LiveCounts) -> None:
        await asyncio.gather(
            *(c.add_reads("c1", HOUR, [f"s{n}"], 1) for n, c in enumerate([one, other] * 10))
        )
        assert await other.add_reads("c1", HOUR, ["s0"], 1) == HourCount(21, 20)
        found = await one.hour_counts(["c1", "c2"], [HOUR - 1, HOUR])
        assert found == {("c1", HOUR): HourCount(21, 20)}

    run_on_two(make_counts, scenario)


def test_failures_are_counted_per_key_and_minute(make_counts: MakeCounts) -> None:
    async def scenario(one: LiveCounts, other: LiveCounts) -> None:
        minute = HOUR * 60
        assert await one.add_failure("address:192.0.2.7", minute) == (1, 0)
        assert await other.add_failure("address:192.0.2.7", minute) == (2, 0)
        assert await one.add_failure("address:192.0.2.8", minute) == (1, 0)
        assert await one.add_failure("address:192.0.2.7", minute + 1) == (1, 2)

    run_on_two(make_counts, scenario)


def test_a_level_is_reached_once_per_hour_and_only_upwards(make_counts: MakeCounts) -> None:
    async def scenario(one: LiveCounts, other: LiveCounts) -> None:
        raced = await asyncio.gather(*(c.raise_level("reads:client:c1", HOUR, 1) for c in [one, other] * 5))
        assert raced.count(True) == 1
        assert await other.raise_level("reads:client:c1", HOUR, 3)
        assert not await one.raise_level("reads:client:c1", HOUR, 2)  # lower than reached
        assert await one.raise_level("reads:client:c1", HOUR + 1, 1)  # a new hour
        assert await one.raise_level("reads:client:c2", HOUR, 1)  # another client

    run_on_two(make_counts, scenario)


def test_no_subject_id_reaches_redis_and_every_key_expires(
    redis_server: str, redis_prefix: str, clock: FrozenClock
) -> None:
    clock.at = HOUR * 3600 + 10

    async def scenario() -> None:
        counts = RedisLiveCounts(redis_server, clock, prefix=redis_prefix)
        try:
            await counts.add_reads("c1", HOUR, [SUBJECT], 1)
            await counts.add_failure("client:c1", HOUR * 60)
            await counts.raise_level("reads:client:c1", HOUR, 1)
        finally:
            await counts.close()

    asyncio.run(scenario())
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(match=f"{redis_prefix}:*"))
        assert len(keys) == 4
        for key in keys:
            assert SUBJECT.encode() not in key
            value = client.dump(key)
            assert value is not None and SUBJECT.encode() not in value
            ttl = client.ttl(key)
            assert isinstance(ttl, int)
            # hour buckets: until two hours after their hour; the minute bucket: a minute after its own
            assert 60 <= ttl <= 3 * 3600
    finally:
        client.close()


def test_the_memory_counts_forget_hours_as_redis_does() -> None:
    async def scenario() -> None:
        counts = MemoryLiveCounts()
        await counts.add_reads("c1", HOUR, ["a"], 1)
        await counts.add_reads("c1", HOUR + 2, ["a"], 1)
        assert ("c1", HOUR) in await counts.hour_counts(["c1"], [HOUR])
        await counts.add_reads("c1", HOUR + 3, ["a"], 1)
        assert await counts.hour_counts(["c1"], [HOUR]) == {}

    asyncio.run(scenario())


def test_a_digest_is_short_and_stable() -> None:
    assert subject_digest(SUBJECT) == subject_digest(SUBJECT)
    assert len(subject_digest(SUBJECT)) == 8
    assert subject_digest(SUBJECT) != subject_digest(SUBJECT.upper())
