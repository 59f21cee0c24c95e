"""`dataward`: the vault's command line."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from dataward import __version__
from dataward.cli._console import err_console
from dataward.errors import DatawardError

__all__ = ["app", "main"]

# name -> the module under dataward.cli that holds it: a command function of the same name, or a
# Typer app of subcommands. Listed in the order `dataward --help` shows them.
_COMMANDS = {"init": "init", "serve": "serve", "ropa": "ropa", "gateway": "gateway", "inventory": "inventory"}
_GROUPS = {
    "policy": "policy", "clients": "clients", "keys": "keys", "audit": "audit",
    "incidents": "incidents", "retention": "retention", "rights": "rights", "scan": "scan",
}  # fmt: skip


class _LazyCommands(TyperGroup):
    """Imports a command's module only when that command runs (or when the help lists it), so that
    `dataward scan spec` in CI does not pay a second for loading the vault, the gateway and the
    web framework it never uses."""

    # `Any`: typer's own copy of click types these, and it is not public API.
    def list_commands(self, ctx: Any) -> list[str]:
        return [*_COMMANDS, *_GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command: Any
        if cmd_name in _GROUPS:
            module = importlib.import_module(f"dataward.cli.{_GROUPS[cmd_name]}")
            command = typer.main.get_group(module.app)  # a group even when it has one command
        elif cmd_name in _COMMANDS:
            module = importlib.import_module(f"dataward.cli.{_COMMANDS[cmd_name]}")
            single = typer.Typer(rich_markup_mode="rich", pretty_exceptions_enable=False)
            single.command(cmd_name)(getattr(module, cmd_name))
            command = typer.main.get_command(single)
        else:
            return None
        command.name = cmd_name
        return command


app = typer.Typer(
    name="dataward",
    cls=_LazyCommands,
    help="Dataward: an encrypted, purpose-bound personal-data vault, a gateway that puts the "
    "same controls in front of an existing API, and a scanner that audits APIs for them."
    "\n\nExample: dataward init && dataward serve",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


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
