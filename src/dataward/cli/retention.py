"""`dataward retention`: erase what no purpose justifies any more."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dataward.cli._common import DirOption, JsonOption, console, emit, open_vault

app = typer.Typer(
    help="Retention sweeps.\n\nExample: dataward retention run --dry-run",
    no_args_is_help=True,
)


@app.command("run")
def run(
    directory: DirOption = None,
    as_json: JsonOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what a sweep would erase.")] = False,
) -> None:
    """Erase every field value whose retention ran out for every purpose that uses it; the sweep is
    recorded in the audit log. `dataward serve` runs the same sweep on a schedule.

    Example: dataward retention run --dir ./vault
    """
    vault = open_vault(directory)
    try:
        report = vault.sweep_retention("cli", dry_run=dry_run)
    finally:
        vault.close()
    if as_json:
        emit(True, report.as_dict(), "")
        return
    verb = "would erase" if dry_run else "erased"
    table = Table(
        "field", verb, title=f"retention sweep: {report.total} value(s) of {report.subjects} subject(s)"
    )
    for path, count in sorted(report.removed.items()):
        table.add_row(path, str(count))
    console.print(table if report.total else "[green]nothing is past its retention[/]")
