"""The README's curl walk-through, run as written against a real `dataward serve`.

The shell blocks of the README section "Walk-through with curl" are run in order in one bash
session (only the port, the installation folder and the path to the `dataward` command are
adapted, and the line where a person types the one-time code from the server's console reads it
from the server's log instead); each answer is checked against what the README says it is.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Where the README has a person type in the code that `dataward serve` printed on its console.
TYPE_THE_CODE = re.compile(r"^read -r -p 'code: ' CODE\b.*$", flags=re.M)


def _walkthrough_script() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Walk-through with curl", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 4, "the README walk-through lost its shell blocks"
    return "\n".join(blocks)


def _read_code_from(log: Path, nth: int) -> str:
    """A shell command that waits for the `nth` one-time code the console notifier writes to the
    server's log (it sends from a thread of its own, so the code may follow the 202 answer) and
    sets CODE to it; it fails when no such code appears within ten seconds."""
    codes = (
        r"sed -n 's/^dataward: one-time code for [a-z]* .*: \([0-9A-Za-z]*\) (expires in .*/\1/p' "
        f"{shlex.quote(str(log))} | sed -n '{nth}p'"
    )
    wait = f'for _ in $(seq 100); do CODE=$({codes}); [ -n "$CODE" ] && break; sleep 0.1; done'
    return f'{wait}; [ -n "$CODE" ]'


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_gives_the_documented_answers(
    readme_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, home = readme_server
    script = (
        _walkthrough_script()
        .replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        .replace("export DATAWARD_HOME=.dataward", f"export DATAWARD_HOME={home}")
        .replace(".venv/bin/", f"{BIN}/")
    )
    assert TYPE_THE_CODE.search(script), "the README no longer has the subject type in a code"
    sign_ins = iter(range(1, 100))
    script = TYPE_THE_CODE.sub(lambda _: _read_code_from(tmp_path / "serve.log", next(sign_ins)), script)
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
    assert len(answers) == 23, result.stdout

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

    _check_the_rights_part(answers[9:22], lines, tmp_path)

    intact = [line for line in lines if line.startswith("intact:")]
    documented = re.search(r"# (intact: .*)", _walkthrough_script())
    assert documented is not None and intact == [documented.group(1)], result.stdout
    exported = json.loads(lines[-1])
    assert exported == answers[-1]
    assert exported["action"] == "rights:report:read" and exported["client_id"] == "self-service"
    assert exported["fields"] == ["profile.country", "profile.full_name"] and exported["reason"] == "access"
    assert "Grace" not in lines[-1] and "example.com" not in lines[-1].lower()


def _check_the_rights_part(answers: list[Any], lines: list[str], folder: Path) -> None:
    """The answers of "A data subject exercises their rights", in the README's order."""
    (
        written, report, rectified, restricted, support_restricted, disputes, objected, not_objectable,
        asked, approved, support_erased, invoicing, report_after,
    ) = answers  # fmt: skip
    grace = written["id"]
    profile = {"country": "US", "email": "grace@example.com", "full_name": "Grace Hopper"}
    assert written["fields"] == ["country", "email", "full_name", "phone"]

    assert report["subject_id"] == grace
    assert report["data"] == {"profile": {**profile, "phone": "+12025550143"}}
    assert (report["withheld"], report["restricted"], report["consent"]) == ([], False, [])
    assert {"controller", "purposes", "recipients", "retention", "rights"} <= report["information"].keys()
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Grace Hopper" in page
    header = next(i for i, line in enumerate(lines) if line.startswith("File Name"))  # python3 -m zipfile -l
    listing = lines[header + 1 :]
    names = [line.split()[0] for line in listing[:2]]
    assert names == ["data.json", "profile.csv"] and listing[2].startswith("{"), listing[:3]
    with zipfile.ZipFile(folder / "export.zip") as archive:
        assert sorted(archive.namelist()) == names
        assert json.loads(archive.read("data.json"))["data"] == report["data"]

    mine = {"subject_id": grace, "state": "completed", "channel": "self_service"}
    assert rectified["kind"] == "rectification" and rectified.items() >= mine.items()
    assert rectified["details"] == {"fields": ["profile.full_name"], "notices": 0}
    assert "handler" not in rectified and "approver" not in rectified  # the team stays out of sight

    assert restricted["kind"] == "restriction" and restricted.items() >= mine.items()
    _all_withheld(support_restricted, "support", "restricted")
    renamed = {**profile, "full_name": "Grace Brewster Hopper", "phone": "+12025550143"}
    assert disputes["purpose"] == "disputes" and disputes["data"] == {"profile": renamed}

    assert objected["kind"] == "objection" and objected.items() >= mine.items()
    assert objected["details"] == {"purposes": ["marketing"], "notices": 0}
    assert not_objectable["status"] == 422 and not_objectable["detail"] == "the objection is not valid"
    assert [e["message"] for e in not_objectable["errors"]] == ["billing is not a purpose one can object to"]

    assert asked["kind"] == "erasure" and asked["state"] == "awaiting_approval"
    assert approved["id"] == asked["id"] and approved["state"] == "completed"
    assert approved["approver"].startswith("dw_") and approved["handler"] is None
    assert approved["details"] == {
        "removed": ["profile.email", "profile.phone"],
        "kept": ["profile.country", "profile.full_name"],
        "kept_for": ["invoicing"],
        "notices": 0,
    }
    _all_withheld(support_erased, "support", "erased")
    assert invoicing["purpose"] == "invoicing" and invoicing["data"] == {}
    kept = {w["field"]: w["reason"] for w in invoicing["withheld"] if w["reason"] != "not_in_purpose"}
    assert kept == {"profile.full_name": "restricted", "profile.country": "restricted"}
    assert report_after["data"] == {"profile": {"country": "US", "full_name": "Grace Brewster Hopper"}}
    assert report_after["restricted"] is True


def _all_withheld(answer: Any, purpose: str, reason: str) -> None:
    """Nothing returned, and every profile field withheld for `reason`."""
    assert answer["purpose"] == purpose and answer["data"] == {}, answer
    profile = {w["field"]: w["reason"] for w in answer["withheld"] if w["field"].startswith("profile.")}
    fields = {"profile.email", "profile.full_name", "profile.phone", "profile.birth_date", "profile.country"}
    assert profile == dict.fromkeys(fields, reason)
