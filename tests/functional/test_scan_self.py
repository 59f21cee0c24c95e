"""Dataward scans itself: `scan spec` on the vault's own OpenAPI document reports nothing at high
severity, with the repository's `.dataward-scan.yaml` (every accepted finding justified)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

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


def _client_token(base: str, home: Path, name: str) -> str:
    client = run_dataward(
        home.parent, "clients", "add", name, "--role", "support-agent", "--dir", home, "--json"
    )
    assert client.code == 0, client.err
    credentials = client.json()
    form = {"grant_type": "client_credentials", "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"], "scope": "support"}  # fmt: skip
    answer = httpx.post(f"{base}/oauth/token", data=form, timeout=10)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def test_a_live_scan_of_a_running_vault_with_two_identities_finds_nothing_high(
    readme_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, home = readme_server
    base = f"http://127.0.0.1:{port}"
    for name in ("alice", "bob"):  # tokens in files: never on a command line
        (tmp_path / f"{name}.jwt").write_text(_client_token(base, home, f"scan-{name}"), encoding="utf-8")
    ran = run_dataward(
        tmp_path, "scan", "live", "--spec", f"{base}/openapi.json", "--base-url", base,
        "--identity", f"alice=@{tmp_path / 'alice.jwt'}", "--identity", f"bob=@{tmp_path / 'bob.jwt'}",
        "--allow-destructive", "--config", ROOT / ".dataward-scan.yaml",
        "--format", "json", "--fail-on", "high",
    )  # fmt: skip
    report = ran.json()
    high = [f"{f['rule']} {f['operation']}: {f['message']}" for f in report["findings"]
            if f["severity"] in ("high", "critical")]  # fmt: skip
    assert high == [] and ran.code == 0, high
    assert report["details"]["requests"] > 50  # the probes really ran
    assert report["details"]["identities"] == ["alice", "bob"]
