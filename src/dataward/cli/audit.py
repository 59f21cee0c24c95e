"""`dataward audit`: verify the chain, export it for a SIEM, and size what a client or token touched."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from dataward.audit import AuditAction, AuditEvent, Outcome, verify_log
from dataward.audit.query import AccessWindow, audit_time, touched_by
from dataward.cli._common import DirOption, JsonOption, console, emit, err_console, open_vault, progress_bar
from dataward.cli._sizing import parse_time, print_reach
from dataward.incidents import Sizing
from dataward.incidents.schemas import SizingView
from dataward.incidents.service import exposures
from dataward.storage import read_connection

app = typer.Typer(
    help="Verify and export the tamper-evident audit log.\n\nExample: dataward audit verify --dir ./vault",
    no_args_is_help=True,
)


@app.command("verify")
def verify(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """Check the hash chain, the signed checkpoints and the signed head. Exit 0 when intact;
    exit 1 naming the first entry that was changed, deleted or reordered.

    Example: dataward audit verify --dir ./vault
    """
    vault = open_vault(directory)
    try:
        with progress_bar("verifying the audit chain", vault.audit.count(), disable=as_json) as advance:
            report = verify_log(vault.engine, vault.keyring.audit_verification_keys(), progress=advance)
    finally:
        vault.close()
    data = {
        "intact": report.intact,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "head_seq": report.head_seq,
        "problem": report.problem,
        "first_bad_seq": report.first_bad_seq,
    }
    if report.intact:
        text = (
            f"{report.entries} entries, {report.checkpoints} checkpoint(s), signed head at {report.head_seq}"
        )
        emit(as_json, data, f"[green]intact[/]: {text}")
        return
    emit(as_json, data, f"[red]TAMPERED[/]: {report.problem}")
    raise typer.Exit(1)


@app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    after: Annotated[int, typer.Option(help="Export entries after this sequence number.", min=0)] = 0,
    directory: DirOption = None,
) -> None:
    """Write the audit log as JSON Lines (one entry per line; field names, never values).

    Example: dataward audit export --output audit.jsonl --after 1000
    """
    vault = open_vault(directory)
    count = 0
    try:
        total = vault.audit.count(after=after)
        with (
            output.open("w", encoding="utf-8") if output else nullcontext(sys.stdout) as out,
            progress_bar("exporting audit entries", total, disable=output is None) as advance,
        ):
            for entry in vault.audit.export(after=after):
                out.write(json.dumps(entry.as_dict(), separators=(",", ":")) + "\n")
                count += 1
                advance(1)
    finally:
        vault.close()
    if output:
        err_console.print(f"[green]exported[/] {count} entries to {output}")


@app.command("touched")
def touched(
    start: Annotated[str, typer.Option("--from", help="Start of the window (ISO 8601 with a time zone).")],
    end: Annotated[str, typer.Option("--to", help="End of the window (ISO 8601 with a time zone).")],
    client_id: Annotated[str | None, typer.Option("--client", help="The client's id.")] = None,
    token_id: Annotated[str | None, typer.Option("--token", help="The access token's id (jti).")] = None,
    subject_ids: Annotated[bool, typer.Option("--subjects", help="Also list the subjects' ids.")] = False,
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Size a breach from the audit log: the subjects and fields a client (or a token) reached
    between two times, both included. Refused attempts are counted apart: they reached nothing.
    Give --client, --token or both (a token of that client).

    Example: dataward audit touched --client dw_abc --from 2026-03-01T00:00Z --to 2026-03-02T00:00Z
    """
    window = AccessWindow(client_id, token_id, parse_time("--from", start), parse_time("--to", end))
    who = " ".join(f"{k} {v}" for k, v in (("client", client_id), ("token", token_id)) if v)
    vault = open_vault(directory)
    try:
        with read_connection(vault.engine) as connection:
            reach = touched_by(connection, window, subject_ids=subject_ids)
        vault.audit.record_sync(
            AuditEvent(AuditAction.AUDIT_READ, "cli", Outcome.ALLOWED, reason=f"touched by {who}")
        )
        view = SizingView.of(Sizing(reach, exposures(reach, vault.policy), vault.clock.now()))
    finally:
        vault.close()
    if as_json:
        window_doc = {"client_id": client_id, "token_id": token_id}
        window_doc |= {"window_from": audit_time(window.start), "window_to": audit_time(window.end)}
        emit(True, window_doc | view.model_dump(mode="json"), "")
        return
    console.print(f"{who}, {audit_time(window.start)} to {audit_time(window.end)}", highlight=False)
    print_reach(console, view.affected_subjects, view.fields, view.actions)
    console.print(
        f"{view.entries} entr(ies) reached data; {view.attempts} refused attempt(s) reached nothing"
    )
    if view.subject_ids is not None:
        console.print("\n".join(view.subject_ids), highlight=False)
