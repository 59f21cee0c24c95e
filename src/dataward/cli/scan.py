"""`dataward scan`: audit an API for OWASP API Top 10 and GDPR problems, from its spec or live."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dataward.cli._console import console, err_console
from dataward.scanner.findings import Severity
from dataward.scanner.report_html import render_scan_html
from dataward.scanner.reports import to_json, to_sarif
from dataward.scanner.results import ScanResult
from dataward.scanner.spec_scan import load_document, scan_document
from dataward.scanner.suppressions import ScanConfig, load_scan_config

__all__ = ["app"]

app = typer.Typer(
    help="Audit an API for OWASP API Security Top 10 (2023) and GDPR problems.\n\n"
    "Example: dataward scan spec openapi.yaml --format sarif --output dataward.sarif",
    no_args_is_help=True,
)

DEFAULT_CONFIG = Path(".dataward-scan.yaml")
_STYLE = {Severity.CRITICAL: "bold white on red", Severity.HIGH: "bold red", Severity.MEDIUM: "yellow",
          Severity.LOW: "cyan", Severity.INFO: "dim"}  # fmt: skip


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    HTML = "html"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table (the terminal), json, sarif (code scanning) or html.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report to this file instead of standard output."),
]
FailOnOption = Annotated[
    str,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding at or above this severity remains: critical, high, medium, low, "
        "info, or none.",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=f"Findings to silence, each with a justification (default: {DEFAULT_CONFIG} if present).",
    ),
]


@app.command("spec")
def spec(
    source: Annotated[str, typer.Argument(metavar="FILE_OR_URL", help="The OpenAPI 2.0/3.0/3.1 document.")],
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
    fail_on: FailOnOption = "high",
    config: ConfigOption = None,
) -> None:
    """Audit an OpenAPI document (YAML or JSON, a file or an http(s) URL): every finding with its
    rule, OWASP category, GDPR article, severity, place (JSON pointer and line) and fix, and a score
    from 0 to 100. Exit code 1 when a finding at or above --fail-on remains, 2 when the document or
    the config cannot be read.

    Example: dataward scan spec openapi.yaml --format sarif --output dataward.sarif --fail-on high
    """
    threshold = _threshold(fail_on)
    settings = _config(config)
    result = scan_document(load_document(source), settings)  # unreadable: exit 2, see cli.main
    _report(result, output_format, output)
    if result.fails(threshold):
        raise typer.Exit(1)


def _threshold(text: str) -> Severity | None:
    if text.strip().lower() == "none":
        return None
    try:
        return Severity.parse(text)
    except ValueError as exc:
        err_console.print(f"[red]error:[/] --fail-on: {escape(str(exc))}, or none")
        raise typer.Exit(2) from None


def _config(path: Path | None) -> ScanConfig:
    if path is None:
        return load_scan_config(DEFAULT_CONFIG) if DEFAULT_CONFIG.is_file() else ScanConfig()
    return load_scan_config(path)


def _report(result: ScanResult, output_format: Format, output: Path | None) -> None:
    if output_format is Format.TABLE:
        if output is None:
            _table(result, console)
        else:
            with output.open("w", encoding="utf-8") as handle:
                _table(result, Console(file=handle, width=160, no_color=True))
            err_console.print(f"wrote {output}")
        return
    if output_format is Format.HTML:
        text = render_scan_html(result)
    else:
        document = to_json(result) if output_format is Format.JSON else to_sarif(result)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")
    _summary(result, err_console)


def _table(result: ScanResult, out: Console) -> None:
    table = Table("severity", "rule", "where", "finding", title=f"{result.target}", title_justify="left")
    for finding in result.findings:
        where = finding.location
        place = where.operation or where.pointer or "/"
        if where.line is not None:
            place += f"\nline {where.line}"
        level = finding.level
        table.add_row(
            f"[{_STYLE[level]}]{level.label}[/]",
            escape(finding.rule.id),
            escape(place),
            escape(finding.message),
        )
    if result.findings:
        out.print(table)
    _summary(result, out)


def _summary(result: ScanResult, out: Console) -> None:
    counts = ", ".join(f"{n} {label}" for label, n in result.counts().items() if n)
    silenced = f"; {len(result.suppressed)} silenced by the config" if result.suppressed else ""
    out.print(f"score {result.score}/100 - {counts or 'no findings'}{silenced}", highlight=False)
