"""`scan live`: run the live probes against a running API described by its spec.

The probes run in a fixed order, from the ones that only read to the ones that change state
(objects written and deleted, only with `allow_destructive`) and, last, the bursts that may get the
scanner rate limited. When the request or time budget runs out, the probes stop and the report
says so; what was found until then stands.
"""

from __future__ import annotations

from collections.abc import Callable

from dataward.scanner.document import SpecDocument
from dataward.scanner.findings import Finding
from dataward.scanner.live.client import Budget, BudgetExhausted, LiveClient
from dataward.scanner.live.context import Identity, LiveContext, Probe
from dataward.scanner.live.probes_abuse import PROBES as ABUSE
from dataward.scanner.live.probes_access import PROBES as ACCESS
from dataward.scanner.live.probes_auth import PROBES as AUTH
from dataward.scanner.live.probes_conformance import PROBES as CONFORMANCE
from dataward.scanner.results import ScanResult
from dataward.scanner.suppressions import ScanConfig

__all__ = ["ALL_PROBES", "WITH_SCHEMATHESIS", "scan_live"]

ALL_PROBES: tuple[Probe, ...] = (*AUTH, *ACCESS, *ABUSE)
# `--schemathesis`: its generated requests before the bursts that may get the scanner limited.
WITH_SCHEMATHESIS: tuple[Probe, ...] = (*AUTH, *ACCESS, *CONFORMANCE, *ABUSE)


def scan_live(
    document: SpecDocument,
    base_url: str,
    identities: list[Identity],
    *,
    allow_destructive: bool = False,
    budget: Budget | None = None,
    config: ScanConfig | None = None,
    probes: tuple[Probe, ...] = ALL_PROBES,
    progress: Callable[[str], None] | None = None,
) -> ScanResult:
    client = LiveClient(base_url, budget)
    context = LiveContext(document, client, identities, allow_destructive)
    findings: list[Finding] = []
    seen: set[tuple[str, str | None, str | None, str]] = set()
    try:
        for probe in probes:
            if progress is not None:
                progress(probe.__name__.replace("_", " "))
            try:
                for finding in probe(context):
                    where = finding.location
                    key = (finding.rule.id, where.method, where.path, str(finding.evidence.get("key", "")))
                    if key not in seen:
                        seen.add(key)
                        findings.append(finding)
            except BudgetExhausted:
                spent = f"{client.budget.max_requests} requests, {client.budget.max_seconds:.0f} s"
                context.notes.append(
                    f"the budget ({spent}) ran out during {probe.__name__}; later probes did not run"
                )
                break
    finally:
        client.close()
    findings.sort(key=lambda f: (-f.level, f.rule.id, f.location.path or "", f.location.method or ""))
    kept, silenced = (config or ScanConfig()).split(findings)
    return ScanResult(
        kind="live",
        target=base_url,
        findings=kept,
        suppressed=silenced,
        details={
            "spec": document.source,
            "requests": client.requests_made,
            "identities": [i.name for i in identities],
            "destructive": allow_destructive,
            "notes": context.notes,
        },
    )
