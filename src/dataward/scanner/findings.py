"""What a scan reports: a finding of a rule at a place in the spec or the running API.

A rule is the stable part (its id, title, OWASP API Security Top 10 (2023) category, the GDPR
article where one applies, a default severity and the fix); a finding is one occurrence (what was
seen, where). Findings never carry personal data: a live probe that sees a value reports its kind
and a masked form, never the value.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

__all__ = ["Finding", "Location", "Rule", "Severity"]


class Severity(IntEnum):
    """Ordered, so that `finding.severity >= Severity.HIGH` reads as it should."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}: one of {names}") from None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # stable: "API1-SEQUENTIAL-ID"; never renamed, since configs and dashboards name it
    title: str
    owasp: str  # "API1:2023 Broken Object Level Authorization"
    severity: Severity
    fix: str
    gdpr: str | None = None  # "Art. 32" when the rule is about personal data too
    description: str = ""


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a JSON pointer into the spec (with its line when the file has one), and
    the operation it concerns, if any."""

    pointer: str = ""
    line: int | None = None
    method: str | None = None  # upper case
    path: str | None = None  # the path template, "/users/{id}"

    @property
    def operation(self) -> str | None:
        return f"{self.method} {self.path}" if self.method and self.path else None


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    message: str
    location: Location = field(default_factory=Location)
    severity: Severity | None = None  # None: the rule's own
    evidence: dict[str, Any] = field(default_factory=dict)  # never a personal-data value

    @property
    def level(self) -> Severity:
        return self.rule.severity if self.severity is None else self.severity

    @property
    def fingerprint(self) -> str:
        """Stable across runs and line moves: the rule, the place and the operation."""
        where = self.location
        text = f"{self.rule.id}|{where.pointer}|{where.operation or ''}|{self.evidence.get('key', '')}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]
