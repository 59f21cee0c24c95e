"""The scan config: findings a team has looked at and accepted, each with a written reason.

    # .dataward-scan.yaml
    ignore:
      - rule: API2-NO-SECURITY
        path: /v1/status            # a path template; `*` matches within a segment, `**` any depth
        method: GET                 # optional
        justification: The status page is public by design and returns no data.

A silenced finding still appears in the JSON and SARIF reports, marked as suppressed with its
justification, so an auditor sees what was accepted and why. An entry without a justification,
or naming a rule that does not exist, is an error: silence must be explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from dataward.errors import DatawardError, Problem
from dataward.scanner.catalogue import RULES
from dataward.scanner.findings import Finding

__all__ = ["ScanConfig", "ScanConfigError", "Suppression", "load_scan_config"]

_MIN_JUSTIFICATION = 10


class ScanConfigError(DatawardError):
    status = 422
    slug = "scan-config-invalid"
    title = "The scan config is not valid"

    def __init__(self, source: str, problems: list[Problem]) -> None:
        super().__init__(f"{source}: {len(problems)} problem(s)", errors=[p.as_dict() for p in problems])


@dataclass(frozen=True, slots=True)
class Suppression:
    rule: str
    justification: str
    path: str | None = None
    method: str | None = None

    def covers(self, finding: Finding) -> bool:
        if finding.rule.id != self.rule:
            return False
        where = finding.location
        if self.method is not None and (where.method or "").upper() != self.method:
            return False
        if self.path is None:
            return True
        return where.path is not None and _glob(self.path).fullmatch(where.path) is not None


@dataclass(frozen=True, slots=True)
class ScanConfig:
    suppressions: tuple[Suppression, ...] = ()

    def split(self, findings: list[Finding]) -> tuple[list[Finding], list[tuple[Finding, Suppression]]]:
        kept: list[Finding] = []
        silenced: list[tuple[Finding, Suppression]] = []
        for finding in findings:
            match = next((s for s in self.suppressions if s.covers(finding)), None)
            if match is None:
                kept.append(finding)
            else:
                silenced.append((finding, match))
        return kept, silenced


def load_scan_config(path: Path) -> ScanConfig:
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanConfigError(source, [Problem("", f"cannot read the file: {exc}")]) from None
    except yaml.YAMLError:
        raise ScanConfigError(source, [Problem("", "not valid YAML")]) from None
    if not isinstance(data, dict):
        raise ScanConfigError(source, [Problem("", "expected a mapping with an `ignore` list")])
    problems: list[Problem] = []
    unknown = set(data) - {"ignore"}
    problems.extend(Problem(f"/{key}", "unknown setting") for key in sorted(unknown, key=str))
    entries = data.get("ignore") or []
    if not isinstance(entries, list):
        problems.append(Problem("/ignore", "expected a list of entries"))
        entries = []
    suppressions = []
    for index, entry in enumerate(entries):
        where = f"/ignore/{index}"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "expected a mapping with rule and justification"))
            continue
        rule = entry.get("rule")
        justification = str(entry.get("justification") or "").strip()
        if rule not in RULES:
            problems.append(Problem(f"{where}/rule", f"unknown rule {rule!r}"))
        if len(justification) < _MIN_JUSTIFICATION:
            problems.append(Problem(f"{where}/justification", "say why this finding is accepted"))
        extra = set(entry) - {"rule", "justification", "path", "method"}
        problems.extend(Problem(f"{where}/{key}", "unknown key") for key in sorted(extra, key=str))
        method = entry.get("method")
        path_glob = entry.get("path")
        if method is not None and not isinstance(method, str):
            problems.append(Problem(f"{where}/method", "expected an HTTP method"))
        if path_glob is not None and not isinstance(path_glob, str):
            problems.append(Problem(f"{where}/path", "expected a path template"))
        if not problems:
            suppressions.append(
                Suppression(str(rule), justification, path_glob, method.upper() if method else None)
            )
    if problems:
        raise ScanConfigError(source, problems)
    return ScanConfig(tuple(suppressions))


def _glob(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", pattern)
    regex = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(regex)
