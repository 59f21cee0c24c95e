"""`dataward clients`: register API clients."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.cli._common import DirOption, JsonOption, console, emit, open_vault

app = typer.Typer(
    help="Register and list API clients.\n\nExample: dataward clients add billing-api --role billing-service",
    no_args_is_help=True,
)


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
        emit(True, {"clients": [{"client_id": c.id, "name": c.name, "role": c.role} for c in records]}, "")
        return
    table = Table("name", "role", "client_id")
    for c in records:
        table.add_row(c.name, c.role, c.id)
    console.print(table)
