"""Dataward scans itself: `scan spec` on the vault's own OpenAPI document reports nothing at high
severity, with the repository's `.dataward-scan.yaml` (every accepted finding justified)."""

from __future__ import annotations

import json
from pathlib import Path

from dataward.app import create_app
from dataward.services import Vault
from support import run_dataward

ROOT = Path(__file__).resolve().parents[2]


def test_the_vaults_own_spec_has_nothing_high(vault: Vault, tmp_path: Path) -> None:
    spec = tmp_path / "vault-openapi.json"
    spec.write_text(json.dumps(create_app(vault).openapi()), encoding="utf-8")
    ran = run_dataward(
        tmp_path,
        "scan",
        "spec",
        spec,
        "--config",
        ROOT / ".dataward-scan.yaml",
        "--format",
        "json",
        "--fail-on",
        "high",
    )
    report = ran.json()
    high = [
        f"{f['rule']} {f['operation']}" for f in report["findings"] if f["severity"] in ("high", "critical")
    ]
    assert high == [] and ran.code == 0
    assert report["details"]["operations"] > 40  # the whole API was read
    # Each silenced finding is one the config names with its reason, not a blanket pass.
    assert {f["rule"] for f in report["suppressed"]} <= {"API2-NO-SECURITY", "API3-MASS-ASSIGNMENT"}
    assert all(f["justification"] for f in report["suppressed"])
    # Without the config the two public-by-design operations are reported: the scanner sees them.
    bare = run_dataward(tmp_path, "scan", "spec", spec, "--format", "json", "--fail-on", "none").json()
    assert {f["operation"] for f in bare["findings"] if f["rule"] == "API2-NO-SECURITY"} == {
        "POST /v1/me/challenges",
        "GET /metrics",
    }
