"""Simulation: a month of normal traffic for several clients, then a thief, through the real
`AnomalyDetector` and `AnomalyResponder`.

Five clients with the patterns real ones have are replayed request by request, hour by hour: a
billing job every night, a support desk busy in office hours and quiet at weekends, a marketing
tool that exports its whole list on the 1st of each month, an analytics service that re-reads a
small panel around the clock, and a partner sync that reads about 50 records a day. Every request
goes through the detector (live counts in memory, baselines in an SQLite database in a temporary
folder, folded as each hour closes), and every verdict through the responder (a real audit log,
throttles, revocations and a suspension the thief cannot get past).

Then, on the day after, the partner sync turns thief, from the same learnt state each time:

- burst: at 3 a.m., distinct subjects as fast as it can (20 reads a second);
- slow: at 10 a.m., its usual hour, one distinct subject every 10 seconds;
- trickle: through its working day, 30 distinct subjects an hour (beyond the target: it shows
  where hourly scoring ends and the daily total and a person take over).

A throttled thief reads no faster than the throttle; a suspended one reads nothing. Reported:
records the thief read before it was cut off, time to the first alert and to suspension, and false
alarms (any verdict about a client behaving normally), per client. Target: burst and slow cut off
before 100 records, no false alarm.

    python bench/anomaly_simulation.py [--days 30] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dataward.audit import AuditLog
from dataward.clock import FrozenClock
from dataward.guard.anomaly import AnomalyDetector, Verdict
from dataward.guard.baseline_store import BaselineStore
from dataward.guard.live_counts import MemoryLiveCounts
from dataward.guard.response import AnomalyResponder
from dataward.guard.revocations import MemoryRevocations
from dataward.guard.throttles import MemoryThrottles, client_key
from dataward.guard.verdicts import Level
from dataward.keys import LocalKeyring
from dataward.policy.edge import AnomalyRules, parse_rate
from dataward.storage import create_database_engine, migrate

START = datetime(2026, 2, 1, tzinfo=UTC)  # the 1st of a month: the marketing export runs at once
THIEF = "partner-sync"
POPULATION = 60_000  # subjects in the vault
console = Console()

Request = tuple[float, str, list[str]]  # (seconds since the epoch, client, subject ids read)


def _subject(n: int) -> str:
    return f"subject-{n:06d}"


def _spread(rng: random.Random, start: float, span: float, count: int) -> list[float]:
    return sorted(start + rng.uniform(0, span) for _ in range(count))


def _noisy(rng: random.Random, mean: float) -> int:
    """A count about `mean`, within +-50%."""
    return max(0, round(mean * rng.uniform(0.5, 1.5)))


# -- the clients: each yields one hour's requests ---------------------------------------------


def billing(rng: random.Random, at: datetime) -> Iterator[tuple[float, list[str]]]:
    """Invoices every night from about 01:00 (the job starts up to 40 minutes late), 2,000 +-50%
    customers, one per request; a few lookups in office hours."""
    base = at.timestamp()
    if at.hour == 1:
        start = rng.uniform(0, 40 * 60)
        customers = rng.sample(range(0, 30_000), _noisy(rng, 2000))
        for n, ts in zip(customers, _spread(rng, start, 50 * 60, len(customers)), strict=True):
            yield base + min(ts, 3599.9), [_subject(n)]
    elif 8 <= at.hour < 18:
        for ts in _spread(rng, 0, 3600, _noisy(rng, 20)):
            yield base + ts, [_subject(rng.randrange(30_000))]


def support(rng: random.Random, at: datetime, recent: list[int]) -> Iterator[tuple[float, list[str]]]:
    """A support desk: busy on weekdays 08-18 with two peaks, a skeleton crew at weekends; an agent
    reads a customer a few times while a ticket is open."""
    weekend = at.weekday() >= 5
    if weekend:
        mean = 6 if 10 <= at.hour < 16 else 0
    else:
        mean = {8: 60, 9: 110, 10: 150, 11: 140, 12: 70, 13: 110, 14: 150, 15: 130, 16: 100, 17: 50}.get(
            at.hour, 2
        )
    for ts in _spread(rng, 0, 3600, _noisy(rng, mean)):
        if recent and rng.random() < 0.35:
            n = rng.choice(recent)
        else:
            n = rng.randrange(POPULATION)
            recent.append(n)
            del recent[:-40]
        yield at.timestamp() + ts, [_subject(n)]


def marketing(rng: random.Random, at: datetime) -> Iterator[tuple[float, list[str]]]:
    """A campaign tool that reads a few profiles a day, and exports its whole list (9,000 subjects,
    1% more each month) on the 1st of the month from 02:00, in pages of 50, for three hours."""
    base = at.timestamp()
    months = (at.year - START.year) * 12 + at.month - START.month
    if at.day == 1 and 2 <= at.hour < 5:
        size = round(9000 * 1.01**months)
        first = (at.hour - 2) * size // 3
        last = (at.hour - 1) * size // 3
        pages = range(first, last, 50)
        for page, ts in zip(pages, _spread(rng, 0, 3500, len(pages)), strict=True):
            yield base + ts, [_subject(40_000 + n) for n in range(page, min(page + 50, last))]
    elif 9 <= at.hour < 17 and at.weekday() < 5:
        for ts in _spread(rng, 0, 3600, _noisy(rng, 2)):
            yield base + ts, [_subject(40_000 + rng.randrange(9000))]


def analytics(rng: random.Random, at: datetime) -> Iterator[tuple[float, list[str]]]:
    """Dashboards recomputed around the clock from a panel of 300 subjects: 20 requests an hour
    (+-50%), each reading 10 records of them."""
    for ts in _spread(rng, 0, 3600, _noisy(rng, 20)):
        yield at.timestamp() + ts, [_subject(50_000 + rng.randrange(300)) for _ in range(10)]


def partner(rng: random.Random, at: datetime) -> Iterator[tuple[float, list[str]]]:
    """A partner sync reading about 50 records a day (+-50%), in working hours on weekdays."""
    if 9 <= at.hour < 17 and at.weekday() < 5:
        for ts in _spread(rng, 0, 3600, _noisy(rng, 50 / 8)):
            yield at.timestamp() + ts, [_subject(rng.randrange(POPULATION))]


def normal_hour(rng: random.Random, at: datetime, recent: list[int]) -> list[Request]:
    """Every client's requests in the hour starting `at`, in time order."""
    requests: list[Request] = []
    sources: dict[str, Iterator[tuple[float, list[str]]]] = {
        "billing-batch": billing(rng, at),
        "support-desk": support(rng, at, recent),
        "marketing-tool": marketing(rng, at),
        "analytics": analytics(rng, at),
        THIEF: partner(rng, at),
    }
    for client, source in sources.items():
        requests.extend((ts, client, subjects) for ts, subjects in source)
    requests.sort(key=lambda r: r[0])
    return requests


# -- the thief ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    name: str
    start_hour: int
    end_hour: int
    interval: float  # seconds between its reads when nothing holds it back
    targeted: bool  # the <100 records target applies


ATTACKS = (
    Attack("burst 03:00", 3, 24, 0.05, targeted=True),
    Attack("slow 10:00", 10, 24, 10.0, targeted=True),
    Attack("trickle 09-17", 9, 17, 120.0, targeted=False),
)


@dataclass
class AttackResult:
    attack: Attack
    taken: int = 0
    alert_after: float | None = None
    throttle_after: float | None = None
    suspend_after: float | None = None
    false_alarms: Counter[str] = field(default_factory=Counter)  # other clients, that day

    @property
    def target_met(self) -> bool:
        return self.suspend_after is not None and self.taken < 100


@dataclass
class SimulationResult:
    days: int
    seed: int
    requests: Counter[str]  # per client, over the normal days
    records: Counter[str]
    false_alarms: Counter[str]  # per client, over the normal days
    verdicts: list[Verdict]
    attacks: list[AttackResult]
    seconds: float


class _Harness:
    """The detector and responder over one database, and the thief's standing with them."""

    def __init__(self, database: Path, clock: FrozenClock, rules: AnomalyRules) -> None:
        self.clock = clock
        self.engine = create_database_engine(f"sqlite:///{database}")
        migrate(self.engine)
        self.audit = AuditLog(self.engine, LocalKeyring.generate(), clock=clock)
        self.throttles = MemoryThrottles(clock)
        self.revocations = MemoryRevocations(clock)
        self.suspended: set[str] = set()
        self.detector = AnomalyDetector(rules, MemoryLiveCounts(), BaselineStore(self.engine, clock), clock)
        self.responder = AnomalyResponder(
            rules,
            audit=self.audit,
            throttles=self.throttles,
            revocations=self.revocations,
            suspend=self._suspend,
            clock=clock,
        )

    def _suspend(self, client_id: str, reason: str) -> bool:
        del reason
        fresh = client_id not in self.suspended
        self.suspended.add(client_id)
        return fresh

    async def read(self, ts: float, client: str, subjects: list[str]) -> Verdict | None:
        self.clock.at = ts
        verdict = await self.detector.observe_read(client, subjects)
        if verdict is not None:
            await self.responder.respond(verdict)
        return verdict

    async def next_hour(self, at: datetime) -> None:
        self.clock.at = at.timestamp()
        await self.detector.close_hours()

    async def close(self) -> None:
        await self.responder.aclose()
        self.audit.close()
        self.engine.dispose()


async def _normal_days(harness: _Harness, days: int, rng: random.Random, result: SimulationResult) -> None:
    recent: list[int] = []
    for hour in range(days * 24):
        at = START + timedelta(hours=hour)
        await harness.next_hour(at)
        for ts, client, subjects in normal_hour(rng, at, recent):
            result.requests[client] += 1
            result.records[client] += len(subjects)
            verdict = await harness.read(ts, client, subjects)
            if verdict is not None:
                result.false_alarms[client] += 1
                result.verdicts.append(verdict)
    await harness.next_hour(START + timedelta(days=days))  # the last hour folded too


async def _attack_day(harness: _Harness, day: datetime, attack: Attack, seed: int) -> AttackResult:
    """The day after the normal ones, with the thief at work from `attack.start_hour`."""
    rng = random.Random(seed + 1)  # the same normal traffic for every attack
    result = AttackResult(attack)
    start = day.timestamp() + attack.start_hour * 3600
    end = day.timestamp() + attack.end_hour * 3600
    stolen = iter(rng.sample(range(POPULATION), 20_000))
    recent: list[int] = []
    for hour in range(24):
        at = day + timedelta(hours=hour)
        await harness.next_hour(at)
        queue: list[tuple[float, int, str, list[str]]] = [
            (ts, n, client, subjects) for n, (ts, client, subjects) in enumerate(normal_hour(rng, at, recent))
        ]
        heapq.heapify(queue)
        thief_at = max(start, at.timestamp())
        if thief_at < min(end, at.timestamp() + 3600):
            heapq.heappush(queue, (thief_at, -1, "thief", []))
        while queue:
            ts, _, client, subjects = heapq.heappop(queue)
            if client == "thief":
                if THIEF in harness.suspended:
                    continue  # its tokens are dead and it gets no new one
                verdict = await harness.read(ts, THIEF, [_subject(next(stolen))])
                result.taken += 1
                _note(result, verdict, ts - start)
                following = ts + await _pace(harness, attack.interval)
                if following < min(end, at.timestamp() + 3600):
                    heapq.heappush(queue, (following, -1, "thief", []))
                continue
            if client == THIEF and THIEF in harness.suspended:
                continue
            verdict = await harness.read(ts, client, subjects)
            if client == THIEF and ts >= start:
                _note(result, verdict, ts - start)  # its usual reads add to the attack's counts
            elif verdict is not None:
                result.false_alarms[client] += 1
    return result


async def _pace(harness: _Harness, interval: float) -> float:
    """Seconds until the thief's next read: its own pace, or the throttle's if slower."""
    rate = await harness.throttles.throttled_rate(client_key(THIEF))
    if rate is None:
        return interval
    item = parse_rate(rate)
    return max(interval, item.get_expiry() / item.amount)


def _note(result: AttackResult, verdict: Verdict | None, elapsed: float) -> None:
    if verdict is None:
        return
    if result.alert_after is None:
        result.alert_after = elapsed
    if verdict.level.rank >= Level.THROTTLE.rank and result.throttle_after is None:
        result.throttle_after = elapsed
    if verdict.level is Level.SUSPEND:
        result.suspend_after = elapsed


async def simulate(days: int = 30, seed: int = 7, rules: AnomalyRules | None = None) -> SimulationResult:
    """Replay `days` normal days, then each attack on the day after, from the same learnt state."""
    rules = rules or AnomalyRules()
    began = time.perf_counter()
    result = SimulationResult(days, seed, Counter(), Counter(), Counter(), [], [], 0.0)
    with tempfile.TemporaryDirectory(prefix="dataward-anomaly-") as folder:
        learnt = Path(folder) / "learnt.db"
        clock = FrozenClock(START.timestamp())
        harness = _Harness(learnt, clock, rules)
        try:
            await _normal_days(harness, days, random.Random(seed), result)
        finally:
            await harness.close()
        day = START + timedelta(days=days)
        for n, attack in enumerate(ATTACKS):
            copy = Path(folder) / f"attack-{n}.db"
            shutil.copyfile(learnt, copy)
            harness = _Harness(copy, FrozenClock(day.timestamp()), rules)
            try:
                result.attacks.append(await _attack_day(harness, day, attack, seed))
            finally:
                await harness.close()
    result.seconds = time.perf_counter() - began
    return result


def _after(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def report(result: SimulationResult) -> None:
    clients = Table(title=f"{result.days} normal days from {START:%Y-%m-%d} (seed {result.seed})")
    for column in ("client", "requests", "records", "false alarms"):
        clients.add_column(column, justify="left" if column == "client" else "right")
    for client in result.requests:
        clients.add_row(
            client,
            f"{result.requests[client]:,}",
            f"{result.records[client]:,}",
            str(result.false_alarms[client]),
        )
    console.print(clients)
    for verdict in result.verdicts:
        console.print(f"  false alarm: {verdict.key} {verdict.level}: {verdict.explanation}")
    attacks = Table(title=f"Day {result.days + 1}: {THIEF} turns thief")
    for column in ("attack", "taken", "alert", "throttle", "suspend", "false alarms", "target"):
        attacks.add_column(column, justify="left" if column == "attack" else "right")
    for outcome in result.attacks:
        target = ("met" if outcome.target_met else "MISSED") if outcome.attack.targeted else "-"
        attacks.add_row(
            outcome.attack.name,
            str(outcome.taken),
            _after(outcome.alert_after),
            _after(outcome.throttle_after),
            _after(outcome.suspend_after),
            str(sum(outcome.false_alarms.values())),
            target,
        )
    console.print(attacks)
    console.print(f"[dim]simulated in {result.seconds:.1f} s[/dim]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    report(asyncio.run(simulate(args.days, args.seed)))


if __name__ == "__main__":
    main()
