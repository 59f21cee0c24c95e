"""`dataward ropa`: the records of processing activities (GDPR Art. 30), derived from the policy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dataward.cli._common import DirOption, err_console, settings_for
from dataward.policy import load_policy
from dataward.policy.records import RecordsFormat, build_records, render_records


def ropa(
    fmt: Annotated[
        RecordsFormat, typer.Option("--format", "-f", help="md for people, csv for a spreadsheet, json.")
    ] = RecordsFormat.MARKDOWN,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="A policy file to use instead of the installation's.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    directory: DirOption = None,
) -> None:
    """Print the records of processing activities (Art. 30(1)): controller and DPO, one activity per
    purpose with its legal basis, data subjects, data categories, recipients, third-country transfers
    and retention, and the security measures.

    Example: dataward ropa --dir ./vault --format csv --output records.csv
    """
    path = policy_file or settings_for(directory).policy_path
    if not path.exists():
        err_console.print(f"[red]error:[/] no policy at {escape(str(path))}; run `dataward init` first")
        raise typer.Exit(2)
    text = render_records(build_records(load_policy(path)), fmt)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8", newline="")
    err_console.print(f"[green]wrote[/] the records of processing to {escape(str(output))}")
