"""Baselines in the database, shared by replicas: two detectors on one real Redis and one database
(SQLite and PostgreSQL) fold each closed hour exactly once and take each step once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from dataward.clock import FrozenClock
from dataward.guard.anomaly import AnomalyDetector, Level, Verdict
from dataward.guard.baseline import Baseline, HourCount
from dataward.guard.baseline_store import BaselineStore
from dataward.guard.live_counts import RedisLiveCounts
from dataward.policy.edge import AnomalyRules
from dataward.storage.tables import client_baselines

RULES = AnomalyRules()
T0 = datetime(2026, 3, 3, tzinfo=UTC)
HOUR0 = int(T0.timestamp() // 3600)
CLIENT = "dw_partnersync000000000"


def test_a_baseline_is_stored_folded_and_read_back(engine: Engine, clock: FrozenClock) -> None:
    store = BaselineStore(engine, clock)
    assert store.load(CLIENT) is None
    folded = store.fold({CLIENT: Baseline.new(HOUR0)}, HOUR0 + 1, {(CLIENT, HOUR0): HourCount(4, 3)}, RULES)
    assert folded[CLIENT].folded_through == HOUR0 + 1
    assert store.load(CLIENT) == folded[CLIENT]
    assert store.client_ids() == [CLIENT]
    # folding again up to the same hour changes nothing, whatever counts are offered
    again = store.fold({CLIENT: Baseline.new(HOUR0)}, HOUR0 + 1, {(CLIENT, HOUR0): HourCount(99, 99)}, RULES)
    assert again[CLIENT] == folded[CLIENT]


def test_a_long_client_id_is_stored_by_digest(engine: Engine, clock: FrozenClock) -> None:
    store = BaselineStore(engine, clock)
    long_id = "corp-idp:" + "x" * 80  # an external provider's client
    store.fold({long_id: Baseline.new(HOUR0)}, HOUR0, {(long_id, HOUR0): HourCount(1, 1)}, RULES)
    loaded = store.load(long_id)
    assert loaded is not None and loaded.folded_through == HOUR0
    assert store.client_ids() == []  # its live counts are known by its id, not by its digest


def test_an_unreadable_baseline_is_learnt_afresh(engine: Engine, clock: FrozenClock) -> None:
    store = BaselineStore(engine, clock)
    store.fold({CLIENT: Baseline.new(HOUR0)}, HOUR0, {}, RULES)
    with engine.begin() as connection:
        connection.execute(update(client_baselines).values(state='{"v": 0}'))
    assert store.load(CLIENT) is None
    folded = store.fold({CLIENT: Baseline.new(HOUR0 + 5)}, HOUR0 + 5, {}, RULES)
    assert folded[CLIENT].first_hour == HOUR0 + 5
    assert store.load(CLIENT) == folded[CLIENT]


def test_two_replicas_fold_each_hour_once_and_take_each_step_once(
    engine: Engine, clock: FrozenClock, redis_server: str, redis_prefix: str
) -> None:
    store = BaselineStore(engine, clock)
    clock.at = T0.timestamp() + 10 * 3600

    def replica() -> tuple[AnomalyDetector, RedisLiveCounts]:
        counts = RedisLiveCounts(redis_server, clock, prefix=redis_prefix)
        # each replica with a store of its own over the shared database, as separate processes have
        return AnomalyDetector(RULES, counts, BaselineStore(engine, clock), clock), counts

    async def scenario() -> list[Verdict | None]:
        (one, one_counts), (other, other_counts) = replica(), replica()
        try:
            # hour 10: the client's requests land on both replicas
            for n in range(30):
                await (one if n % 2 else other).observe_read(CLIENT, [f"subject-{n}"], records=2)
            # hour 11: both close hour 10 at the same moment, twice over
            clock.at += 3600
            await asyncio.gather(
                one.close_hours(), other.close_hours(), one.close_hours(), other.close_hours()
            )
            # still learning: only the learning floor (5,000 subjects) alarms; both replicas race to it
            batches = [[f"s-{r}-{n}" for n in range(600)] for r in range(10)]
            return list(
                await asyncio.gather(
                    *(
                        replica.observe_read(CLIENT, batch)
                        for replica, batch in zip([one, other] * 5, batches, strict=True)
                    )
                )
            )
        finally:
            await one_counts.close()
            await other_counts.close()

    verdicts = asyncio.run(scenario())
    stored = store.load(CLIENT)
    assert stored is not None
    assert stored.folded_through == HOUR0 + 10
    records, subjects = stored.hours[10]
    assert (records.n, records.mean) == (1, 60)  # folded once, with both replicas' reads
    assert (subjects.n, subjects.mean) == (1, 30)
    with engine.connect() as connection:
        assert len(connection.execute(select(client_baselines)).all()) == 1
    alerts = [v for v in verdicts if v is not None]
    assert [v.level for v in alerts] == [Level.ALERT]  # 6,000 subjects: one alert, from one replica
