"""The anomaly simulation (`bench/anomaly_simulation.py`), run deterministically: a month of five
clients' normal traffic raises no alarm, and a thief is cut off before it has 100 records."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[3] / "bench" / "anomaly_simulation.py"


def _simulation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("anomaly_simulation", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_a_month_raises_no_false_alarm_and_every_thief_is_cut_off_before_100_records() -> None:
    simulation = _simulation()
    result = asyncio.run(simulation.simulate(days=30, seed=7))

    # the month was what it claims: every client busy, the monthly export run twice
    assert set(result.requests) == {
        "billing-batch",
        "support-desk",
        "marketing-tool",
        "analytics",
        "partner-sync",
    }
    assert result.records["marketing-tool"] > 2 * 9000
    assert sum(result.false_alarms.values()) == 0, [v.explanation for v in result.verdicts]
    assert result.verdicts == []

    targeted = [a for a in result.attacks if a.attack.targeted]
    assert len(targeted) == 2
    for outcome in targeted:
        assert outcome.suspend_after is not None, outcome.attack.name
        assert outcome.taken < 100, (outcome.attack.name, outcome.taken)
        assert outcome.alert_after is not None and outcome.throttle_after is not None
        assert outcome.alert_after <= outcome.throttle_after <= outcome.suspend_after
        assert sum(outcome.false_alarms.values()) == 0
    burst = targeted[0]
    assert burst.suspend_after < 120  # a burst at a quiet hour is over within two minutes

    # beyond the target: a trickle within its working hours is still seen, and slowed
    trickle = next(a for a in result.attacks if not a.attack.targeted)
    assert trickle.alert_after is not None
    assert sum(trickle.false_alarms.values()) == 0
