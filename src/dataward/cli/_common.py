"""What every command shares: the `--dir` and `--json` options, loading an installation, output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from dataward.services import Vault
from dataward.settings import Settings

__all__ = ["DirOption", "JsonOption", "console", "emit", "err_console", "open_vault", "settings_for"]

console = Console()
err_console = Console(stderr=True)

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="The installation folder (default: $DATAWARD_HOME, else ./.dataward).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON for scripts.")]


def settings_for(directory: Path | None) -> Settings:
    return Settings.load(directory)


def open_vault(directory: Path | None) -> Vault:
    settings = settings_for(directory)
    if not settings.keyring_path.exists():
        err_console.print(f"[red]error:[/] no installation at {settings.home}; run `dataward init` first")
        raise typer.Exit(2)
    return Vault.build(settings)


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """Print `data` as JSON for scripts, or `text` (rich markup) for people."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        console.print(text)
