"""`scan spec` on the scan targets' documents: every flaw the vulnerable Acme HR plants is found
where the manifest says, and its clean twin gives no finding at all."""

from __future__ import annotations

import json

import pytest

from dataward.scanner.document import parse_document
from dataward.scanner.findings import Finding
from dataward.scanner.spec_scan import scan_document
from scan_targets import clean_api, manifest, vulnerable_api
from scan_targets.manifest import Planted


def scan(app_module: object) -> list[Finding]:
    document = app_module.create_app().openapi()  # type: ignore[attr-defined]
    return scan_document(parse_document(json.dumps(document, indent=1), "openapi.json")).findings


@pytest.fixture(scope="module")
def vulnerable_findings() -> list[Finding]:
    return scan(vulnerable_api)


@pytest.mark.parametrize("planted", manifest.VULNERABLE_SPEC_FLAWS, ids=lambda p: f"{p.rule_id} {p.path}")
def test_each_planted_flaw_is_found_where_it_was_planted(
    planted: Planted, vulnerable_findings: list[Finding]
) -> None:
    places = {
        (f.location.method, f.location.path) for f in vulnerable_findings if f.rule.id == planted.rule_id
    }
    assert places, f"{planted.rule_id} not reported at all"
    if planted.method is not None:
        assert (planted.method, planted.path) in places


def test_findings_point_at_lines_of_the_document(vulnerable_findings: list[Finding]) -> None:
    assert all(f.location.line is not None and f.location.line > 0 for f in vulnerable_findings)


def test_the_clean_twin_gives_no_finding() -> None:
    assert [(f.rule.id, f.location.operation, f.message) for f in scan(clean_api)] == []
