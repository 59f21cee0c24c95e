"""Baselines, pure: folding closed hours (quiet ones too), the learning period, allowances that
tolerate a client's own variation, peaks that remember a monthly job, and the JSON they are kept as."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from dataward.guard.baseline import Baseline, HourCount, Series
from dataward.policy.edge import AnomalyRules

RULES = AnomalyRules()
DAY = 24
START = 20_000 * DAY  # an hour since the epoch that is midnight UTC


def learnt(days: int, per_hour: Callable[[int, int], HourCount], start: int = START) -> Baseline:
    """A baseline fed `days` days of `per_hour(day, hour_of_day)` through the detector's own fold."""
    baseline = Baseline.new(start)
    for hour in range(start, start + days * DAY):
        baseline = baseline.fold(hour, per_hour((hour - start) // DAY, hour % DAY), RULES)
    return baseline


def office(day: int, hour: int) -> HourCount:
    """About 50 records a day in office hours, a handful of subjects each hour."""
    return HourCount(8, 6) if 9 <= hour < 17 and day % 7 < 5 else HourCount()


def test_every_hour_is_folded_once_and_in_order() -> None:
    baseline = Baseline.new(START)
    assert baseline.folded_through == START - 1
    baseline = baseline.fold(START, HourCount(5, 3), RULES)
    with pytest.raises(ValueError, match="does not follow"):
        baseline.fold(START, HourCount(5, 3), RULES)
    with pytest.raises(ValueError, match="does not follow"):
        baseline.fold(START + 2, HourCount(), RULES)
    assert baseline.hours[0][0].n == 1
    assert baseline.hours[0][0].mean == 5


def test_hours_without_traffic_are_folded_as_zero_so_quiet_hours_stay_quiet() -> None:
    busy_then_quiet = Baseline.new(START).fold_through(
        START + 3 * DAY - 1, {START + 3: HourCount(900, 800)}, RULES
    )
    at_three = busy_then_quiet.hours[3]
    assert at_three[0].n == 3  # three 03:00s learnt, two of them empty
    assert at_three[0].mean == pytest.approx(300)
    assert busy_then_quiet.hours[4][0].n == 3
    assert busy_then_quiet.hours[4][0].mean == 0


def test_a_new_client_is_learning_and_judged_only_against_the_generous_floors() -> None:
    baseline = learnt(RULES.learning_days - 1, office)
    assert baseline.learning(RULES)
    allowance = baseline.hour_allowance(3, RULES)
    assert (allowance.records, allowance.subjects) == (
        RULES.learning_records_per_hour,
        RULES.learning_subjects_per_hour,
    )
    assert baseline.day_allowance(RULES) is None
    assert not learnt(RULES.learning_days, office).learning(RULES)


def test_a_quiet_hour_is_held_to_the_floor_and_a_busy_one_to_its_own_peak() -> None:
    baseline = learnt(28, office)
    quiet = baseline.hour_allowance(3, RULES)
    assert (quiet.subjects, quiet.records) == (RULES.min_subjects_per_hour, RULES.min_records_per_hour)
    assert quiet.subjects_basis == "the floor"
    busy = learnt(28, lambda d, h: HourCount(400, 300) if h == 10 else HourCount()).hour_allowance(10, RULES)
    assert busy.subjects == pytest.approx(600)  # twice its busiest 10:00
    assert busy.subjects_basis.startswith("2x its busiest hour")


def test_a_job_an_hour_late_is_no_stranger() -> None:
    nightly = learnt(21, lambda d, h: HourCount(2000, 1800) if h == 1 else HourCount())
    assert nightly.hour_allowance(2, RULES).subjects >= 1800 * RULES.headroom
    assert nightly.hour_allowance(0, RULES).subjects >= 1800 * RULES.headroom
    assert nightly.hour_allowance(4, RULES).subjects == RULES.min_subjects_per_hour


def test_noise_of_fifty_percent_stays_within_the_allowance() -> None:
    rng = random.Random(3)  # noqa: S311 - test traffic, not secrets

    def noisy(day: int, hour: int) -> HourCount:
        records = round(100 * rng.uniform(0.5, 1.5)) if 8 <= hour < 20 else 0
        return HourCount(records, round(records * 0.8))

    baseline = learnt(30, noisy)
    for day in range(30, 60):  # a month more of the same never scores 1
        for hour in range(DAY):
            count = noisy(day, hour)
            allowance = baseline.hour_allowance(hour, RULES)
            assert count.subjects < allowance.subjects and count.records < allowance.records
            baseline = baseline.fold(START + day * DAY + hour, count, RULES)


def test_a_monthly_job_is_still_remembered_when_it_comes_back() -> None:
    monthly = learnt(29, lambda d, h: HourCount(3000, 3000) if d == 0 and h == 2 else HourCount(3, 2))
    assert monthly.hour_allowance(2, RULES).subjects > 3000  # a month later, still allowed
    peak = monthly.hours[2][1].peak
    assert peak == pytest.approx(3000 * 0.5 ** (28 / RULES.memory_days), rel=0.01)


def test_the_day_is_learnt_from_its_hours_and_today_adds_up() -> None:
    baseline = learnt(10, office)
    assert baseline.daily[0].mean == pytest.approx(8 * 8 * 5 / 7, rel=0.3)
    today = baseline.folded_through // DAY + 1
    baseline = baseline.fold(baseline.folded_through + 1, HourCount(7, 5), RULES)
    baseline = baseline.fold(baseline.folded_through + 1, HourCount(3, 2), RULES)
    assert baseline.today_so_far(today) == HourCount(10, 7)
    assert baseline.today_so_far(today + 1) == HourCount()


def test_a_client_silent_for_two_months_is_learnt_afresh() -> None:
    baseline = learnt(10, office)
    later = baseline.folded_through + 61 * DAY
    fresh = baseline.fold_through(later, {}, RULES)
    assert fresh.first_hour == later + 1
    assert fresh.learning(RULES)


def test_a_baseline_survives_its_json() -> None:
    baseline = learnt(9, office)
    again = Baseline.from_json(baseline.to_json())
    assert again.to_json() == baseline.to_json()
    assert again.folded_through == baseline.folded_through
    assert again.hour_allowance(10, RULES).subjects == pytest.approx(
        baseline.hour_allowance(10, RULES).subjects
    )
    with pytest.raises(ValueError, match="version"):
        Baseline.from_json('{"v": 99}')


def test_a_series_starts_as_a_plain_average() -> None:
    series = Series().fold(10, 1.0).fold(20, 1.0)
    assert series.mean == pytest.approx(15)
    assert series.peak == 20
