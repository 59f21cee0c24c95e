"""`dataward inventory`: what the gateway saw, against what the spec documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dataward.cli._common import DirOption, JsonOption, console, emit, err_console, open_vault
from dataward.cli.gateway import SpecOption
from dataward.gateway.inventory_html import render_inventory_html
from dataward.gateway.inventory_report import (
    EndpointClass,
    build_inventory,
    inventory_as_json,
    load_endpoint_rows,
)
from dataward.gateway.spec import load_spec

__all__ = ["inventory"]

_STYLE = {
    EndpointClass.SHADOW: "bold red",
    EndpointClass.ZOMBIE: "yellow",
    EndpointClass.ORPHAN: "dim",
    EndpointClass.DOCUMENTED: "green",
}


def inventory(
    spec: SpecOption,
    directory: DirOption = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the report as a self-contained HTML page.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Report each method and path as documented, shadow (called, not in the spec), zombie
    (deprecated, still called) or orphan (in the spec, never called), with first and last seen,
    hits, status codes and whether calls carried a token. Counts come from `dataward gateway`.

    Example: dataward inventory --spec examples/customers_api/openapi.yaml --html inventory.html
    """
    document = load_spec(spec)
    vault = open_vault(directory)
    try:
        report = build_inventory(document, load_endpoint_rows(vault.engine), generated_at=vault.clock.now())
    finally:
        vault.close()
    if html is not None:
        html.write_text(render_inventory_html(report), encoding="utf-8")
        err_console.print(f"wrote {html}")
    if as_json:
        emit(True, inventory_as_json(report), "")
        return
    counts = ", ".join(f"{count} {kind.value}" for kind, count in report.counts.items())
    table = Table("class", "method", "path", "hits", "token", "statuses", "first seen", "last seen",
                  title=f"{report.title} {report.version}: {counts}")  # fmt: skip
    for entry in report.entries:
        statuses = " ".join(f"{code}x{n}" for code, n in entry.statuses.items())
        table.add_row(
            f"[{_STYLE[entry.kind]}]{entry.kind.value}[/]", entry.method, entry.path, str(entry.hits),
            entry.authentication.value, statuses,
            f"{entry.first_seen:%Y-%m-%d %H:%M}" if entry.first_seen else "-",
            f"{entry.last_seen:%Y-%m-%d %H:%M}" if entry.last_seen else "-",
        )  # fmt: skip
    console.print(table)
