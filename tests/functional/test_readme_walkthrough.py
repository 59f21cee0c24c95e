"""The README's curl walk-through, run as written against a real `dataward serve`.

The shell blocks of the README section "Walk-through with curl" are run in order in one bash
session (only the port, the installation folder and the path to the `dataward` command are
adapted); each answer is checked against what the README says it is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _walkthrough_script() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Walk-through with curl", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 4, "the README walk-through lost its shell blocks"
    return "\n".join(blocks)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    home = tmp_path / "home"
    env = {**os.environ, "DATAWARD_HOME": str(home), "DATAWARD_LOG_LEVEL": "WARNING"}
    env.pop("DATAWARD_DATABASE_URL", None)
    subprocess.run([BIN / "dataward", "init"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [BIN / "dataward", "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "dataward serve did not start"
                time.sleep(0.1)
        yield port, home
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_gives_the_documented_answers(server: tuple[int, Path], tmp_path: Path) -> None:
    port, home = server
    script = (
        _walkthrough_script()
        .replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        .replace("export DATAWARD_HOME=.dataward", f"export DATAWARD_HOME={home}")
        .replace(".venv/bin/", f"{BIN}/")
    )
    # One answer per line: end each curl command (and its continuation lines) with a newline.
    script = re.sub(r"^(curl (?:.*\\\n)*.*)$", r"\1; echo", script, flags=re.M)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    answers: list[Any] = [json.loads(line) for line in lines if line.startswith("{")]

    written, billing, marketing_before, refused, _, marketing_during, _, marketing_after, found = answers[:9]
    assert written["fields"] == ["birth_date", "country", "email", "full_name", "phone"]
    assert billing["data"] == {
        "profile": {"email": "Ada@Example.com", "full_name": "Ada Lovelace", "country": "GB"}
    }
    assert {w["field"] for w in billing["withheld"]} == {
        "profile.phone",
        "profile.birth_date",
        "health.allergies",
    }
    assert marketing_before["data"] == {}
    assert {"field": "profile.email", "reason": "no_consent"} in marketing_before["withheld"]
    assert refused["status"] == 403
    assert refused["detail"] == "role billing-service may not use purpose marketing"
    assert marketing_during["data"] == {"profile": {"email": "Ada@Example.com", "full_name": "Ada Lovelace"}}
    assert {"field": "profile.email", "reason": "consent_withdrawn"} in marketing_after["withheld"]
    assert found["ids"] == [written["id"]]
    intact = [line for line in lines if line.startswith("intact:")]
    documented = re.search(r"# (intact: .*)", _walkthrough_script())
    assert documented is not None and intact == [documented.group(1)], result.stdout
    exported = json.loads(lines[-1])
    assert exported["action"] == "subject:subject:lookup"
    assert "Ada" not in lines[-1] and "example.com" not in lines[-1].lower()
