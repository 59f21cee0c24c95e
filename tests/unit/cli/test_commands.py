"""The CLI as people and scripts use it: init, policy check, clients, keys and audit."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from dataward.cli.main import app
from support import Ran, run_dataward

Dataward = Callable[..., Ran]
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"


@pytest.fixture
def dataward(tmp_path: Path) -> Dataward:
    def run(*args: str | Path) -> Ran:
        return run_dataward(tmp_path, *args)

    return run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def installed(dataward: Dataward, home: Path) -> Path:
    assert dataward("init", "--dir", home).code == 0
    return home


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_command_has_help_with_an_example() -> None:
    root = typer.main.get_command(app)
    runner = CliRunner()

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        if hasattr(command, "list_commands"):  # a group: its subcommands, loaded as they are asked for
            for name in command.list_commands(None):
                found += walk(command.get_command(None, name), [*path, name])
        return found

    commands = walk(root, [])
    assert ["audit", "verify"] in commands and ["keys", "rotate"] in commands  # the walk found them
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"`dataward {' '.join(path)} --help` shows no example"


def test_init_creates_a_private_installation_and_keeps_its_keys(dataward: Dataward, home: Path) -> None:
    first = dataward("init", "--dir", home, "--json")
    assert first.code == 0 and first.json()["keyring_created"] is True
    keyring, database = Path(first.json()["keyring"]), home / "dataward.db"
    assert _mode(keyring) == 0o600 and _mode(database) == 0o600 and _mode(home) == 0o700
    keys = keyring.read_bytes()

    again = dataward("init", "--dir", home, "--json")
    assert again.code == 0 and again.json()["keyring_created"] is False
    assert keyring.read_bytes() == keys  # running init again never replaces the keys


def test_policy_check_names_the_path_and_problem(dataward: Dataward, tmp_path: Path) -> None:
    assert dataward("policy", "check", EXAMPLE).code == 0
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["purposes"]["marketing"]["fields"][1] = "profile.mail"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")

    checked = dataward("policy", "check", broken)
    assert checked.code == 1
    assert "purposes.marketing.fields[1]: unknown field profile.mail" in checked.err
    as_json = dataward("policy", "check", broken, "--json")
    assert as_json.code == 1
    problems = as_json.json()["problems"]
    assert any(
        p["path"] == "purposes.marketing.fields[1]" and p["message"].startswith("unknown field profile.mail")
        for p in problems
    ), problems
    missing = dataward("policy", "check", tmp_path / "absent.yaml")
    assert missing.code != 0 and "cannot read the policy" in missing.err


def test_clients_add_shows_the_secret_once_and_stores_only_its_hash(
    dataward: Dataward, installed: Path
) -> None:
    added = dataward("clients", "add", "mailer", "--role", "newsletter", "--dir", installed, "--json")
    assert added.code == 0
    client = added.json()
    assert client["role"] == "newsletter" and client["client_id"] and len(client["client_secret"]) >= 32

    raw = b"".join(p.read_bytes() for p in installed.glob("dataward.db*"))
    assert client["client_secret"].encode() not in raw
    listed = dataward("clients", "list", "--dir", installed, "--json")
    assert [c["client_id"] for c in listed.json()["clients"]] == [client["client_id"]]
    assert client["client_secret"] not in listed.out

    unknown = dataward("clients", "add", "x", "--role", "superuser", "--dir", installed)
    assert unknown.code != 0 and "superuser" in unknown.err


def test_commands_on_a_missing_installation_say_so(dataward: Dataward, tmp_path: Path) -> None:
    ran = dataward("audit", "verify", "--dir", tmp_path / "nowhere")
    assert ran.code == 2 and "dataward init" in ran.err


def test_keys_rotate_rewraps_and_retire_refuses_the_active_key(dataward: Dataward, installed: Path) -> None:
    rotated = dataward("keys", "rotate", "--dir", installed, "--json")
    assert rotated.code == 0
    assert (rotated.json()["previous_kek"], rotated.json()["active_kek"]) == ("kek-1", "kek-2")

    refused = dataward("keys", "retire", "kek-2", "--dir", installed)
    assert refused.code != 0 and "rotate first" in refused.err
    assert dataward("keys", "retire", "kek-1", "--dir", installed).code == 0


def test_audit_verify_and_export_see_the_cli_s_own_entries(
    dataward: Dataward, installed: Path, tmp_path: Path
) -> None:
    dataward("clients", "add", "mailer", "--role", "newsletter", "--dir", installed)
    dataward("keys", "rotate", "--dir", installed)
    verified = dataward("audit", "verify", "--dir", installed, "--json")
    assert verified.code == 0 and verified.json()["intact"] and verified.json()["entries"] == 2

    exported = tmp_path / "audit.jsonl"
    assert dataward("audit", "export", "--dir", installed, "--output", exported).code == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert [line.count('"seq"') for line in lines] == [1, 1]

    with sqlite3.connect(installed / "dataward.db") as connection:
        connection.execute("update audit_entries set client_id = 'someone-else' where seq = 1")
    tampered = dataward("audit", "verify", "--dir", installed, "--json")
    assert tampered.code == 1
    assert tampered.json()["first_bad_seq"] == 1 and not tampered.json()["intact"]
