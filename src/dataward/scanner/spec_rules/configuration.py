"""How the API is deployed and published: URLs it may be made to fetch (API7), transport, error
answers and CORS (API8), and what the spec still lists that should be gone (API9)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from dataward.scanner.findings import Finding, Severity
from dataward.scanner.schemas import properties, types_of
from dataward.scanner.spec_rules._context import Context
from dataward.scanner.words import is_internal_path, is_url_name, version_of

__all__ = ["CHECKS"]

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_URL_FORMATS = frozenset({"uri", "url", "iri", "uri-reference", "iri-reference"})
# A pattern that pins the scheme and a literal host: `^https://hooks\.example\.com/`.
_PINNED = re.compile(r"^\^https\??://[A-Za-z0-9]")


def url_inputs(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        candidates: list[tuple[str, dict[str, Any], str]] = [
            (p.name, p.schema, p.pointer) for p in operation.parameters
        ]
        for body in operation.bodies:
            candidates.extend(
                (prop.name, prop.schema, prop.declared_at)
                for prop in properties(ctx.document, body.schema, body.pointer)
            )
        for name, schema, pointer in candidates:
            is_url = is_url_name(name) or schema.get("format") in _URL_FORMATS
            if not is_url or not ("string" in types_of(schema) or not types_of(schema)):
                continue
            if "enum" in schema or "const" in schema or _PINNED.match(str(schema.get("pattern", ""))):
                continue
            yield ctx.finding(
                "API7-URL-PARAMETER",
                f"`{name}` of {operation.label} takes any URL: the server may be made to call it",
                pointer,
                operation,
                evidence={"key": name},
            )


def transport(ctx: Context) -> Iterator[Finding]:
    servers = ctx.document.servers
    if not servers:
        yield ctx.finding("API9-NO-SERVERS", "the document declares no servers", "")
    for url, pointer in servers:
        parts = urlsplit(url)
        if parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK:
            yield ctx.finding("API8-PLAIN-HTTP", f"server {url} is plain HTTP", pointer)


def error_answers(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        statuses = {r.status.upper() for r in operation.responses}
        if "DEFAULT" in statuses:
            continue
        missing = []
        client_errors = "4XX" in statuses
        if operation.secured and not client_errors:
            missing += [s for s in ("401", "403") if s not in statuses]
        takes_input = bool(operation.parameters or operation.bodies)
        if takes_input and not client_errors and not ({"400", "422"} & statuses):
            missing.append("400/422")
        if not any(s.startswith("5") for s in statuses):
            missing.append("5xx")
        if missing:
            yield ctx.finding(
                "API8-ERROR-RESPONSES",
                f"{operation.label} declares no {', '.join(missing)} answer",
                f"{operation.pointer}/responses",
                operation,
            )


def cors(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        for response in operation.responses:
            origin = response.headers.get("access-control-allow-origin")
            if origin is None or "*" not in _declared_values(origin[0]):
                continue
            credentials = response.headers.get("access-control-allow-credentials")
            with_credentials = credentials is not None and (
                {True, "true"} & set(_declared_values(credentials[0]))
            )
            yield ctx.finding(
                "API8-PERMISSIVE-CORS",
                f"{operation.label} allows any origin" + (", with credentials" if with_credentials else ""),
                origin[1],
                operation,
                severity=Severity.HIGH if with_credentials else None,
            )


def _declared_values(schema: dict[str, Any]) -> list[Any]:
    values = list(schema.get("enum") or [])
    for key in ("const", "default", "example"):
        if key in schema:
            values.append(schema[key])
    examples = schema.get("examples")
    if isinstance(examples, list):
        values.extend(examples)
    return values


def inventory(ctx: Context) -> Iterator[Finding]:
    versions = {v for o in ctx.operations if (v := version_of(o.path)) is not None}
    newest = max(versions, default=None)
    for operation in ctx.operations:
        if operation.deprecated:
            yield ctx.finding(
                "API9-DEPRECATED", f"{operation.label} is deprecated and still published",
                operation.pointer, operation,
            )  # fmt: skip
        if word := is_internal_path(operation.path):
            yield ctx.finding(
                "API9-INTERNAL-PATH",
                f"{operation.label} looks internal (`{word}`) and is in the published spec",
                operation.pointer,
                operation,
            )
        version = version_of(operation.path)
        if version is not None and newest is not None and version < newest:
            yield ctx.finding(
                "API9-OLD-VERSION",
                f"{operation.label} belongs to version {version}; version {newest} is published too",
                operation.pointer,
                operation,
            )


CHECKS = (url_inputs, transport, error_answers, cors, inventory)
