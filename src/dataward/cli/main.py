"""`dataward`: the vault's command line."""

from __future__ import annotations

import typer
from rich.markup import escape

from dataward import __version__
from dataward.cli import (
    audit,
    clients,
    gateway,
    incidents,
    init,
    inventory,
    keys,
    policy,
    retention,
    rights,
    ropa,
    scan,
    serve,
)
from dataward.cli._common import err_console
from dataward.errors import DatawardError

__all__ = ["app", "main"]

app = typer.Typer(
    name="dataward",
    help="Dataward: an encrypted, purpose-bound personal-data vault, a gateway that puts the "
    "same controls in front of an existing API, and a scanner that audits APIs for them."
    "\n\nExample: dataward init && dataward serve",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("init")(init.init)
app.command("serve")(serve.serve)
app.command("ropa")(ropa.ropa)
app.command("gateway")(gateway.gateway)
app.command("inventory")(inventory.inventory)
app.add_typer(policy.app, name="policy")
app.add_typer(clients.app, name="clients")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(incidents.app, name="incidents")
app.add_typer(retention.app, name="retention")
app.add_typer(rights.app, name="rights")
app.add_typer(scan.app, name="scan")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dataward {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Dataward: an encrypted, purpose-bound personal-data vault."""


def main() -> None:
    try:
        app()
    except DatawardError as exc:
        err_console.print(f"[red]error:[/] {escape(exc.detail)}", highlight=False)
        for problem in exc.extensions.get("errors", []):
            err_console.print(f"  {escape(problem['path'])}: {escape(problem['message'])}", highlight=False)
        raise SystemExit(2) from None
