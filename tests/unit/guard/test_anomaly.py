"""The anomaly detector, with live counts in memory and baselines in a real database (SQLite and
PostgreSQL): a burst at a quiet hour is cut off, a client's own variation is not, each step is
taken once an hour, distinct subjects weigh more than records, failures are watched per client and
per address, and closed hours (quiet ones too) are folded in."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from dataward.clock import FrozenClock
from dataward.guard.anomaly import AnomalyDetector, Kind, Level, Verdict, Window
from dataward.guard.baseline import Baseline, HourCount
from dataward.guard.baseline_store import BaselineStore
from dataward.guard.live_counts import MemoryLiveCounts
from dataward.guard.throttles import address_key, client_key
from dataward.policy.edge import AnomalyRules

RULES = AnomalyRules()
T0 = datetime(2026, 3, 3, tzinfo=UTC)  # a Tuesday, midnight UTC
HOUR0 = int(T0.timestamp() // 3600)
CLIENT = "dw_partnersync000000000"
SUBJECT = "6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11"


def office(day: int, hour: int) -> HourCount:
    """About 50 records a day in office hours on weekdays: a handful of subjects each hour."""
    return HourCount(8, 6) if 9 <= hour < 17 and day % 7 < 5 else HourCount()


def learnt(per_hour: Callable[[int, int], HourCount], days: int = 28) -> Baseline:
    """A baseline fed `days` days of `per_hour(day, hour_of_day)`, up to the end of T0's eve."""
    start = HOUR0 - days * 24
    baseline = Baseline.new(start)
    for hour in range(start, HOUR0):
        baseline = baseline.fold(hour, per_hour((hour - start) // 24, hour % 24), RULES)
    return baseline


@pytest.fixture
def store(engine: Engine, clock: FrozenClock) -> BaselineStore:
    return BaselineStore(engine, clock)


def seed(store: BaselineStore, baseline: Baseline, client_id: str = CLIENT) -> None:
    store.fold({client_id: baseline}, baseline.folded_through, {}, RULES)


def at(clock: FrozenClock, hour: int, minute: int = 0, second: float = 0) -> None:
    clock.at = T0.timestamp() + hour * 3600 + minute * 60 + second


def ids(start: int, count: int) -> list[str]:
    return [f"subject-{n:06d}" for n in range(start, start + count)]


async def read_one_by_one(
    detector: AnomalyDetector, clock: FrozenClock, subjects: list[str], *, every: float = 0.5
) -> list[tuple[int, Verdict]]:
    """Each subject read in a request of its own; the verdicts, with how many reads came before."""
    verdicts = []
    for n, subject in enumerate(subjects, start=1):
        verdict = await detector.observe_read(CLIENT, [subject])
        if verdict is not None:
            verdicts.append((n, verdict))
            if verdict.level is Level.SUSPEND:
                break
        clock.advance(every)
    return verdicts


def test_a_burst_at_a_quiet_hour_is_suspended_before_100_records(
    store: BaselineStore, clock: FrozenClock
) -> None:
    seed(store, learnt(office))
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
    at(clock, 3)
    verdicts = asyncio.run(read_one_by_one(detector, clock, ids(0, 5000)))
    assert [v.level for _, v in verdicts] == [Level.ALERT, Level.THROTTLE, Level.SUSPEND]
    taken, suspension = verdicts[-1]
    assert taken < 100
    assert suspension.kind is Kind.READS and suspension.window is Window.HOUR
    assert suspension.key == client_key(CLIENT) and suspension.client_id == CLIENT
    assert suspension.hour_of_day == 3
    assert suspension.observed == {"records": taken, "subjects": taken}
    assert suspension.baseline == {"records": 0, "subjects": 0}
    assert suspension.allowance["subjects"] == RULES.min_subjects_per_hour
    assert suspension.score >= RULES.suspend_at
    assert not suspension.learning
    assert "since 03:00 UTC" in suspension.explanation
    assert "the floor" in suspension.explanation
    assert "subject-" not in suspension.explanation
    assert suspension.as_dict()["level"] == "suspend"


def test_the_same_reads_at_the_clients_busy_hour_are_normal(store: BaselineStore, clock: FrozenClock) -> None:
    seed(store, learnt(lambda d, h: HourCount(200, 150) if 9 <= h < 17 else HourCount()))
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
    at(clock, 10)

    async def scenario() -> list[Verdict | None]:
        return [await detector.observe_read(CLIENT, [s]) for s in ids(0, 220)]

    assert set(asyncio.run(scenario())) == {None}


def test_a_day_of_the_clients_own_variation_raises_nothing(store: BaselineStore, clock: FrozenClock) -> None:
    rng = random.Random(11)  # noqa: S311 - test traffic, not secrets

    def noisy(_day: int, hour: int) -> HourCount:
        records = round(60 * rng.uniform(0.5, 1.5)) if 8 <= hour < 20 else 0
        return HourCount(records, records)

    seed(store, learnt(noisy))
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)

    async def scenario() -> list[Verdict]:
        verdicts = []
        for hour in range(24):
            at(clock, hour)
            for subject in ids(hour * 1000, noisy(0, hour).subjects):
                clock.advance(1)
                if (verdict := await detector.observe_read(CLIENT, [subject])) is not None:
                    verdicts.append(verdict)
        return verdicts

    assert asyncio.run(scenario()) == []


def test_the_same_few_subjects_read_again_and_again_alert_but_never_slow_the_client(
    store: BaselineStore, clock: FrozenClock
) -> None:
    seed(store, learnt(office))
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
    at(clock, 3)

    async def scenario() -> list[Verdict]:
        found = []
        for n in range(500):
            if (verdict := await detector.observe_read(CLIENT, [f"subject-{n % 10}"])) is not None:
                found.append(verdict)
        return found

    verdicts = asyncio.run(scenario())
    assert [v.level for v in verdicts] == [Level.ALERT]
    assert all("on records" in v.explanation for v in verdicts)
    assert verdicts[0].observed["subjects"] == 10 and verdicts[0].score >= RULES.alert_at


def test_each_step_is_taken_once_an_hour_and_a_thief_does_not_become_normal(
    store: BaselineStore, clock: FrozenClock
) -> None:
    seed(store, learnt(office))
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)

    async def scenario() -> None:
        at(clock, 3)
        first = await read_one_by_one(detector, clock, ids(0, 500))
        assert [v.level for _, v in first] == [Level.ALERT, Level.THROTTLE, Level.SUSPEND]
        # the rest of the hour: no more verdicts, however much more it reads
        assert [await detector.observe_read(CLIENT, ids(1000 + n * 100, 100)) for n in range(5)] == [None] * 5
        # the next hour the steps may be taken again, and the stolen hour was not learnt
        at(clock, 4)
        again = await read_one_by_one(detector, clock, ids(5000, 500))
        assert [v.level for _, v in again] == [Level.ALERT, Level.THROTTLE, Level.SUSPEND]
        assert again[-1][0] == first[-1][0]
        baseline = await detector.baseline(CLIENT)
        assert baseline is not None and baseline.hours[3][1].peak == 0

    asyncio.run(scenario())


def test_a_new_client_is_judged_only_against_the_learning_floors(
    store: BaselineStore, clock: FrozenClock
) -> None:
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
    at(clock, 3)

    async def scenario() -> list[Verdict | None]:
        return [await detector.observe_read(CLIENT, ids(n * 1000, 1000)) for n in range(13)]

    verdicts = asyncio.run(scenario())
    assert verdicts[:4] == [None] * 4  # 4,000 distinct subjects in its first hour: still learning
    levels = {n: v.level for n, v in enumerate(verdicts) if v is not None}
    assert levels == {4: Level.ALERT, 7: Level.THROTTLE, 12: Level.SUSPEND}  # 5,000, 7,500, 12,500
    alert = verdicts[4]
    assert alert is not None and alert.learning and "(learning)" in alert.explanation


def test_a_day_of_reads_each_hour_within_bounds_is_caught_by_the_daily_total(
    store: BaselineStore, clock: FrozenClock
) -> None:
    seed(store, learnt(office))
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)

    async def scenario() -> list[Verdict]:
        found = []
        for hour in range(9, 17):
            at(clock, hour, 5)
            verdict = await detector.observe_read(CLIENT, ids(hour * 100, RULES.min_subjects_per_hour - 1))
            if verdict is not None:
                found.append(verdict)
        return found

    verdicts = asyncio.run(scenario())
    assert verdicts, "19 subjects an hour all day is more than four times its usual day"
    assert {v.window for v in verdicts} == {Window.DAY}
    assert verdicts[0].level is Level.ALERT
    assert "today" in verdicts[0].explanation


def test_a_failure_burst_alerts_then_throttles_an_address_and_never_suspends(
    store: BaselineStore, clock: FrozenClock
) -> None:
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
    at(clock, 3)
    address = address_key("192.0.2.7")

    async def scenario() -> list[tuple[int, Verdict]]:
        found = []
        for n in range(1, 301):
            if (verdict := await detector.observe_failure(address)) is not None:
                found.append((n, verdict))
            clock.advance(0.1)
        return found

    verdicts = asyncio.run(scenario())
    assert [(n, v.level) for n, v in verdicts] == [
        (RULES.failures_alert_per_minute, Level.ALERT),
        (RULES.failures_throttle_per_minute, Level.THROTTLE),
    ]
    throttle = verdicts[-1][1]
    assert throttle.kind is Kind.FAILURES and throttle.window is Window.MINUTE
    assert throttle.key == address and throttle.client_id is None
    assert "from this address" in throttle.explanation
    assert "192.0.2.7" not in throttle.explanation


def test_failures_are_counted_per_client_and_per_address_over_a_sliding_minute(
    store: BaselineStore, clock: FrozenClock
) -> None:
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
    client, other = client_key(CLIENT), address_key("192.0.2.8")

    async def scenario() -> None:
        at(clock, 3, 0, 50)  # 16 failures at the end of one minute, 5 at the start of the next
        for _ in range(16):
            assert await detector.observe_failure(client) is None
            assert await detector.observe_failure(other) is None
        at(clock, 3, 1, 1)
        verdicts = [await detector.observe_failure(client) for _ in range(5)]
        assert verdicts[:4] == [None] * 4
        verdict = verdicts[4]
        assert verdict is not None and verdict.level is Level.ALERT and verdict.client_id == CLIENT
        assert "from this client" in verdict.explanation
        # a quiet minute later, the old failures have slid out of the window
        at(clock, 3, 3)
        assert await detector.observe_failure(other) is None

    asyncio.run(scenario())


def test_nothing_is_judged_when_anomaly_response_is_disabled(
    store: BaselineStore, clock: FrozenClock
) -> None:
    seed(store, learnt(office))
    detector = AnomalyDetector(AnomalyRules(enabled=False), MemoryLiveCounts(), store, clock)
    at(clock, 3)

    async def scenario() -> None:
        assert await detector.observe_read(CLIENT, ids(0, 5000)) is None
        for _ in range(100):
            assert await detector.observe_failure(address_key("192.0.2.7")) is None

    asyncio.run(scenario())


def test_closing_hours_folds_quiet_clients_and_quiet_hours(store: BaselineStore, clock: FrozenClock) -> None:
    detector = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
    at(clock, 10, 30)

    async def scenario() -> None:
        await detector.observe_read(CLIENT, ids(0, 7), records=9)
        assert await detector.close_hours() == 0  # the hour is not over
        at(clock, 11, 1)
        assert await detector.close_hours() == 1
        assert await detector.close_hours() == 0  # idempotent
        at(clock, 15, 1)  # four quiet hours later
        assert await detector.close_hours() == 1

    asyncio.run(scenario())
    baseline = store.load(CLIENT)
    assert baseline is not None
    assert baseline.first_hour == HOUR0 + 10
    assert baseline.folded_through == HOUR0 + 14
    assert baseline.hours[10][0].mean == 9 and baseline.hours[10][1].mean == 7
    assert [baseline.hours[h][0].n for h in range(9, 16)] == [0, 1, 1, 1, 1, 1, 0]
    assert baseline.today_so_far(HOUR0 // 24) == HourCount(9, 7)


def test_a_restarted_detector_finds_its_baselines_in_the_database(
    store: BaselineStore, clock: FrozenClock
) -> None:
    seed(store, learnt(office))
    at(clock, 3)

    async def scenario() -> int:
        first = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
        await first.observe_read(CLIENT, ids(0, 5))
        restarted = AnomalyDetector(RULES, MemoryLiveCounts(), store, clock)
        verdicts = await read_one_by_one(restarted, clock, ids(100, 500))
        return verdicts[-1][0]

    assert asyncio.run(scenario()) < 100  # not a new client learning: its quiet 3 a.m. holds
