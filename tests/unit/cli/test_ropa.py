"""`dataward ropa`: the records of processing from the installation's policy, in each format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from dataward.policy import load_policy
from support import run_dataward

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"
POLICY = Path(__file__).resolve().parents[1] / "policy" / "data" / "records.yaml"  # frozen for tests
PURPOSES = ["billing", "marketing", "support", "care"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "vault"
    assert run_dataward(tmp_path, "init", "--dir", home, "--policy", POLICY).code == 0
    return home


def test_markdown_is_the_default_and_goes_to_stdout(tmp_path: Path, home: Path) -> None:
    ran = run_dataward(tmp_path, "ropa", "--dir", home)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("# Records of processing activities")
    assert "## Processing activity: marketing" in ran.out
    assert "Example Mail Inc. to US: standard contractual clauses (Art. 46(2)(c))" in ran.out


def test_csv_to_a_file_parses_with_one_row_per_purpose(tmp_path: Path, home: Path) -> None:
    target = tmp_path / "records.csv"
    ran = run_dataward(tmp_path, "ropa", "--dir", home, "--format", "csv", "--output", target)
    assert ran.code == 0 and ran.out == ""  # the file holds the records; stdout stays clean
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["purpose"] for r in rows] == PURPOSES
    assert rows[0]["retention"] == "P10Y" and rows[0]["retention_in_words"] == "10 years"


def test_json_follows_the_installed_policy(tmp_path: Path, home: Path) -> None:
    policy = (home / "dataward.yaml").read_text(encoding="utf-8")
    (home / "dataward.yaml").write_text(
        policy.replace("name: Example SaaS GmbH", "name: Installed Controller AG"), encoding="utf-8"
    )
    ran = run_dataward(tmp_path, "ropa", "--dir", home, "--format", "json")
    assert ran.code == 0, ran.err
    data = json.loads(ran.out)
    assert data["controller"]["name"] == "Installed Controller AG"
    assert [a["purpose"] for a in data["processing_activities"]] == PURPOSES


def test_a_policy_file_can_be_given_without_an_installation(tmp_path: Path) -> None:
    ran = run_dataward(tmp_path, "ropa", "--policy", EXAMPLE, "-f", "csv")
    assert ran.code == 0, ran.err
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert [r["purpose"] for r in rows] == list(load_policy(EXAMPLE).purposes)  # the shipped example


def test_without_an_installation_it_says_what_to_do(tmp_path: Path) -> None:
    ran = run_dataward(tmp_path, "ropa", "--dir", tmp_path / "nowhere")
    assert ran.code == 2
    assert "dataward init" in ran.err and ran.out == ""


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    ran = run_dataward(tmp_path, "ropa", "--policy", EXAMPLE, "--format", "xml")
    assert ran.code == 2 and "xml" in ran.err
