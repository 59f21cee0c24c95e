"""The README's gateway section, run as written: the example API and `dataward gateway` started with
one command each, in front of a real `dataward serve` for tokens, and every curl answer checked.

The section's shell blocks run in one bash session after the walk-through's first block (which
defines `client` and `token`); only ports, the installation folder and the path to the commands
are adapted."""

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
_CELL = r"[\s│]+"  # between the cells of a rich table


def _blocks(heading: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_readme_gateway_section_gives_the_documented_answers(
    readme_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, home = readme_server
    api, gateway = free_port(), free_port()
    gateway_blocks = _blocks("The gateway in front of an existing API")
    assert len(gateway_blocks) == 6, "the README's gateway section lost its shell blocks"
    script = "\n".join([_blocks("Walk-through with curl")[0], *gateway_blocks])
    for before, after in (
        ("127.0.0.1:8000", f"127.0.0.1:{port}"),
        ("127.0.0.1:9000", f"127.0.0.1:{api}"),
        ("--port 9000", f"--port {api}"),
        ("127.0.0.1:8080", f"127.0.0.1:{gateway}"),
        ("export DATAWARD_HOME=.dataward", f"export DATAWARD_HOME={home}"),
        (".venv/bin/", f"{BIN}/"),
        (" examples/customers_api/", f" {ROOT}/examples/customers_api/"),
    ):
        script = script.replace(before, after)
    # Stop both servers whatever happens, and show where each answer ends.
    script = "trap 'kill %1 %2 2>/dev/null || true' EXIT\n" + script
    # A session of its own: whatever happens, the servers it started are stopped with it.
    session = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"},
    )  # fmt: skip
    try:
        out, err = session.communicate(timeout=180)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session.pid, signal.SIGTERM)
    assert session.returncode == 0, err + out
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    problems = [json.loads(line) for line in lines if line.startswith("{")]

    assert lines[0] == "200"  # the shadow endpoint, straight from the API
    shadow, invalid = problems
    assert shadow["status"] == 404 and shadow["type"] == "urn:dataward:problem:shadow-endpoint"
    assert invalid["status"] == 400 and invalid["type"] == "urn:dataward:problem:invalid-request"
    assert invalid["errors"] == [{"path": "body/is_admin", "message": "property not allowed"}]
    assert "eve@example.com" not in json.dumps(invalid)

    headers = {
        k.lower(): v for k, _, v in (line.partition(": ") for line in lines if line.startswith("x-dataward"))
    }
    assert headers["x-dataward-removed"] == "date_of_birth, phone"
    assert (
        float(headers["x-dataward-proxy-latency"]) > 0 and float(headers["x-dataward-upstream-latency"]) > 0
    )

    assert "200 200 200 200 200 200 200 200 200 200 429" in lines, "\n".join(lines)
    report = "\n".join(lines)
    for kind, path in (
        ("shadow", "/internal/debug/customers"),  # with a valid token: "all" calls authenticated
        ("zombie", "/v1/customers/{customer_id}/legacy"),
        ("orphan", "/v1/customers/{customer_id}"),  # PATCH was never called
        ("documented", "/v1/customers"),
    ):
        assert re.search(rf"{kind}{_CELL}[A-Z]+{_CELL}{re.escape(path)}{_CELL}", report), (kind, report)
    shadow_row = _CELL.join(["shadow", "GET", "/internal/debug/customers", "1", "all", "404x1"])
    assert re.search(shadow_row, report), report
    page = (tmp_path / "inventory.html").read_text(encoding="utf-8")
    assert "/internal/debug/customers" in page and "<script" not in page
