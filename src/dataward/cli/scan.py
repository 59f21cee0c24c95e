"""`dataward scan`: audit an API for OWASP API Top 10 and GDPR problems, from its spec or live."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dataward.cli._console import console, err_console
from dataward.scanner.findings import Severity
from dataward.scanner.live.client import Budget
from dataward.scanner.live.context import Identity
from dataward.scanner.live_scan import ALL_PROBES, WITH_SCHEMATHESIS, scan_live
from dataward.scanner.report_html import render_scan_html
from dataward.scanner.reports import to_json, to_sarif
from dataward.scanner.results import ScanResult
from dataward.scanner.spec_scan import load_document, scan_document
from dataward.scanner.suppressions import ScanConfig, load_scan_config

__all__ = ["app"]

app = typer.Typer(
    help="Audit an API for OWASP API Security Top 10 (2023) and GDPR problems, from its spec or live."
    "\n\nExample: dataward scan spec openapi.yaml --format sarif --output dataward.sarif",
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


@app.command("live")
def live(
    spec: Annotated[
        str, typer.Option("--spec", help="The API's OpenAPI document: a file or an http(s) URL.")
    ],
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where the API runs, e.g. http://127.0.0.1:9100.")
    ],
    identity: Annotated[
        list[str],
        typer.Option(
            "--identity",
            help="NAME=TOKEN, NAME=@FILE or NAME=env:VARIABLE; give two ordinary identities for the "
            "object-level checks. Prefer @FILE or env: (a token on the command line is visible to "
            "other users of the machine).",
        ),
    ],
    allow_destructive: Annotated[
        bool,
        typer.Option(
            "--allow-destructive", help="Also send POST, PUT, PATCH and DELETE (objects are changed)."
        ),
    ] = False,
    schemathesis: Annotated[
        bool,
        typer.Option(
            "--schemathesis",
            help="Also check schema conformance with Schemathesis (GET operations; the "
            "dataward[schemathesis] extra).",
        ),
    ] = False,
    max_requests: Annotated[int, typer.Option(help="Stop after this many requests.", min=1)] = 2000,
    max_seconds: Annotated[float, typer.Option(help="Stop after this many seconds.", min=1)] = 300.0,
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
    fail_on: FailOnOption = "high",
    config: ConfigOption = None,
) -> None:
    """Probe a running API: broken object-level authorisation between two identities, forged,
    expired and query-string tokens, admin functions, mass assignment, excessive exposure, rate
    limits, injection, user enumeration, shadow endpoints and server errors. Bounded by
    --max-requests and --max-seconds; reads only, unless --allow-destructive. Run it against a test
    deployment, never production.

    Example: dataward scan live --spec openapi.yaml --base-url http://127.0.0.1:9100
    --identity alice=@alice.jwt --identity bob=env:BOB_TOKEN
    """
    threshold = _threshold(fail_on)
    settings = _config(config)
    identities = [_identity(text) for text in identity]
    document = load_document(spec)
    with console_progress() as step:
        result = scan_live(
            document, base_url, identities, allow_destructive=allow_destructive,
            budget=Budget(max_requests, max_seconds), config=settings, progress=step,
            probes=WITH_SCHEMATHESIS if schemathesis else ALL_PROBES,
        )  # fmt: skip
    _report(result, output_format, output)
    notes = result.details.get("notes")
    for note in notes if isinstance(notes, list) else []:
        err_console.print(f"[yellow]note:[/] {escape(str(note))}")
    if result.fails(threshold):
        raise typer.Exit(1)


def _identity(text: str) -> Identity:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value:
        err_console.print("[red]error:[/] --identity takes NAME=TOKEN, NAME=@FILE or NAME=env:VARIABLE")
        raise typer.Exit(2)
    if value.startswith("@"):
        try:
            value = Path(value[1:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            err_console.print(
                f"[red]error:[/] --identity {escape(name)}: cannot read {escape(value[1:])}: {exc.strerror}"
            )
            raise typer.Exit(2) from None
    elif value.startswith("env:"):
        variable = value[4:]
        value = os.environ.get(variable, "").strip()
        if not value:
            err_console.print(f"[red]error:[/] --identity {escape(name)}: ${escape(variable)} is not set")
            raise typer.Exit(2)
    return Identity(name.strip(), value)


@contextmanager
def console_progress() -> Iterator[Callable[[str], None]]:
    """A spinner on standard error naming the probe that runs."""
    with err_console.status("starting") as status:
        yield lambda label: status.update(f"probing: {label}")


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
