"""`dataward rights`: the privacy team's view of data-subject requests, audited as `cli`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.cli._common import DirOption, JsonOption, console, emit, open_vault
from dataward.rights.requests import RequestKind
from dataward.storage import read_connection

app = typer.Typer(
    help="Data-subject requests (Art. 12, 15-21).\n\nExample: dataward rights list --overdue",
    no_args_is_help=True,
)


@app.command("list")
def list_requests(
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open requests past their due date.")
    ] = False,
    every: Annotated[bool, typer.Option("--all", help="Completed and refused requests too.")] = False,
    kind: Annotated[RequestKind | None, typer.Option("--kind", help="Only requests of this kind.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, soonest due first.", min=1)] = 100,
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List open requests, soonest due first: what each asks, its state, when it is due.

    Example: dataward rights list --overdue --kind erasure
    """
    vault = open_vault(directory)
    try:
        scope = "overdue" if overdue else "all" if every else "open"
        vault.audit.record_sync(AuditEvent(AuditAction.RIGHTS_LIST, "cli", Outcome.ALLOWED, reason=scope))
        with read_connection(vault.engine) as connection:
            found = vault.rights.find(
                connection, open_only=not every, overdue=overdue, kind=kind, limit=limit
            )
        now = vault.clock.now()
    finally:
        vault.close()
    if as_json:
        emit(True, {"requests": [r.as_dict(now) for r in found]}, "")
        return
    if not found:
        console.print(f"[green]no {scope} requests[/]")
        return
    table = Table(
        "id", "kind", "subject", "state", "received", "due", title=f"{len(found)} {scope} request(s)"
    )
    for request in found:
        due = request.due_at.date().isoformat()
        table.add_row(
            request.id, request.kind.value, request.subject_id, request.state.value,
            request.received_at.date().isoformat(), f"[red]{due} overdue[/]" if request.overdue(now) else due,
        )  # fmt: skip
    console.print(table)
