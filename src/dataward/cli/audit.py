"""`dataward audit`: verify the chain and export it for a SIEM."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from dataward.audit import verify_log
from dataward.cli._common import DirOption, JsonOption, emit, err_console, open_vault, progress_bar

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
