"""Schema conformance and server errors through Schemathesis (the optional `schemathesis` extra):
property-based requests generated from the spec, every answer checked against it. Its failures are
mapped to findings: a server error is API8-SERVER-ERROR (medium), any other failed check (an
answer off the spec) the same rule at low severity, naming the check. Authentication is judged by
the auth probes, which compare answers with and without a valid token themselves.

Opt-in (`scan live --schemathesis`): on a strict, careful API it still reports low-severity
disagreements between the spec and the answers, which a team may want only now and then. Bounded:
a few examples per operation, GET operations only (Schemathesis generates many bodies, and writes
would multiply the requests), Schemathesis's own time limit, and its requests count against the
scan's budget. Without the extra installed the probe says so in the report's notes.
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Iterator
from typing import Any

from dataward.scanner.findings import Finding, Severity
from dataward.scanner.live.context import LiveContext, Probe

__all__ = ["PROBES"]

_EXAMPLES = 3  # per operation and phase
_MAX_SECONDS = 60
_SERVER_ERROR = "not_a_server_error"
# Checks that need more than one identity's view of the API, or guess at semantics the spec does
# not state; the other probes judge these better.
_SKIPPED = frozenset(
    {"missing_required_header", "ignored_auth", "use_after_free", "ensure_resource_availability"}
)


def schemathesis_conformance(context: LiveContext) -> Iterator[Finding]:
    if importlib.util.find_spec("schemathesis") is None:
        context.notes.append("schema conformance: install dataward[schemathesis] to run Schemathesis")
        return
    import schemathesis  # noqa: PLC0415 - an optional extra
    from schemathesis.config import SchemathesisConfig  # noqa: PLC0415
    from schemathesis.engine import Status, events  # noqa: PLC0415

    spent = context.client.remaining_seconds()
    settings: dict[str, Any] = {
        "base-url": context.client.base_url,
        "max-time": max(1, math.floor(min(_MAX_SECONDS, spent))),
        "request-timeout": 10,
        "generation": {"max-examples": _EXAMPLES},
        "phases": {"stateful": {"enabled": False}},
    }
    if context.identities:
        bearer = {"bearer": context.identities[0].token}
        schemes = context.document.security_schemes
        http = {n: bearer for n, (s, _) in schemes.items() if str(s.get("scheme", "")).lower() == "bearer"}
        if http:
            settings["auth"] = {"openapi": http}
    config = SchemathesisConfig.from_dict(settings)
    schema = schemathesis.openapi.from_dict(context.document.data, config=config).include(method="GET")
    reported: set[tuple[str, str]] = set()
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        context.client.count(len(recorder.interactions))
        for checks in recorder.checks.values():
            for check in checks:
                if (
                    check.status != Status.FAILURE
                    or check.name in _SKIPPED
                    or (recorder.label, check.name) in reported
                ):
                    continue
                reported.add((recorder.label, check.name))
                yield _finding(context, recorder.label, check.name, check.failure_info)
        if time.monotonic() - started > _MAX_SECONDS:
            break


def _finding(context: LiveContext, label: str, check: str, info: Any) -> Finding:
    method, _, path = label.partition(" ")
    operation = next((o for o in context.operations if o.method == method and o.path == path), None)
    title = str(getattr(getattr(info, "failure", None), "title", check))
    severity = None if check == _SERVER_ERROR else Severity.LOW
    return context.finding(
        "API8-SERVER-ERROR", f"{label}: {title} (Schemathesis check {check})", operation,
        method=method, path=path, severity=severity, evidence={"key": check},
    )  # fmt: skip


PROBES: tuple[Probe, ...] = (schemathesis_conformance,)  # opt-in: not in live_scan.ALL_PROBES
