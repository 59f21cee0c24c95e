"""A scan as one self-contained HTML page for the people who triage it: the score and counts
first, then the findings grouped by rule, each rule with its OWASP category, GDPR article and fix.

Messages quote names from the scanned spec or the scanned API's answers (attacker-controlled
text), so the page is rendered with autoescaping on and a Content Security Policy that forbids
scripts and remote content.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from functools import cache

from jinja2 import Environment

from dataward.html import html_environment
from dataward.scanner.findings import Finding, Rule
from dataward.scanner.results import ScanResult

__all__ = ["render_scan_html"]


def render_scan_html(result: ScanResult, *, generated_at: datetime | None = None) -> str:
    groups: dict[str, list[Finding]] = defaultdict(list)
    rules: dict[str, Rule] = {}
    for finding in result.findings:
        groups[finding.rule.id].append(finding)
        rules[finding.rule.id] = finding.rule
    ordered = sorted(groups, key=lambda rule_id: (-max(f.level for f in groups[rule_id]), rule_id))
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return (
        _environment()
        .get_template("scan.html.j2")
        .render(
            result=result,
            counts=result.counts(),
            groups=[(rules[r], groups[r]) for r in ordered],
            generated_at=when,
        )
    )


@cache
def _environment() -> Environment:
    return html_environment("dataward.scanner", {})
