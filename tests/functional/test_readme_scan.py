"""The README's scanner section, run as written: the vulnerable example API started with one
command, `scan spec` and `scan live` on it, and the reports they write checked. Only the port and
the paths to the commands are adapted."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _blocks(heading: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the section uses curl")
def test_the_readme_scanner_section_writes_the_documented_reports(tmp_path: Path) -> None:
    blocks = _blocks("Auditing an API's spec in CI")
    assert len(blocks) == 2, "the README's scanner section lost its shell blocks"
    port = free_port()
    script = "\n".join(blocks)
    for before, after in (
        ("9100", str(port)),
        (".venv/bin/", f"{BIN}/"),
        (" tests/scan_targets/", f" {ROOT}/tests/scan_targets/"),
    ):
        script = script.replace(before, after)
    # Not `-e`: the first scan exits 1 on purpose (high findings), as the README says.
    session = subprocess.Popen(
        ["bash", "-u", "-c", "trap 'kill %1 2>/dev/null || true' EXIT\n" + script],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"},
    )  # fmt: skip
    try:
        out, err = session.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session.pid, signal.SIGTERM)
    assert "Traceback" not in out + err, err
    assert "API1-SEQUENTIAL-ID" in out and "score 0/100" in out  # the table of the first scan

    sarif = json.loads((tmp_path / "acme-hr.sarif").read_text(encoding="utf-8"))
    found = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"API1-UNPROTECTED-OBJECT", "API8-PLAIN-HTTP", "GDPR-PII-IN-URL"} <= found
    assert "API8-PLAIN-HTTP" in (tmp_path / "acme-hr.html").read_text(encoding="utf-8")
    live = (tmp_path / "acme-hr-live.html").read_text(encoding="utf-8")
    for rule_id in ("API1-BOLA", "API2-FORGED-TOKEN-ACCEPTED", "API8-INJECTION", "API9-SHADOW-ENDPOINT"):
        assert rule_id in live
    tokens = [(tmp_path / f"{name}.jwt").read_text(encoding="utf-8").strip() for name in ("alice", "bob")]
    assert all(token and token not in live for token in tokens)  # the report never holds a token
