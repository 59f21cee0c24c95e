"""Anomaly detection: each client judged against its own behaviour, learnt from its own traffic.

The vault tells the detector what every client reads (`observe_read`: which subjects, how many
records) and every failed authentication or denied request (`observe_failure`). The detector
counts them live (`live_counts`, in Redis when replicas share one), scores them against the
client's baseline for this hour of day and for the day (`baseline`), and returns a `Verdict` when a
client reaches a step it had not reached yet this hour: alert, throttle, then suspend. Each step is
returned once per client per hour, by one replica, so a thief does not set off an alert storm.
`AnomalyResponder` carries the steps out.

Why these measures: exfiltration reads many *distinct* subjects, so distinct subjects decide every
step; records alone (the same subjects read again and again, as a busy service does) can alert
but never throttle or suspend. Failures are counted per client or address per minute against
fixed thresholds: guessing tokens or enumerating ids has no legitimate baseline.

Hours are folded into baselines as they close, hours without traffic included, so a client that is
quiet at 3 a.m. keeps a quiet 3 a.m. A client's first observation in a new hour folds its closed
hours; `close_hours` (run it every few minutes, see `close_hours_every`) folds every client's, those
that went quiet too. Pure of the web: nothing here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from dataclasses import dataclass, replace

import structlog

from dataward.clock import Clock
from dataward.guard.baseline import HOURS_PER_DAY, Allowance, Baseline, HourCount
from dataward.guard.baseline_store import BaselineStore
from dataward.guard.live_counts import LiveCounts
from dataward.guard.throttles import client_key, client_of
from dataward.guard.verdicts import Kind, Level, Verdict, Window
from dataward.policy.edge import AnomalyRules

__all__ = ["AnomalyDetector", "Kind", "Level", "Verdict", "Window", "close_hours_every"]

log = structlog.get_logger(__name__)

_HOUR = 3600
_MINUTE = 60
_FORGET_CLIENT_HOURS = 24  # a client this replica has not seen for a day leaves its cache


@dataclass(frozen=True, slots=True)
class _Judgement:
    level: Level
    score: float
    window: Window
    measure: str  # "subjects" or "records": the one that decided
    observed: HourCount
    usual: HourCount
    allowance: Allowance


class AnomalyDetector:
    def __init__(self, rules: AnomalyRules, counts: LiveCounts, store: BaselineStore, clock: Clock) -> None:
        self._rules = rules
        self._counts = counts
        self._store = store
        self._clock = clock
        self._baselines: dict[str, Baseline] = {}  # clients this replica has seen lately
        self._limits: dict[str, tuple[Baseline, int, Allowance, Allowance | None]] = {}
        self._seen: dict[str, int] = {}  # client -> the last hour it was seen here
        self._reached: dict[tuple[str, int], int] = {}  # (scope, hour) -> highest rank known
        self._reached_hour = -1
        self._swept_through = -1  # the last closed hour folded for every stored client

    async def observe_read(
        self, client_id: str, subject_ids: Collection[str], records: int | None = None
    ) -> Verdict | None:
        """Count what the client just read (`records`: default one per subject id); a verdict when
        it reached a new step this hour."""
        if not self._rules.enabled:
            return None
        now = self._clock.timestamp()
        hour = int(now // _HOUR)
        baseline = await self._baseline(client_id, hour)
        self._seen[client_id] = hour
        count = await self._counts.add_reads(
            client_id, hour, subject_ids, len(subject_ids) if records is None else records
        )
        judgement = self._judge_reads(client_id, baseline, hour, count)
        if judgement is None:
            return None
        key = client_key(client_id)
        if not await self._escalate(f"{Kind.READS}:{key}", hour, judgement.level):
            return None
        return Verdict(
            key=key,
            kind=Kind.READS,
            level=judgement.level,
            at=now,
            window=judgement.window,
            hour_of_day=hour % HOURS_PER_DAY,
            baseline={"records": judgement.usual.records, "subjects": judgement.usual.subjects},
            allowance={
                "records": round(judgement.allowance.records, 1),
                "subjects": round(judgement.allowance.subjects, 1),
            },
            observed={"records": judgement.observed.records, "subjects": judgement.observed.subjects},
            score=judgement.score,
            learning=baseline.learning(self._rules),
            explanation=self._explain_reads(judgement, hour),
        )

    async def observe_failure(self, key: str) -> Verdict | None:
        """Count a failed authentication or a denied request by `key` (`client_key(id)` or
        `address_key(ip)`); a verdict when it reached a new step this hour (never suspension)."""
        if not self._rules.enabled:
            return None
        now = self._clock.timestamp()
        current, previous = await self._counts.add_failure(key, int(now // _MINUTE))
        # The last sixty seconds, estimated from two fixed minutes (a sliding-window counter).
        rate = current + previous * (1 - (now % _MINUTE) / _MINUTE)
        rules = self._rules
        if rate >= rules.failures_throttle_per_minute:
            level = Level.THROTTLE
        elif rate >= rules.failures_alert_per_minute:
            level = Level.ALERT
        else:
            return None
        hour = int(now // _HOUR)
        if not await self._escalate(f"{Kind.FAILURES}:{key}", hour, level):
            return None
        score = rate / rules.failures_alert_per_minute
        who = "client" if client_of(key) is not None else "address"
        return Verdict(
            key=key,
            kind=Kind.FAILURES,
            level=level,
            at=now,
            window=Window.MINUTE,
            hour_of_day=hour % HOURS_PER_DAY,
            baseline={"failures": 0},
            allowance={"failures": rules.failures_alert_per_minute},
            observed={"failures": round(rate, 1)},
            score=score,
            learning=False,
            explanation=(
                f"{rate:.0f} failed authentications or denied requests in the last minute from this "
                f"{who} (alert at {rules.failures_alert_per_minute}, throttle at "
                f"{rules.failures_throttle_per_minute}); score {score:.1f}: {self._action(level)}."
            ),
        )

    async def close_hours(self) -> int:
        """Fold every closed hour of every client into its baseline, quiet clients included; the
        number of clients looked at. Idempotent, and safe on several replicas at once."""
        through = int(self._clock.timestamp() // _HOUR) - 1
        for client_id in [c for c, seen in self._seen.items() if seen < through - _FORGET_CLIENT_HOURS]:
            del self._seen[client_id]
            self._baselines.pop(client_id, None)
            self._limits.pop(client_id, None)
        due = {c: b for c, b in self._baselines.items() if b.folded_through < through}
        if self._swept_through < through:
            stored = await asyncio.to_thread(self._store.client_ids)
            due.update({c: Baseline.new(through + 1) for c in stored if c not in self._baselines})
        if due:
            await self._fold(due, through)
        self._swept_through = through
        return len(due)

    async def baseline(self, client_id: str) -> Baseline | None:
        """The client's baseline as learnt so far (for people and tests), or None if never seen."""
        cached = self._baselines.get(client_id)
        return cached if cached is not None else await asyncio.to_thread(self._store.load, client_id)

    # -- baselines -----------------------------------------------------------------------------

    async def _baseline(self, client_id: str, hour: int) -> Baseline:
        baseline = self._baselines.get(client_id)
        if baseline is None:
            stored = await asyncio.to_thread(self._store.load, client_id)
            baseline = self._baselines[client_id] = stored or Baseline.new(hour)
        if baseline.folded_through < hour - 1:
            baseline = (await self._fold({client_id: baseline}, hour - 1))[client_id]
        return baseline

    async def _fold(self, due: dict[str, Baseline], through: int) -> dict[str, Baseline]:
        # Buckets live until two hours after their hour: only the last two closed hours can hold
        # counts; any older hour not folded yet had none to keep.
        hours = range(through - 1, through + 1)
        counts = await self._counts.hour_counts(due, hours)
        scopes = {f"{Kind.READS}:{client_key(c)}": c for c in due}
        for (scope, hour), rank in (await self._counts.levels(scopes, hours)).items():
            if rank >= Level.THROTTLE.rank:
                found = counts.get((scopes[scope], hour), HourCount())
                counts[scopes[scope], hour] = replace(found, contained=True)
        folded = await asyncio.to_thread(self._store.fold, due, through, counts, self._rules)
        for client_id, baseline in folded.items():
            if client_id in self._baselines:
                self._baselines[client_id] = baseline
        return folded

    # -- judging -------------------------------------------------------------------------------

    def _judge_reads(
        self, client_id: str, baseline: Baseline, hour: int, count: HourCount
    ) -> _Judgement | None:
        at = hour % HOURS_PER_DAY
        allowance, daily = self._allowances(client_id, baseline, hour)
        best = self._judge(count, allowance, Window.HOUR, baseline.usual(at))
        if daily is not None:
            so_far = baseline.today_so_far(hour // HOURS_PER_DAY)
            today = HourCount(so_far.records + count.records, so_far.subjects + count.subjects)
            by_day = self._judge(today, daily, Window.DAY, baseline.usual_day())
            if by_day is not None and (
                best is None or (by_day.level.rank, by_day.score) > (best.level.rank, best.score)
            ):
                best = by_day
        return best

    def _allowances(
        self, client_id: str, baseline: Baseline, hour: int
    ) -> tuple[Allowance, Allowance | None]:
        """The hour's and the day's allowances: fixed until the next fold, so computed once."""
        cached = self._limits.get(client_id)
        if cached is not None and cached[0] is baseline and cached[1] == hour:
            return cached[2], cached[3]
        allowance = baseline.hour_allowance(hour % HOURS_PER_DAY, self._rules)
        daily = baseline.day_allowance(self._rules)
        self._limits[client_id] = (baseline, hour, allowance, daily)
        return allowance, daily

    def _judge(
        self, observed: HourCount, allowance: Allowance, window: Window, usual: HourCount
    ) -> _Judgement | None:
        by_subjects = observed.subjects / allowance.subjects
        by_records = observed.records / allowance.records
        subjects_level = self._level(by_subjects)
        records_level = self._level(by_records)
        if records_level is not None:  # the same subjects again: nothing new disclosed
            records_level = Level.ALERT  # worth a look, never worth slowing a busy service down
        ranked = [
            (level.rank, score, measure)
            for level, score, measure in (
                (subjects_level, by_subjects, "subjects"),
                (records_level, by_records, "records"),
            )
            if level is not None
        ]
        if not ranked:
            return None
        rank, score, measure = max(ranked)
        level = next(level for level in Level if level.rank == rank)
        return _Judgement(level, score, window, measure, observed, usual, allowance)

    def _level(self, score: float) -> Level | None:
        rules = self._rules
        for level, threshold in (
            (Level.SUSPEND, rules.suspend_at),
            (Level.THROTTLE, rules.throttle_at),
            (Level.ALERT, rules.alert_at),
        ):
            if score >= threshold:
                return level
        return None

    async def _escalate(self, scope: str, hour: int, level: Level) -> bool:
        """Whether this call is the first, on any replica, to bring `scope` to `level` this hour."""
        if level.rank <= self._reached.get((scope, hour), 0):
            return False
        raised = await self._counts.raise_level(scope, hour, level.rank)
        if hour > self._reached_hour:  # a new hour: every step may be taken again
            self._reached = {k: v for k, v in self._reached.items() if k[1] >= hour}
            self._reached_hour = hour
        self._reached[scope, hour] = level.rank  # raised here, or already as high elsewhere
        return raised

    # -- explanations: counts, hours and rules only ----------------------------------------------

    def _explain_reads(self, judgement: _Judgement, hour: int) -> str:
        observed, usual, allowance = judgement.observed, judgement.usual, judgement.allowance
        if judgement.window is Window.DAY:
            when, usually = "today", "a day"
        else:
            when, usually = f"since {hour % HOURS_PER_DAY:02d}:00 UTC", "at this hour"
        basis = allowance.subjects_basis if judgement.measure == "subjects" else allowance.records_basis
        return (
            f"Read {observed.subjects} distinct subjects in {observed.records} records {when}, against "
            f"about {usual.subjects} in {usual.records} {usually}; allowance {allowance.subjects:.0f} "
            f"subjects and {allowance.records:.0f} records ({basis}); score {judgement.score:.1f} on "
            f"{judgement.measure}: {self._action(judgement.level)}."
        )

    def _action(self, level: Level) -> str:
        if level is Level.SUSPEND:
            return "tokens revoked, client suspended until a person reinstates it"
        if level is Level.THROTTLE:
            return f"throttled to {self._rules.throttle_to} for {self._rules.throttle_minutes} min"
        return "alert"


async def close_hours_every(detector: AnomalyDetector, interval: float, stop: asyncio.Event) -> None:
    """Fold closed hours every `interval` seconds until `stop` is set (a background task of the
    vault: a few minutes is plenty, live counts outlive their hour by two). A failed round (the
    database away) is logged and tried again next time."""
    while not stop.is_set():
        try:
            await detector.close_hours()
        except Exception as error:  # noqa: BLE001 - the loop outlives a database outage
            log.warning("anomaly.close_hours_failed", error=type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
