"""The score, `--fail-on`, silencing findings with a justification, and the JSON, SARIF and HTML
reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataward.scanner.catalogue import rule
from dataward.scanner.findings import Finding, Location, Severity
from dataward.scanner.report_html import render_scan_html
from dataward.scanner.reports import to_json, to_sarif
from dataward.scanner.results import ScanResult, score
from dataward.scanner.suppressions import ScanConfigError, Suppression, load_scan_config


def finding(rule_id: str, path: str = "/v1/things", method: str = "GET", message: str = "m") -> Finding:
    return Finding(rule(rule_id), message, Location(f"/paths/{path}", 3, method, path))


def test_the_score_falls_by_rule_and_severity_and_a_repeated_rule_does_not_drown_the_rest() -> None:
    assert score([]) == 100
    assert score([finding("API2-NO-SECURITY")]) == 85  # high: 15
    assert score([finding("API4-NO-RATE-LIMIT")]) == 98  # low: 2
    assert score([finding("API2-NO-SECURITY")] * 2) == 81  # a quarter more: 100 - 18.75
    assert score([finding("API2-NO-SECURITY")] * 200) == 70  # at most twice the weight
    assert score([finding("API1-BOLA")] * 4 + [finding("API8-INJECTION")] * 4) == 0


def test_fail_on_counts_what_is_left_after_silencing() -> None:
    result = ScanResult("spec", "t.yaml", [finding("API4-NO-RATE-LIMIT")])
    assert result.fails(Severity.LOW)
    assert not result.fails(Severity.MEDIUM)
    assert not result.fails(None)
    assert result.counts() == {"critical": 0, "high": 0, "medium": 0, "low": 1, "info": 0}


def test_a_suppression_needs_a_known_rule_and_a_justification(tmp_path: Path) -> None:
    config = tmp_path / "scan.yaml"
    config.write_text(
        "ignore:\n"
        "  - rule: API2-NO-SECURITY\n    path: /v1/status\n    justification: public by design, no data\n"
        "  - rule: API4-NO-RATE-LIMIT\n    path: /v1/**\n    method: get\n"
        "    justification: limited at the load balancer\n",
        encoding="utf-8",
    )
    loaded = load_scan_config(config)
    kept, silenced = loaded.split(
        [
            finding("API2-NO-SECURITY", "/v1/status"),
            finding("API2-NO-SECURITY", "/v1/other"),
            finding("API4-NO-RATE-LIMIT", "/v1/a/b"),
            finding("API4-NO-RATE-LIMIT", "/v1/a/b", method="POST"),
        ]
    )
    assert [(f.rule.id, f.location.path, f.location.method) for f in kept] == [
        ("API2-NO-SECURITY", "/v1/other", "GET"),
        ("API4-NO-RATE-LIMIT", "/v1/a/b", "POST"),
    ]
    assert [s.justification for _, s in silenced] == [
        "public by design, no data",
        "limited at the load balancer",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "ignore:\n  - rule: API2-NO-SECURITY\n  - rule: NOPE\n    justification: because I say so\n"
    )
    with pytest.raises(ScanConfigError) as caught:
        load_scan_config(bad)
    problems = {(p["path"], p["message"]) for p in caught.value.extensions["errors"]}
    assert ("/ignore/0/justification", "say why this finding is accepted") in problems
    assert ("/ignore/1/rule", "unknown rule 'NOPE'") in problems


def test_json_report_and_sarif_carry_every_finding_and_the_silenced_ones_marked() -> None:
    kept = finding("API2-NO-SECURITY", "/v1/a")
    silenced = finding("API4-NO-RATE-LIMIT", "/v1/b")
    config_entry = load_suppression()
    result = ScanResult("spec", "api.yaml", [kept], [(silenced, config_entry)], {"title": "T"})
    document = to_json(result)
    assert document["schema"] == "dataward.scan/v1"
    assert document["score"] == 85
    assert [f["rule"] for f in document["findings"]] == ["API2-NO-SECURITY"]
    assert document["findings"][0]["owasp"].startswith("API2:2023")
    assert document["suppressed"][0]["justification"] == config_entry.justification
    sarif = to_sarif(result)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["API2-NO-SECURITY", "API4-NO-RATE-LIMIT"]
    for result_entry in results:
        assert rules[result_entry["ruleIndex"]]["id"] == result_entry["ruleId"]
        assert result_entry["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "api.yaml"
        assert result_entry["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert results[0]["level"] == "error"
    assert "suppressions" not in results[0]
    assert results[1]["suppressions"] == [{"kind": "external", "justification": config_entry.justification}]
    assert float(rules[results[0]["ruleIndex"]]["properties"]["security-severity"]) >= 7.0


def load_suppression() -> Suppression:
    return Suppression("API4-NO-RATE-LIMIT", "limited at the load balancer", "/v1/b")


def test_the_html_report_escapes_what_the_spec_said() -> None:
    hostile = finding(
        "API9-INTERNAL-PATH", "/v1/<script>alert(1)</script>", message="<img src=x onerror=alert(1)>"
    )
    page = render_scan_html(ScanResult("spec", "api.yaml", [hostile], details={"title": "<b>T</b>"}))
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "default-src 'none'" in page
    assert "API9-INTERNAL-PATH" in page and rule("API9-INTERNAL-PATH").fix in page
