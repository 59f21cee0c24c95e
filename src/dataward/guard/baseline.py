"""What a client normally reads, learnt from its own traffic: per hour of day, and per day.

Pure arithmetic, no input or output: `AnomalyDetector` feeds it closed hours and asks it for the
allowance of the current one, `BaselineStore` keeps it as JSON.

For each hour of day (0-23, UTC) and for whole days, two series are learnt: records read, and
distinct subjects read. Each series keeps

- an exponentially weighted mean and variance (about two weeks of memory), the "usual", and
- a peak: the busiest value seen, decaying with a half-life of `memory_days`, so that a job that
  runs once a month is still remembered when it comes back, and a one-off fades away.

The allowance of a series is `max(floor, mean + sensitivity * std, headroom * peak)`, taken over
the hour and its two neighbours, so a nightly job that starts an hour late is not a stranger. A
score is what was observed divided by the allowance: 1 is the edge of normal. Every hour is
folded in, including hours with no traffic at all, so a quiet hour stays quiet.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from dataward.policy.edge import AnomalyRules

__all__ = ["HOURS_PER_DAY", "Allowance", "Baseline", "HourCount", "Series"]

HOURS_PER_DAY = 24
_ALPHA = 2 / (14 + 1)  # the usual: an EWMA spanning about two weeks of the same hour
_FORGET_AFTER_HOURS = 60 * HOURS_PER_DAY  # silent longer than this: learn the client afresh
_VERSION = 1


@dataclass(frozen=True, slots=True)
class HourCount:
    """What a client read in one hour: records, and distinct subjects among them. `contained`: the
    client was throttled or suspended in that hour, and the hour is learnt as if it had read what
    it usually does, so that a thief never teaches the baseline that stealing is normal."""

    records: int = 0
    subjects: int = 0
    contained: bool = False


@dataclass(frozen=True, slots=True)
class Series:
    """One learnt quantity: its usual value, its spread and its remembered peak."""

    n: int = 0
    mean: float = 0.0
    var: float = 0.0
    peak: float = 0.0

    def fold(self, value: float, decay: float) -> Series:
        # 1/n at first, so the first days are a plain average rather than a slow crawl from 0.
        alpha = max(1 / (self.n + 1), _ALPHA)
        delta = value - self.mean
        return Series(
            n=self.n + 1,
            mean=self.mean + alpha * delta,
            var=(1 - alpha) * (self.var + alpha * delta * delta),
            peak=max(float(value), self.peak * decay),
        )

    def spread_limit(self, sensitivity: float) -> float:
        return self.mean + sensitivity * math.sqrt(self.var)

    def as_list(self) -> list[float]:
        return [self.n, round(self.mean, 4), round(self.var, 4), round(self.peak, 4)]

    @classmethod
    def from_list(cls, values: list[Any]) -> Series:
        n, mean, var, peak = values
        return cls(int(n), float(mean), float(var), float(peak))


@dataclass(frozen=True, slots=True)
class Allowance:
    """How much may be read before the score reaches 1, and which term set it (for explanations)."""

    records: float
    subjects: float
    records_basis: str  # "learning", "the floor", "its usual spread" or "twice its busiest ..."
    subjects_basis: str


@dataclass(frozen=True, slots=True)
class Baseline:
    """A client's learnt behaviour, through the hour `folded_through` (hours since the epoch)."""

    first_hour: int
    folded_through: int
    hours: tuple[tuple[Series, Series], ...]  # per hour of day: (records, subjects)
    daily: tuple[Series, Series]
    today: tuple[int, int, int]  # (day, records, subjects) of the current day's folded hours

    @classmethod
    def new(cls, first_hour: int) -> Baseline:
        """A client first seen in `first_hour`: nothing learnt yet, nothing folded."""
        empty = (Series(), Series())
        return cls(
            first_hour=first_hour,
            folded_through=first_hour - 1,
            hours=(empty,) * HOURS_PER_DAY,
            daily=empty,
            today=(first_hour // HOURS_PER_DAY, 0, 0),
        )

    # -- learning ------------------------------------------------------------------------------

    def days_learnt(self) -> float:
        return (self.folded_through - self.first_hour + 1) / HOURS_PER_DAY

    def learning(self, rules: AnomalyRules) -> bool:
        """Too little history to trust: judged only against the policy's generous learning floors."""
        return self.days_learnt() < rules.learning_days

    def fold(self, hour: int, count: HourCount, rules: AnomalyRules) -> Baseline:
        """The baseline with the closed `hour` (the one after `folded_through`) learnt."""
        if hour != self.folded_through + 1:
            raise ValueError(f"hour {hour} does not follow {self.folded_through}")
        decay = 0.5 ** (1 / rules.memory_days)  # a same-hour peak decays once per day
        at = hour % HOURS_PER_DAY
        records, subjects = self.hours[at]
        read = (records.mean, subjects.mean) if count.contained else (count.records, count.subjects)
        hours = list(self.hours)
        hours[at] = (records.fold(read[0], decay), subjects.fold(read[1], decay))
        day = hour // HOURS_PER_DAY
        _, day_records, day_subjects = self.today if self.today[0] == day else (day, 0, 0)
        today = (day, day_records + round(read[0]), day_subjects + round(read[1]))
        daily = self.daily
        if at == HOURS_PER_DAY - 1:  # the day is over: learn its totals
            daily = (daily[0].fold(today[1], decay), daily[1].fold(today[2], decay))
            today = (day + 1, 0, 0)
        return replace(self, folded_through=hour, hours=tuple(hours), daily=daily, today=today)

    def fold_through(self, hour: int, counts: dict[int, HourCount], rules: AnomalyRules) -> Baseline:
        """Every closed hour up to and including `hour` learnt; hours absent from `counts` had no
        traffic. A client silent for longer than 60 days is learnt afresh from `hour + 1`."""
        if hour - self.folded_through > _FORGET_AFTER_HOURS:
            return Baseline.new(hour + 1)
        baseline = self
        for closed in range(self.folded_through + 1, hour + 1):
            baseline = baseline.fold(closed, counts.get(closed, HourCount()), rules)
        return baseline

    # -- judging -------------------------------------------------------------------------------

    def usual(self, hour_of_day: int) -> HourCount:
        """The client's usual reads in this hour of day (the mean, rounded)."""
        records, subjects = self.hours[hour_of_day]
        return HourCount(round(records.mean), round(subjects.mean))

    def hour_allowance(self, hour_of_day: int, rules: AnomalyRules) -> Allowance:
        """What may be read in one hour of this hour of day before the score reaches 1."""
        if self.learning(rules):
            return Allowance(
                rules.learning_records_per_hour, rules.learning_subjects_per_hour, "learning", "learning"
            )
        near = [self.hours[(hour_of_day + step) % HOURS_PER_DAY] for step in (-1, 0, 1)]
        records, records_basis = _limit([r for r, _ in near], rules.min_records_per_hour, rules, "hour")
        subjects, subjects_basis = _limit([s for _, s in near], rules.min_subjects_per_hour, rules, "hour")
        return Allowance(records, subjects, records_basis, subjects_basis)

    def day_allowance(self, rules: AnomalyRules) -> Allowance | None:
        """What may be read in one day; None while learning (only the hourly floors apply then)."""
        if self.learning(rules):
            return None
        records, records_basis = _limit([self.daily[0]], rules.min_records_per_day, rules, "day")
        subjects, subjects_basis = _limit([self.daily[1]], rules.min_subjects_per_day, rules, "day")
        return Allowance(records, subjects, records_basis, subjects_basis)

    def usual_day(self) -> HourCount:
        return HourCount(round(self.daily[0].mean), round(self.daily[1].mean))

    def today_so_far(self, day: int) -> HourCount:
        """What the folded hours of `day` add up to (subjects: the sum of each hour's distinct)."""
        if self.today[0] != day:
            return HourCount()
        return HourCount(self.today[1], self.today[2])

    # -- storage -------------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": _VERSION,
                "first_hour": self.first_hour,
                "folded_through": self.folded_through,
                "hours": [[r.as_list(), s.as_list()] for r, s in self.hours],
                "daily": [self.daily[0].as_list(), self.daily[1].as_list()],
                "today": list(self.today),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Baseline:
        doc = json.loads(text)
        if doc.get("v") != _VERSION:
            raise ValueError(f"unknown baseline version {doc.get('v')!r}")
        hours = tuple((Series.from_list(r), Series.from_list(s)) for r, s in doc["hours"])
        if len(hours) != HOURS_PER_DAY:
            raise ValueError("a baseline has 24 hours")
        day, records, subjects = doc["today"]
        return cls(
            first_hour=int(doc["first_hour"]),
            folded_through=int(doc["folded_through"]),
            hours=hours,
            daily=(Series.from_list(doc["daily"][0]), Series.from_list(doc["daily"][1])),
            today=(int(day), int(records), int(subjects)),
        )


def _limit(series: list[Series], floor: int, rules: AnomalyRules, span: str) -> tuple[float, str]:
    """The allowance over `series` (an hour and its neighbours, or the day), and why it is that."""
    spread = max(s.spread_limit(rules.sensitivity) for s in series)
    peak = rules.headroom * max(s.peak for s in series)
    best = max(float(floor), spread, peak)
    if best == floor:
        return best, "the floor"
    if best == peak:
        return best, f"{rules.headroom:g}x its busiest {span} lately"
    return best, "its usual spread"
