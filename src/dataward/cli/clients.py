"""`dataward clients`: register, list, suspend and reinstate API clients, audited as `cli`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from redis import RedisError
from rich.markup import escape
from rich.table import Table

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.cli._common import DirOption, JsonOption, console, emit, err_console, open_vault
from dataward.errors import NotFound
from dataward.guard.revocations import Revocations
from dataward.guard.service import Guard
from dataward.identity import ClientRecord
from dataward.services import Vault

app = typer.Typer(
    help="Register, list, suspend and reinstate API clients.\n\n"
    "Example: dataward clients add billing-api --role billing-service",
    no_args_is_help=True,
)

ClientArgument = Annotated[str, typer.Argument(help="The client's name or id.", metavar="NAME_OR_ID")]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the client, such as billing-api.")],
    role: Annotated[str, typer.Option("--role", help="A role declared in the policy.")],
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a client and print its id and secret. The secret is shown once; only its argon2
    hash is stored.

    Example: dataward clients add billing-api --role billing-service --json
    """
    vault = open_vault(directory)
    try:
        client = vault.clients.add(name, role, vault.policy)
        vault.audit.record_sync(
            AuditEvent(AuditAction.CLIENT_CREATE, "cli", Outcome.ALLOWED, reason=f"{client.id} as {role}")
        )
    finally:
        vault.close()
    emit(
        as_json,
        {"client_id": client.id, "client_secret": client.secret, "name": client.name, "role": client.role},
        f"[green]registered[/] {client.name} (role {client.role})\n"
        f"  client_id     {client.id}\n"
        f"  client_secret {client.secret}\n"
        "[yellow]The secret is shown only now; store it in your secret manager.[/]",
    )


@app.command("list")
def list_clients(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """List registered clients (never their secrets).

    Example: dataward clients list --json
    """
    vault = open_vault(directory)
    try:
        records = vault.clients.list()
    finally:
        vault.close()
    if as_json:
        emit(True, {"clients": [_as_dict(c) for c in records]}, "")
        return
    table = Table("name", "role", "client_id", "suspended")
    for c in records:
        suspended = f"{c.suspended_at:%Y-%m-%d %H:%M}Z: {c.suspended_reason}" if c.suspended_at else ""
        table.add_row(c.name, c.role, c.id, escape(suspended))
    console.print(table)


@app.command("suspend")
def suspend(
    client: ClientArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why, in one line (kept with the client).")],
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suspend a client until a person reinstates it: it gets no new token and refreshes none (its
    refresh tokens are revoked), and its live access tokens are cut off on every replica when
    DATAWARD_REDIS_URL is set; without Redis they live until they expire.

    Example: dataward clients suspend billing-api --reason "reads far more subjects than usual"
    """
    vault = open_vault(directory)
    try:
        record = _find(vault, client)
        newly = vault.clients.suspend(record.id, reason)
        again = "" if newly else " (suspended already; the first reason stays)"
        _audit(vault, AuditAction.CLIENT_SUSPEND, f"{record.id}: {reason}{again}")
        shared, ttl = vault.settings.redis_url is not None, vault.settings.token_ttl_seconds
        if shared:
            _cut_off(vault.revocations, record.id, vault.clock.timestamp())
        record = vault.clients.find(record.id) or record
    finally:
        vault.close()
    name = escape(record.name)
    if shared:
        live = "its live access tokens are cut off on every replica"
    else:
        live = (
            "[yellow]DATAWARD_REDIS_URL is not set, so its live access tokens could not be cut off: "
            f"they stay valid until they expire (within {ttl} s); it gets no new one.[/]"
        )
    emit(
        as_json,
        {**_as_dict(record), "newly_suspended": newly, "live_tokens_cut_off": shared},
        f"[green]suspended[/] {name} ({record.id}){'' if newly else ', again'}: no new tokens, refresh "
        f"tokens revoked; {live}",
    )


@app.command("reinstate")
def reinstate(client: ClientArgument, directory: DirOption = None, as_json: JsonOption = False) -> None:
    """Lift a client's suspension: it may get tokens with its secret again. Refresh tokens revoked by
    the suspension stay revoked.

    Example: dataward clients reinstate billing-api
    """
    vault = open_vault(directory)
    try:
        record = _find(vault, client)
        lifted = vault.clients.reinstate(record.id)
        if lifted:
            _audit(vault, AuditAction.CLIENT_REINSTATE, record.id)
        if vault.settings.redis_url is not None:
            _lift_throttle(vault.guard, record.id)
    finally:
        vault.close()
    name = escape(record.name)
    emit(
        as_json,
        {"client_id": record.id, "name": record.name, "reinstated": lifted},
        f"[green]reinstated[/] {name} ({record.id}): it may get tokens again"
        if lifted
        else f"{name} ({record.id}) was not suspended: nothing to do",
    )


def _find(vault: Vault, name_or_id: str) -> ClientRecord:
    record = vault.clients.find(name_or_id)
    if record is None:
        raise NotFound("no client has that name or id; see `dataward clients list`")
    return record


def _lift_throttle(guard: Guard, client_id: str) -> None:
    """Anomaly response's throttle on the client goes too (shared through Redis; in one process
    without Redis it runs out after the policy's `throttle_minutes`)."""

    async def lift() -> None:
        try:
            await guard.lift(client_id)
        finally:
            await guard.close()  # on the loop that made the connections

    try:
        asyncio.run(lift())
    except (RedisError, OSError):
        err_console.print("[yellow]warning:[/] Redis did not answer: the client's throttle, if any, stays")


def _cut_off(revocations: Revocations, client_id: str, at: float) -> None:
    """Every access token issued to the client up to `at` is dead, on every replica."""

    async def cut() -> None:
        try:
            await revocations.cut_off(client_id, at)
        finally:
            await revocations.close()  # on the loop that made the connection

    try:
        asyncio.run(cut())
    except (RedisError, OSError):
        err_console.print(
            "[red]error:[/] the client is suspended, but Redis did not answer, so its live access "
            "tokens are not cut off yet; run the command again"
        )
        raise typer.Exit(1) from None


def _audit(vault: Vault, action: AuditAction, reason: str) -> None:
    vault.audit.record_sync(AuditEvent(action, "cli", Outcome.ALLOWED, reason=reason[:255]))


def _as_dict(client: ClientRecord) -> dict[str, object]:
    return {
        "client_id": client.id,
        "name": client.name,
        "role": client.role,
        "suspended_at": client.suspended_at.isoformat() if client.suspended_at else None,
        "suspended_reason": client.suspended_reason,
    }
