"""What every command shares: the `--dir` and `--json` options, loading an installation, output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dataward.cli._console import console, err_console
from dataward.net import is_loopback
from dataward.services import Vault
from dataward.settings import Settings

__all__ = [
    "DirOption",
    "JsonOption",
    "check_listening",
    "console",
    "emit",
    "err_console",
    "open_vault",
    "progress_bar",
    "settings_for",
]


DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="The installation folder (default: $DATAWARD_HOME, else ./.dataward).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON for scripts.")]


def check_listening(host: str, tls_cert: Path | None, tls_key: Path | None, insecure: bool) -> None:
    """Refuse (exit 2) half a TLS configuration, and plain HTTP on an address off this machine
    unless `--insecure` says a TLS-terminating proxy stands in front."""
    if (tls_cert is None) != (tls_key is None):
        err_console.print("[red]error:[/] give both --tls-cert and --tls-key, or neither")
        raise typer.Exit(2)
    if tls_cert is None and not insecure and not is_loopback(host):
        err_console.print(
            f"[red]error:[/] refusing to carry personal data over plain HTTP on {host}; "
            "give --tls-cert/--tls-key, or --insecure behind a TLS-terminating proxy"
        )
        raise typer.Exit(2)


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


@contextmanager
def progress_bar(label: str, total: int, *, disable: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for `total` items; yields the function that advances it by n."""
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err_console, disable=disable or total == 0,
    ) as progress:  # fmt: skip
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)
