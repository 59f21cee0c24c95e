"""`scan live`'s abuse probes (shadow endpoints, injection, server errors, rate limits) against the
Acme HR scan targets, each served in a process of its own: every flaw the vulnerable app plants for
these rules is found where the manifest says, the clean app gives none, and the scan stays within
its request bound. Fake APIs (httpx's MockTransport) cover what the targets never show: blind SQL
found by the boolean pair and by time (the vulnerable app gives itself away sooner), and a
catch-all server that answers every path."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from dataward.scanner.document import SpecDocument, parse_document
from dataward.scanner.findings import Finding, Severity
from dataward.scanner.live import probes_abuse
from dataward.scanner.live.client import Budget, LiveClient
from dataward.scanner.live.context import Identity, LiveContext
from dataward.scanner.live_scan import scan_live
from dataward.scanner.results import ScanResult
from scan_targets.manifest import VULNERABLE_LIVE_FLAWS
from support import ServedTarget, serving_target

RULES = ("API9-SHADOW-ENDPOINT", "API8-INJECTION", "API8-SERVER-ERROR", "API4-NO-RATE-LIMIT-OBSERVED")
# Measured: 200 requests on the vulnerable app (65 looking for shadows, 19 injecting, 16 on edge
# values, 4 bursts of 25), 118 on the clean one (its 429s cut the bursts short). Half as much again
# leaves room for a changed target; a probe that lost its caps (a burst per list, a guess per path
# segment, every parameter injected) goes well past it.
REQUEST_BOUND = 300


def _document(target: ServedTarget) -> SpecDocument:
    return parse_document(target.spec_path.read_text(encoding="utf-8"), str(target.spec_path))


def _scan(target: ServedTarget, budget: Budget | None = None) -> ScanResult:
    identities = [Identity(name, target.token(name)) for name in ("alice", "bob")]
    return scan_live(
        _document(target), target.base_url, identities, budget=budget, probes=probes_abuse.PROBES
    )


@pytest.fixture(scope="module")
def vulnerable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTarget]:
    with serving_target("vulnerable_api", tmp_path_factory.mktemp("vulnerable")) as target:
        yield target


@pytest.fixture(scope="module")
def vulnerable_scan(vulnerable: ServedTarget) -> ScanResult:
    return _scan(vulnerable)


@pytest.fixture(scope="module")
def clean_scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanResult]:
    with serving_target("clean_api", tmp_path_factory.mktemp("clean")) as target:
        yield _scan(target)


def _of(result: ScanResult, rule_id: str) -> dict[tuple[str | None, str | None], Finding]:
    return {(f.location.method, f.location.path): f for f in result.findings if f.rule.id == rule_id}


def _planted(rule_id: str) -> set[tuple[str | None, str | None]]:
    planted = {(p.method, p.path) for p in VULNERABLE_LIVE_FLAWS if p.rule_id == rule_id}
    assert planted, f"the manifest plants no {rule_id}"
    return planted


def test_shadow_endpoints_answer_and_framework_docs_are_low(
    vulnerable: ServedTarget, vulnerable_scan: ScanResult
) -> None:
    found = _of(vulnerable_scan, "API9-SHADOW-ENDPOINT")
    assert _planted("API9-SHADOW-ENDPOINT") <= found.keys()
    for where in _planted("API9-SHADOW-ENDPOINT"):
        assert found[where].level == Severity.HIGH
        assert found[where].evidence["without_token"] is True
    assert found["GET", "/docs"].level == found["GET", "/redoc"].level == Severity.LOW
    assert ("GET", "/openapi.json") not in found  # the scanned spec itself hides nothing
    assert len(found) == 5, sorted(found)
    assert not {path for _, path in found} & _document(vulnerable).data["paths"].keys()


def test_injection_into_sql_and_a_shell_is_found(vulnerable_scan: ScanResult) -> None:
    found = _of(vulnerable_scan, "API8-INJECTION")
    assert _planted("API8-INJECTION") <= found.keys()
    assert found["GET", "/employees/search"].evidence == {"key": "q", "technique": "error-based"}
    assert found["GET", "/tools/ping"].evidence == {"key": "host", "technique": "command-echo"}
    assert len(found) == 2, sorted(found)  # /employees/by-email/{email} is parameterised


def test_server_error_on_an_allowed_edge_value_is_found(vulnerable_scan: ScanResult) -> None:
    found = _of(vulnerable_scan, "API8-SERVER-ERROR")
    assert _planted("API8-SERVER-ERROR") <= found.keys()
    assert found["GET", "/reports/salary-bands"].evidence == {"key": "bands", "value": "0"}
    assert len(found) == 1, sorted(found)


def test_bursts_without_a_429_are_found(vulnerable_scan: ScanResult) -> None:
    found = _of(vulnerable_scan, "API4-NO-RATE-LIMIT-OBSERVED")
    assert _planted("API4-NO-RATE-LIMIT-OBSERVED") <= found.keys()
    assert all(f.evidence["requests"] == 25 for f in found.values())


@pytest.mark.parametrize("rule_id", RULES)
def test_the_clean_target_gives_no_finding(clean_scan: ScanResult, rule_id: str) -> None:
    assert not _of(clean_scan, rule_id), [f.message for f in clean_scan.findings]


def test_the_scans_stay_within_their_request_bound(
    vulnerable_scan: ScanResult, clean_scan: ScanResult
) -> None:
    for result in (vulnerable_scan, clean_scan):
        assert isinstance(result.details["requests"], int)
        assert 50 < result.details["requests"] <= REQUEST_BOUND, result.details
        assert isinstance(result.details["notes"], list)
        assert not [n for n in result.details["notes"] if "budget" in n]


def test_a_tiny_budget_stops_the_probes_and_says_so(vulnerable: ServedTarget) -> None:
    result = _scan(vulnerable, Budget(max_requests=5))
    assert result.details["requests"] == 5
    notes = result.details["notes"]
    assert isinstance(notes, list)
    assert any("budget" in n and "shadow_endpoints" in n for n in notes), notes


# -- the techniques the targets never get to, against a fake API ---------------------------------

_FAKE_SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "fake", "version": "1"},
    "paths": {
        path: {"get": {"parameters": [{"name": "name", "in": "query", "required": True,
                                       "schema": {"type": "string"}}],
                       "responses": {"200": {"description": "ok"}}}}
        for path in ("/blind", "/slow")
    },
}  # fmt: skip


def _fake_api(request: httpx.Request) -> httpx.Response:
    """/blind swallows SQL errors but answers every row to a true condition; /slow answers 500 to
    any quote (without saying why) and sleeps under pg_sleep."""
    name = request.url.params.get("name", "")
    if request.url.path == "/blind":
        return httpx.Response(200, json=[1, 2, 3] if "OR '1'='1'" in name else [])
    if "pg_sleep" in name:
        time.sleep(2.0)
    return httpx.Response(500 if "'" in name and "pg_sleep" not in name else 200, json=[])


def test_blind_sql_is_found_by_boolean_and_by_time() -> None:
    document = parse_document(json.dumps(_FAKE_SPEC), "fake.json")
    client = LiveClient("http://fake.test", transport=httpx.MockTransport(_fake_api))
    context = LiveContext(document, client, [Identity("alice", "not-a-token")])
    try:
        found = {f.location.path: f.evidence for f in probes_abuse.injection(context)}
    finally:
        client.close()
    assert found == {
        "/blind": {"key": "name", "technique": "boolean-based"},
        "/slow": {"key": "name", "technique": "time-based"},
    }
    assert client.requests_made <= 2 * 17


def _catch_all(request: httpx.Request) -> httpx.Response:
    """Any path answers 200 with a page naming it, but /debug/config answers something else."""
    if request.url.path == "/debug/config":
        return httpx.Response(200, json={"jwt_secret": "s3cret"})
    return httpx.Response(200, text=f"<html>the app, at {request.url.path}</html>")


def test_a_catch_all_server_shows_only_what_differs() -> None:
    spec = {"openapi": "3.1.0", "info": {"title": "spa", "version": "1"},
            "paths": {"/v2/items": {"get": {"responses": {"200": {"description": "ok"}}}}}}  # fmt: skip
    client = LiveClient("http://spa.test", transport=httpx.MockTransport(_catch_all))
    context = LiveContext(parse_document(json.dumps(spec), "spa.json"), client, [Identity("alice", "t")])
    try:
        found = [(f.location.path, f.evidence) for f in probes_abuse.shadow_endpoints(context)]
    finally:
        client.close()
    assert found == [("/debug/config", {"key": "/debug/config", "status": 200, "without_token": True})]
    assert client.requests_made <= 2 + 80 + 1
