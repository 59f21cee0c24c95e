"""A scan's findings as JSON (Dataward's own, stable schema) and as SARIF 2.1.0, the format code
scanning dashboards (GitHub, GitLab, Azure DevOps) read.

JSON schema, version 1: `{"schema": "dataward.scan/v1", "kind", "target", "tool", "details",
"score", "counts", "findings": [...], "suppressed": [...]}`, each finding `{"rule", "title",
"severity", "owasp", "gdpr", "message", "pointer", "line", "operation", "fix", "fingerprint",
"evidence"}`, a suppressed one with its `justification` too.
"""

from __future__ import annotations

from typing import Any

from dataward import __version__
from dataward.scanner.catalogue import RULES
from dataward.scanner.findings import Finding, Rule, Severity
from dataward.scanner.results import ScanResult
from dataward.scanner.suppressions import Suppression

__all__ = ["to_json", "to_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}  # fmt: skip
# GitHub sorts code-scanning alerts by this score: critical > 9.0, high 7.0-8.9, medium 4.0-6.9.
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "3.0", Severity.INFO: "0.0"}  # fmt: skip


def _finding_json(finding: Finding) -> dict[str, Any]:
    rule, where = finding.rule, finding.location
    return {
        "rule": rule.id,
        "title": rule.title,
        "severity": finding.level.label,
        "owasp": rule.owasp,
        "gdpr": rule.gdpr,
        "message": finding.message,
        "pointer": where.pointer,
        "line": where.line,
        "operation": where.operation,
        "fix": rule.fix,
        "fingerprint": finding.fingerprint,
        "evidence": finding.evidence,
    }


def to_json(result: ScanResult) -> dict[str, Any]:
    return {
        "schema": "dataward.scan/v1",
        "kind": result.kind,
        "target": result.target,
        "tool": {"name": "dataward", "version": __version__},
        "details": result.details,
        "score": result.score,
        "counts": result.counts(),
        "findings": [_finding_json(f) for f in result.findings],
        "suppressed": [{**_finding_json(f), "justification": s.justification} for f, s in result.suppressed],
    }


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    tags = ["security", rule.owasp.split(" ")[0]]
    if rule.gdpr:
        tags.append(f"GDPR {rule.gdpr}")
    return {
        "id": rule.id,
        "name": "".join(word.capitalize() for word in rule.id.replace("-", " ").split()),
        "shortDescription": {"text": rule.title},
        "fullDescription": {
            "text": f"{rule.title} ({rule.owasp}{'; GDPR ' + rule.gdpr if rule.gdpr else ''})."
        },
        "help": {"text": rule.fix, "markdown": f"**Fix:** {rule.fix}"},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": tags, "security-severity": _SECURITY_SEVERITY[rule.severity]},
    }


def _sarif_result(
    finding: Finding, index: dict[str, int], artifact: str, suppression: Suppression | None
) -> dict[str, Any]:
    where = finding.location
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": artifact}},
        "logicalLocations": [{"fullyQualifiedName": where.pointer or "/", "kind": "member"}],
    }
    if where.line is not None:
        location["physicalLocation"]["region"] = {"startLine": where.line}
    result: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": index[finding.rule.id],
        "level": _LEVEL[finding.level],
        "message": {"text": finding.message},
        "locations": [location],
        "partialFingerprints": {"datawardFinding/v1": finding.fingerprint},
        "properties": {
            "severity": finding.level.label,
            "security-severity": _SECURITY_SEVERITY[finding.level],
        },
    }
    if suppression is not None:
        result["suppressions"] = [{"kind": "external", "justification": suppression.justification}]
    return result


def to_sarif(result: ScanResult, artifact: str | None = None) -> dict[str, Any]:
    """One run; every rule the tool knows is listed, so dashboards can describe any of them."""
    rules = list(RULES.values())
    index = {rule.id: n for n, rule in enumerate(rules)}
    uri = artifact or result.target
    results = [_sarif_result(f, index, uri, None) for f in result.findings]
    results.extend(_sarif_result(f, index, uri, s) for f, s in result.suppressed)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Dataward",
                        "semanticVersion": __version__,
                        "rules": [_sarif_rule(r) for r in rules],
                    }
                },
                "automationDetails": {"id": f"dataward/scan-{result.kind}/"},
                "results": results,
                "properties": {"score": result.score, **result.details},
            }
        ],
    }
