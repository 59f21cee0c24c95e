"""`dataward clients suspend` and `reinstate`: audited, shown in `clients list`, and with Redis
configured, the client's live access tokens are cut off on every replica."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataward.audit import AuditAction
from dataward.cli.main import app
from dataward.guard.revocations import RedisRevocations
from dataward.identity import InvalidClient
from dataward.services import Vault
from dataward.settings import Settings
from support import run_dataward


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "vault"
    assert run_dataward(tmp_path, "init", "--dir", home).code == 0
    return home


def _authenticates(home: Path, client_id: str, secret: str) -> bool:
    vault = Vault.build(Settings.load(home, {}))
    try:
        vault.clients.authenticate(client_id, secret)
    except InvalidClient:
        return False
    finally:
        vault.close()
    return True


def test_suspend_and_reinstate_a_client_by_name(home: Path, tmp_path: Path) -> None:
    added = run_dataward(
        tmp_path, "clients", "add", "billing-api", "--role", "billing-service", "--dir", home, "--json"
    )
    client = added.json()
    assert _authenticates(home, client["client_id"], client["client_secret"])

    suspended = run_dataward(
        tmp_path, "clients", "suspend", "billing-api", "--reason", "reads far more than usual", "--dir", home
    )
    assert suspended.code == 0, suspended.err
    assert "suspended" in suspended.out and "DATAWARD_REDIS_URL is not set" in suspended.out
    assert not _authenticates(home, client["client_id"], client["client_secret"])

    listed = run_dataward(tmp_path, "clients", "list", "--dir", home, "--json").json()["clients"]
    assert listed[0]["suspended_reason"] == "reads far more than usual" and listed[0]["suspended_at"]
    assert "reads far more than usual" in run_dataward(tmp_path, "clients", "list", "--dir", home).out

    again = run_dataward(
        tmp_path, "clients", "suspend", client["client_id"], "--reason", "x", "--dir", home, "--json"
    )
    assert again.code == 0 and again.json()["newly_suspended"] is False
    assert again.json()["suspended_reason"] == "reads far more than usual"

    reinstated = run_dataward(tmp_path, "clients", "reinstate", client["client_id"], "--dir", home, "--json")
    assert reinstated.code == 0 and reinstated.json()["reinstated"] is True
    assert _authenticates(home, client["client_id"], client["client_secret"])
    assert (
        "was not suspended"
        in run_dataward(tmp_path, "clients", "reinstate", "billing-api", "--dir", home).out
    )

    vault = Vault.build(Settings.load(home, {}))
    try:
        actions = [(e.action, e.reason) for e in vault.audit.entries(limit=100)]
    finally:
        vault.close()
    assert (AuditAction.CLIENT_SUSPEND, f"{client['client_id']}: reads far more than usual") in actions
    assert [a for a, _ in actions].count(AuditAction.CLIENT_REINSTATE) == 1  # only when something changed


def test_an_unknown_client_or_a_bad_reason_is_an_error(home: Path, tmp_path: Path) -> None:
    unknown = run_dataward(tmp_path, "clients", "suspend", "nobody", "--reason", "x", "--dir", home)
    assert unknown.code == 2 and "no client has that name or id" in unknown.err
    run_dataward(tmp_path, "clients", "add", "billing-api", "--role", "billing-service", "--dir", home)
    bad = run_dataward(tmp_path, "clients", "suspend", "billing-api", "--reason", "two\nlines", "--dir", home)
    assert bad.code == 2 and "one line" in bad.err


def test_with_redis_a_suspension_cuts_off_live_tokens_on_every_replica(
    home: Path, redis_server: str, redis_prefix: str
) -> None:
    env = {
        "DATAWARD_HOME": str(home),
        "DATAWARD_REDIS_URL": redis_server,
        "DATAWARD_REDIS_PREFIX": redis_prefix,
    }
    settings = Settings.load(home, env)
    assert settings.redis_prefix == redis_prefix
    vault = Vault.build(Settings.load(home, {}))
    try:
        client = vault.clients.add("billing-api", "billing-service", vault.policy)
        live = vault.verifier.verify(vault.issuer.issue(vault.clients.list()[0], ["billing"]).access_token)
    finally:
        vault.close()

    runner = CliRunner()
    done = runner.invoke(
        app, ["clients", "suspend", client.id, "--reason", "leaked secret", "--json"], env=env
    )
    assert done.exit_code == 0, done.output
    assert '"live_tokens_cut_off": true' in done.output

    async def revoked() -> bool:
        replica = RedisRevocations(redis_server, vault.clock, prefix=redis_prefix)  # another server's view
        try:
            return await replica.is_revoked(live)
        finally:
            await replica.close()

    assert asyncio.run(revoked())
