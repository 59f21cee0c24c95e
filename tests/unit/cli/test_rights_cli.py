"""`dataward rights list`: the privacy team's open and overdue requests, from the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dataward.rights.requests import Channel, RequestKind
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import write_transaction
from support import run_dataward


def test_rights_list_shows_open_and_overdue_requests(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_dataward(tmp_path, "init", "--dir", home).code == 0
    vault = Vault.build(Settings.load(home, {}))
    try:
        with write_transaction(vault.engine) as connection:
            sid = vault.subjects.create(connection)
            late = vault.rights.open(
                connection, RequestKind.ERASURE, sid, Channel.TEAM, "alice",
                received_at=vault.clock.now() - timedelta(days=45),
            )  # fmt: skip
            fresh = vault.rights.open(connection, RequestKind.ACCESS, sid, Channel.TEAM, "alice")
    finally:
        vault.close()

    listed = run_dataward(tmp_path, "rights", "list", "--dir", home, "--json")
    assert listed.code == 0, listed.err
    assert [r["id"] for r in listed.json()["requests"]] == [late.id, fresh.id]  # soonest due first
    overdue = run_dataward(tmp_path, "rights", "list", "--dir", home, "--overdue", "--json").json()
    assert [(r["id"], r["overdue"]) for r in overdue["requests"]] == [(late.id, True)]
    table = run_dataward(tmp_path, "rights", "list", "--dir", home, "--overdue")
    assert "overdue" in table.out and late.id in table.out and fresh.id not in table.out
    erasures = run_dataward(tmp_path, "rights", "list", "--dir", home, "--kind", "access", "--json").json()
    assert [r["kind"] for r in erasures["requests"]] == ["access"]
