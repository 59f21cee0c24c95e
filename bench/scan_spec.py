"""Benchmark: `dataward scan spec` on a generated 1,000-operation OpenAPI document.

The document is generated here (nothing downloaded): 250 resources, each with list, create, read,
update and delete (1,000 operations), shared component schemas with nested objects, `$ref`s,
personal-data fields in several languages, a few flaws planted per resource so that every rule has
work to do. Timed, median of `--repeat` runs, each in a fresh process-level state (the document is
re-read from disk every time):

- baseline: parsing the YAML alone (libyaml's C loader, as the scanner uses);
- the scan: parsing, every rule, lines for every finding (what the command does before printing);
- the whole command, as CI runs it: `dataward scan spec FILE --format sarif -o FILE` in a process
  of its own, Python start-up and imports included.

Target: the whole command under 2 s.

    python bench/scan_spec.py [--operations 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from dataward.scanner.document import parse_document
from dataward.scanner.spec_scan import scan_document

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PERSONAL = ["email", "telefon", "date_of_birth", "nachname", "adresse", "codice_fiscale", "iban",
             "religion", "diagnosis", "password_hash"]  # fmt: skip


def generate(operations: int) -> dict[str, Any]:
    resources = max(1, operations // 5)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for n in range(resources):
        name = f"Thing{n}"
        personal = _PERSONAL[n % len(_PERSONAL)]
        schemas[name] = {
            "type": "object",
            "additionalProperties": n % 3 != 0,
            "properties": {
                "id": {"type": "string", "format": "uuid", "readOnly": True},
                "title": {"type": "string", "maxLength": 200} if n % 2 else {"type": "string"},
                personal: {"type": "string", "maxLength": 100},
                "tags": {"type": "array", "items": {"type": "string", "maxLength": 30}},
                "owner": {"$ref": "#/components/schemas/Owner"},
                "callback_url": {"type": "string", "format": "uri"},
            },
        }
        item = f"/v{1 + n % 2}/things{n}/{{id}}"
        id_schema = {"type": "integer"} if n % 5 == 0 else {"type": "string", "format": "uuid"}
        ref = {"$ref": f"#/components/schemas/{name}"}
        ok = {"description": "ok", "content": {"application/json": {"schema": ref}}}
        listing = {
            "description": "ok",
            "content": {"application/json": {"schema": {"type": "array", "items": ref}}},
        }
        security = [] if n % 50 == 0 else [{"bearer": ["things"]}]
        paths[f"/v{1 + n % 2}/things{n}"] = {
            "get": {"operationId": f"list{n}", "security": security, "responses": {"200": listing}},
            "post": {
                "operationId": f"create{n}",
                "requestBody": {"content": {"application/json": {"schema": ref}}},
                "responses": {"201": ok, "422": {"description": "bad"}},
            },
        }
        paths[item] = {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": id_schema}],
            "get": {"operationId": f"read{n}", "responses": {"200": ok, "404": {"description": "none"}}},
            "put": {
                "operationId": f"update{n}",
                "deprecated": n % 40 == 0,
                "requestBody": {"content": {"application/json": {"schema": ref}}},
                "responses": {"200": ok},
            },
            "delete": {"operationId": f"delete{n}", "responses": {"204": {"description": "gone"}}},
        }
    schemas["Owner"] = {
        "type": "object",
        "properties": {"full_name": {"type": "string"}, "phone": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Generated", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "security": [{"bearer": ["things"]}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": dict(list(paths.items())[: max(1, operations // 2)]) if operations < 4 else paths,
    }


def timed(action: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "openapi.yaml"
        spec.write_text(yaml.safe_dump(generate(args.operations), sort_keys=False), encoding="utf-8")
        size = spec.stat().st_size

        text = spec.read_text(encoding="utf-8")
        parse_s, _ = timed(lambda: yaml.load(text, Loader=_LOADER), args.repeat)  # noqa: S506 - C safe loader
        scan_s, result = timed(
            lambda: scan_document(parse_document(spec.read_text(encoding="utf-8"), str(spec))), args.repeat
        )
        dataward = str(Path(sys.executable).with_name("dataward"))
        command = [dataward, "scan", "spec", str(spec), "--format", "sarif",
                   "--output", str(Path(folder) / "out.sarif"), "--fail-on", "none"]  # fmt: skip
        whole_s, _ = timed(lambda: subprocess.run(command, check=True, capture_output=True), args.repeat)

    operations = result.details["operations"]
    table = Table(
        "step", "median", "x parse", title=f"scan spec: {operations} operations, {size / 1024:.0f} KiB YAML"
    )
    table.add_row("parse the YAML alone (baseline)", f"{parse_s * 1000:.0f} ms", "1.00")
    table.add_row("parse + every rule + lines", f"{scan_s * 1000:.0f} ms", f"{scan_s / parse_s:.2f}")
    table.add_row(
        "the whole command (new process, SARIF out)", f"{whole_s * 1000:.0f} ms", f"{whole_s / parse_s:.2f}"
    )
    console = Console()
    console.print(table)
    counts = ", ".join(f"{n} {label}" for label, n in result.counts().items() if n)
    console.print(f"findings: {len(result.findings)} ({counts}), score {result.score}")
    verdict = "met" if whole_s < 2.0 else "missed"
    console.print(f"target: the whole command under 2 s: {whole_s:.2f} s, {verdict}")


if __name__ == "__main__":
    main()
