"""`scan live --schemathesis`: Schemathesis's conformance checks as findings, within the scan's
budget, GET operations only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dataward.scanner.document import parse_document
from dataward.scanner.live.client import Budget
from dataward.scanner.live.context import Identity
from dataward.scanner.live.probes_conformance import PROBES
from dataward.scanner.live_scan import scan_live
from dataward.scanner.results import ScanResult
from support import ServedTarget, serving_target


@pytest.fixture(scope="module")
def vulnerable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTarget]:
    with serving_target("vulnerable_api", tmp_path_factory.mktemp("vulnerable")) as target:
        yield target


def _scan(target: ServedTarget, budget: Budget | None = None) -> ScanResult:
    document = parse_document(target.spec_path.read_text(encoding="utf-8"), str(target.spec_path))
    identities = [Identity("alice", target.token("alice"))]
    return scan_live(
        document, target.base_url, identities, probes=PROBES, budget=budget, allow_destructive=True
    )


def test_answers_off_the_spec_are_findings_named_by_their_check(vulnerable: ServedTarget) -> None:
    result = _scan(vulnerable)
    checks = {(f.location.operation, f.evidence.get("key"), f.level.label) for f in result.findings}
    # The vulnerable API declares no error answers: its 401 to a token-less call is off its spec.
    assert ("GET /users/me", "status_code_conformance", "low") in checks
    assert all(f.rule.id == "API8-SERVER-ERROR" for f in result.findings)
    assert all(f.location.method == "GET" for f in result.findings)  # never a write
    assert int(str(result.details["requests"])) > 20  # its requests are counted


def test_schemathesis_stops_at_the_scans_budget(vulnerable: ServedTarget) -> None:
    result = _scan(vulnerable, Budget(max_requests=10))
    assert any("budget" in str(note) for note in result.details["notes"])  # type: ignore[attr-defined]
