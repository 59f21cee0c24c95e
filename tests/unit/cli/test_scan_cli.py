"""`dataward scan spec` as a CI job runs it: formats, output files, exit codes, the config."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from support import run_dataward

VULNERABLE = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "servers": [{"url": "http://shop.example.com"}],
    "paths": {
        "/orders/{id}": {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}


def write_spec(folder: Path) -> Path:
    path = folder / "openapi.yaml"
    path.write_text(yaml.safe_dump(VULNERABLE, sort_keys=False), encoding="utf-8")
    return path


def test_the_table_names_each_finding_and_high_ones_fail_the_build(tmp_path: Path) -> None:
    ran = run_dataward(tmp_path, "scan", "spec", write_spec(tmp_path))
    assert ran.code == 1
    assert "API1-UNPROTECTED-OBJECT" in ran.out and "API8-PLAIN-HTTP" in ran.out
    assert "score " in ran.out and "/100" in ran.out
    assert run_dataward(tmp_path, "scan", "spec", write_spec(tmp_path), "--fail-on", "none").code == 0
    assert run_dataward(tmp_path, "scan", "spec", write_spec(tmp_path), "--fail-on", "critical").code == 0


def test_json_and_sarif_to_files(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    ran = run_dataward(tmp_path, "scan", "spec", spec, "--format", "json", "--fail-on", "none")
    document = ran.json()
    assert document["details"]["title"] == "Shop"
    rules = {f["rule"] for f in document["findings"]}
    assert {"API1-UNPROTECTED-OBJECT", "API1-SEQUENTIAL-ID", "API8-PLAIN-HTTP"} <= rules
    sarif_path = tmp_path / "out.sarif"
    ran = run_dataward(tmp_path, "scan", "spec", spec, "-f", "sarif", "-o", sarif_path)
    assert ran.code == 1 and ran.out == ""
    sarif = json.loads(sarif_path.read_text(encoding="utf-8"))
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == rules
    html_path = tmp_path / "report.html"
    assert run_dataward(tmp_path, "scan", "spec", spec, "-f", "html", "-o", html_path).code == 1
    assert "API1-UNPROTECTED-OBJECT" in html_path.read_text(encoding="utf-8")


def test_the_config_in_the_working_folder_silences_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / ".dataward-scan.yaml").write_text(
        "ignore:\n"
        "  - rule: API1-UNPROTECTED-OBJECT\n    path: /orders/*\n"
        "    justification: orders are public receipts\n"
        "  - rule: API8-PLAIN-HTTP\n    justification: TLS ends at the load balancer in front\n",
        encoding="utf-8",
    )
    ran = run_dataward(tmp_path, "scan", "spec", write_spec(tmp_path), "--format", "json")
    assert ran.code == 0  # nothing high is left
    document = ran.json()
    assert {f["rule"] for f in document["suppressed"]} == {"API1-UNPROTECTED-OBJECT", "API8-PLAIN-HTTP"}
    assert "API1-UNPROTECTED-OBJECT" not in {f["rule"] for f in document["findings"]}


def test_bad_input_exits_2_with_a_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: [", encoding="utf-8")
    ran = run_dataward(tmp_path, "scan", "spec", broken)
    assert ran.code == 2 and "neither YAML nor JSON" in ran.err
    ran = run_dataward(tmp_path, "scan", "spec", tmp_path / "absent.yaml")
    assert ran.code == 2 and "cannot read" in ran.err
    ran = run_dataward(tmp_path, "scan", "spec", write_spec(tmp_path), "--fail-on", "severe")
    assert ran.code == 2 and "unknown severity" in ran.err
    config = tmp_path / "c.yaml"
    config.write_text("ignore:\n  - rule: API8-PLAIN-HTTP\n", encoding="utf-8")
    ran = run_dataward(tmp_path, "scan", "spec", write_spec(tmp_path), "--config", config)
    assert ran.code == 2 and "say why this finding is accepted" in ran.err


def test_scan_live_refuses_malformed_identities_before_any_request(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    base: list[str | Path] = ["scan", "live", "--spec", spec, "--base-url", "http://127.0.0.1:9"]
    ran = run_dataward(tmp_path, *base, "--identity", "alice")
    assert ran.code == 2 and "NAME=TOKEN" in ran.err
    ran = run_dataward(tmp_path, *base, "--identity", f"alice=@{tmp_path / 'absent.jwt'}")
    assert ran.code == 2 and "cannot read" in ran.err
    ran = run_dataward(tmp_path, *base, "--identity", "alice=env:DATAWARD_NOT_SET_ANYWHERE")
    assert ran.code == 2 and "is not set" in ran.err


def test_scan_live_against_nothing_listening_reports_and_exits_cleanly(tmp_path: Path) -> None:
    token = tmp_path / "a.jwt"
    token.write_text("not-a-jwt", encoding="utf-8")
    ran = run_dataward(
        tmp_path, "scan", "live", "--spec", write_spec(tmp_path), "--base-url", "http://127.0.0.1:9",
        "--identity", f"a=@{token}", "--identity", f"b=@{token}", "--format", "json", "--max-seconds", "30",
    )  # fmt: skip
    assert ran.code in (0, 1), ran.err
    assert ran.json()["kind"] == "live" and "not-a-jwt" not in ran.out
