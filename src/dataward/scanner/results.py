"""A scan's outcome: its findings (those silenced by the config apart), a score, and the exit code
that `--fail-on` asks for.

The score starts at 100 and loses points by rule, so that a rule broken in two hundred operations
weighs more than one broken once, but never drowns every other problem: a rule's first finding
costs its severity's weight, each further one a quarter of it, up to twice the weight.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dataward.scanner.findings import Finding, Severity
from dataward.scanner.suppressions import Suppression

__all__ = ["ScanResult", "score"]

WEIGHTS = {
    Severity.CRITICAL: 30.0,
    Severity.HIGH: 15.0,
    Severity.MEDIUM: 6.0,
    Severity.LOW: 2.0,
    Severity.INFO: 0.0,
}


def score(findings: list[Finding]) -> int:
    worst: dict[str, Severity] = {}
    counts: Counter[str] = Counter()
    for finding in findings:
        counts[finding.rule.id] += 1
        worst[finding.rule.id] = max(worst.get(finding.rule.id, Severity.INFO), finding.level)
    penalty = 0.0
    for rule_id, count in counts.items():
        weight = WEIGHTS[worst[rule_id]]
        penalty += min(2 * weight, weight + (count - 1) * weight / 4)
    return max(0, round(100 - penalty))


@dataclass
class ScanResult:
    kind: str  # "spec" or "live"
    target: str  # the document or base URL scanned
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)  # title, version, requests made, ...

    @property
    def score(self) -> int:
        return score(self.findings)

    def counts(self) -> dict[str, int]:
        counter = Counter(f.level for f in self.findings)
        return {s.label: counter.get(s, 0) for s in sorted(Severity, reverse=True)}

    def fails(self, threshold: Severity | None) -> bool:
        return threshold is not None and any(f.level >= threshold for f in self.findings)
