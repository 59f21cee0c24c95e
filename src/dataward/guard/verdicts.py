"""What the anomaly detector concludes: a `Verdict`, which explains itself.

A verdict names the client (or address), what was watched, the step to take, and the figures
behind it: the client's usual reads at this hour, its allowance, what it read, and the score. Its
explanation is one sentence for the audit log, the webhook and the person on call. Neither holds
a subject id nor any other personal data: counts, hours and the client's key only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from dataward.guard.throttles import client_of

__all__ = ["Kind", "Level", "Verdict", "Window"]


class Level(StrEnum):
    """The steps of a response, each including the ones before it."""

    ALERT = "alert"  # audit entry, webhook, metric
    THROTTLE = "throttle"  # and the client (or address) is held to the policy's `throttle_to`
    SUSPEND = "suspend"  # and its tokens are revoked and it is suspended until a person reinstates it

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Level.ALERT: 1, Level.THROTTLE: 2, Level.SUSPEND: 3}


class Kind(StrEnum):
    READS = "reads"  # what a client read, against its baseline
    FAILURES = "failures"  # failed authentications and denied requests, against fixed thresholds


class Window(StrEnum):
    HOUR = "hour"  # counted since the hour began
    DAY = "day"  # counted since the day began (UTC)
    MINUTE = "minute"  # the last sixty seconds


@dataclass(frozen=True, slots=True)
class Verdict:
    """A client (or address) reached a step it had not reached yet this hour."""

    key: str  # `client:<id>` or `address:<ip>` (see `guard.throttles.client_key`)
    kind: Kind
    level: Level
    at: float  # when, in seconds since the epoch
    window: Window
    hour_of_day: int  # UTC
    baseline: Mapping[str, float]  # usual: records and subjects (reads), failures (failures)
    allowance: Mapping[str, float]  # what may be counted before the score reaches 1
    observed: Mapping[str, float]
    score: float  # observed / allowance on the measure that decided; 1 is the edge of normal
    learning: bool  # the client's baseline is still being learnt: only the learning floors apply
    explanation: str

    @property
    def client_id(self) -> str | None:
        """The client concerned, or None when the verdict is about an address."""
        return client_of(self.key)

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON for audit and webhook bodies: counts and the client key only."""
        return {
            "key": self.key,
            "kind": str(self.kind),
            "level": str(self.level),
            "at": datetime.fromtimestamp(self.at, UTC).isoformat(),
            "window": str(self.window),
            "hour_of_day": self.hour_of_day,
            "baseline": dict(self.baseline),
            "allowance": dict(self.allowance),
            "observed": dict(self.observed),
            "score": round(self.score, 2),
            "learning": self.learning,
            "explanation": self.explanation,
        }
