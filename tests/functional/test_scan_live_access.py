"""`scan live`'s access probes (`probes_access`) against the scan targets, each served on loopback:
every flaw the vulnerable Acme HR plants for their rules is found where the manifest says (and
nothing else of those rules), the clean twin shows none, a scan without `allow_destructive` sends
nothing but GETs, and no finding carries a person's data or a token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataward.scanner.document import SpecDocument, parse_document
from dataward.scanner.findings import Finding
from dataward.scanner.live import probes_access
from dataward.scanner.live.client import LiveClient
from dataward.scanner.live.context import Identity, LiveContext
from dataward.scanner.live_scan import scan_live
from dataward.scanner.results import ScanResult
from scan_targets._people import STAFF
from scan_targets._vulnerable_state import hash_password
from scan_targets.manifest import VULNERABLE_LIVE_FLAWS
from support import ServedTarget, serving_target

RULES = (
    "API3-EXCESSIVE-EXPOSURE",
    "API5-ADMIN-REACHABLE",
    "API1-BOLA",
    "API3-MASS-ASSIGNMENT-ACCEPTED",
)


@dataclass(frozen=True)
class Scanned:
    target: ServedTarget
    document: SpecDocument
    identities: list[Identity]
    result: ScanResult

    def places(self, rule_id: str) -> set[tuple[str | None, str | None]]:
        return {(f.location.method, f.location.path) for f in self.findings(rule_id)}

    def findings(self, rule_id: str) -> list[Finding]:
        return [f for f in self.result.findings if f.rule.id == rule_id]


def _document(target: ServedTarget) -> SpecDocument:
    return parse_document(target.spec_path.read_text(encoding="utf-8"), str(target.spec_path))


def _identities(target: ServedTarget) -> list[Identity]:
    return [Identity(name, target.token(name)) for name in ("alice", "bob")]


def _scanned(target: ServedTarget) -> Scanned:
    document, identities = _document(target), _identities(target)
    result = scan_live(
        document, target.base_url, identities, probes=probes_access.PROBES, allow_destructive=True
    )
    return Scanned(target, document, identities, result)


def _backup(target: ServedTarget) -> Any:
    """The vulnerable app's whole state (accounts and documents), through its undocumented dump."""
    answer = httpx.get(f"{target.base_url}/admin/backup", timeout=10)
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture(scope="module")
def vulnerable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTarget]:
    with serving_target("vulnerable_api", tmp_path_factory.mktemp("vulnerable")) as target:
        yield target


@pytest.fixture(scope="module")
def vulnerable_before(vulnerable: ServedTarget) -> Any:
    return _backup(vulnerable)


@pytest.fixture(scope="module")
def vulnerable_scan(vulnerable: ServedTarget, vulnerable_before: Any) -> Scanned:
    return _scanned(vulnerable)


@pytest.fixture(scope="module")
def clean_scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    with serving_target("clean_api", tmp_path_factory.mktemp("clean")) as target:
        yield _scanned(target)


@pytest.mark.parametrize("rule_id", RULES)
def test_each_planted_flaw_is_found_where_the_manifest_says(vulnerable_scan: Scanned, rule_id: str) -> None:
    planted = {(p.method, p.path) for p in VULNERABLE_LIVE_FLAWS if p.rule_id == rule_id}
    assert planted, rule_id
    assert vulnerable_scan.places(rule_id) == planted


@pytest.mark.parametrize("rule_id", RULES)
def test_the_clean_twin_shows_none(clean_scan: Scanned, rule_id: str) -> None:
    assert clean_scan.findings(rule_id) == []


def test_the_clean_scan_really_tried(clean_scan: Scanned) -> None:
    """No finding because nothing was wrong, not because nothing was reached (the clean app rate
    limits lists: the probes must stay under its quota)."""
    notes = clean_scan.result.details["notes"]
    assert isinstance(notes, list)
    assert not any("broken_object_level" in n or "mass_assignment" in n for n in notes), notes
    requests = clean_scan.result.details["requests"]
    assert isinstance(requests, int) and 25 <= requests <= 80


def test_exposure_names_the_undeclared_fields_and_their_kinds(vulnerable_scan: Scanned) -> None:
    (finding,) = vulnerable_scan.findings("API3-EXCESSIVE-EXPOSURE")
    assert finding.evidence["kinds"] == {"password_hash": "secret", "ssn": "national_id"}
    # the declared Profile properties (e-mail, display name) are the spec scanner's business
    assert finding.evidence["fields"] == ["password_hash", "ssn"]


def test_admin_reachable_by_each_ordinary_identity(vulnerable_scan: Scanned) -> None:
    (finding,) = vulnerable_scan.findings("API5-ADMIN-REACHABLE")
    assert finding.evidence["identities"] == ["alice", "bob"]
    assert finding.level.label == "critical"


def test_mass_assignment_names_the_privileges_taken(vulnerable_scan: Scanned) -> None:
    (finding,) = vulnerable_scan.findings("API3-MASS-ASSIGNMENT-ACCEPTED")
    assert {"is_admin", "role"} <= set(finding.evidence["fields"])


def test_destructive_writes_land_on_the_scans_own_objects(
    vulnerable_scan: Scanned, vulnerable_before: Any
) -> None:
    """Bob's PUT and DELETE went to a document the scan made for alice; the real ones are intact,
    and no scan document is left behind."""
    after = _backup(vulnerable_scan.target)
    assert after["documents"] == vulnerable_before["documents"]


def test_without_allow_destructive_only_gets_are_sent(tmp_path: Path) -> None:
    sent: list[str] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request.method)
            return super().handle_request(request)

    with serving_target("vulnerable_api", tmp_path) as target:
        before = _backup(target)
        client = LiveClient(target.base_url, transport=Recording())
        context = LiveContext(_document(target), client, _identities(target), allow_destructive=False)
        try:
            findings = [f for probe in probes_access.PROBES for f in probe(context)]
        finally:
            client.close()
        after = _backup(target)
    assert sent and set(sent) == {"GET"}
    assert after == before  # accounts (roles, privileges) and documents alike
    assert {(f.rule.id, f.location.method) for f in findings} == {
        ("API3-EXCESSIVE-EXPOSURE", "GET"),
        ("API5-ADMIN-REACHABLE", "GET"),
        ("API1-BOLA", "GET"),
    }
    assert any("mass_assignment" in note for note in context.notes)


_OK = {"200": {"description": "ok"}}
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_EVERY_WRITE = {
    "openapi": "3.0.3",
    "info": {"title": "writes everywhere", "version": "1"},
    "paths": {
        "/admin/users": {m: {"responses": _OK} for m in ("get", "post", "put", "patch", "delete")},
        "/users/me": {m: {"responses": _OK} for m in ("get", "post", "put", "patch")},
        "/documents": {m: {"responses": _OK} for m in ("get", "post")},
        "/documents/{id}": {
            "parameters": _ID,
            **{m: {"responses": _OK} for m in ("get", "put", "patch", "delete")},
        },
    },
}


def _methods_sent(*, allow_destructive: bool) -> list[str]:
    """What the probes send to an API of `_EVERY_WRITE` that says yes to everything: alice's lists
    show object 7, bob's nothing, and a POST creates object 8."""
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        if request.method == "POST":
            return httpx.Response(200, json={"id": 8})
        return httpx.Response(200, json=[] if "token-b" in request.headers["Authorization"] else [{"id": 7}])

    document = parse_document(json.dumps(_EVERY_WRITE), "every-write.json")
    client = LiveClient("http://api.test", transport=httpx.MockTransport(answer))
    identities = [Identity("alice", "token-a"), Identity("bob", "token-b")]
    context = LiveContext(document, client, identities, allow_destructive=allow_destructive)
    try:
        for probe in probes_access.PROBES:
            list(probe(context))
    finally:
        client.close()
    return sent


def test_without_allow_destructive_no_write_goes_out_whatever_the_spec_offers() -> None:
    """Admin writes, the caller's own profile, a collection's objects: GETs only, however willing
    the API; with writes allowed the same probes do write (so the first half is not vacuous)."""
    assert set(_methods_sent(allow_destructive=False)) == {"GET"}
    assert {"POST", "PUT", "PATCH", "DELETE"} <= set(_methods_sent(allow_destructive=True))


def test_one_identity_is_not_enough_for_object_level(vulnerable: ServedTarget) -> None:
    client = LiveClient(vulnerable.base_url)
    context = LiveContext(_document(vulnerable), client, [Identity("alice", "not-a-token")])
    try:
        assert list(probes_access.broken_object_level(context)) == []
    finally:
        client.close()
    assert client.requests_made == 0
    assert any("two identities" in note for note in context.notes)


def test_no_finding_carries_personal_data_or_a_token(vulnerable_scan: Scanned, clean_scan: Scanned) -> None:
    secrets = [
        value
        for m in STAFF
        for value in (m.full_name, m.email, m.phone, m.national_id, m.date_of_birth.isoformat())
    ]
    secrets += [hash_password(m.password) for m in STAFF if m.password]
    secrets += [m.password for m in STAFF if m.password]
    secrets += [i.token for scan in (vulnerable_scan, clean_scan) for i in scan.identities]
    findings = [*vulnerable_scan.result.findings, *clean_scan.result.findings]
    assert findings  # the vulnerable app gave the probes something to report
    for finding in findings:
        shown = f"{finding.message} {finding.evidence!r} {finding.location!r}"
        assert not [s for s in secrets if s in shown], finding.rule.id
