"""What every live probe is given: the spec, the client, the identities, and one way to make a
finding; and how a request to an operation is built from its spec (sample values by schema)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from dataward.scanner.catalogue import rule
from dataward.scanner.document import Operation, SpecDocument
from dataward.scanner.findings import Finding, Location, Severity
from dataward.scanner.live.client import Answer, LiveClient
from dataward.scanner.schemas import types_of
from dataward.scanner.words import is_admin_path, is_login_path

__all__ = [
    "Identity",
    "LiveContext",
    "Probe",
    "b64url",
    "decode_segment",
    "encode_segment",
    "fill_path",
    "jwt_claims",
    "sample_value",
]

_PARAMETER = re.compile(r"\{([^}]+)\}")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    token: str

    @property
    def claims(self) -> dict[str, Any]:
        return jwt_claims(self.token) or {}


def jwt_claims(token: str) -> dict[str, Any] | None:
    """A JWT's payload, unverified (what the probes forge from), or None when it is not a JWT."""
    parts = token.split(".")
    return decode_segment(parts[1]) if len(parts) == 3 else None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_segment(value: dict[str, Any]) -> str:
    """A JWT header or payload segment."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def decode_segment(segment: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class LiveContext:
    document: SpecDocument
    client: LiveClient
    identities: list[Identity]
    allow_destructive: bool = False
    notes: list[str] = field(default_factory=list)  # what a probe could not do, for the report

    @property
    def operations(self) -> list[Operation]:
        return [o for o in self.document.operations if not o.is_callback]

    def may_call(self, operation: Operation) -> bool:
        """Writes only with `--allow-destructive`; logins are reads for this purpose."""
        return operation.method not in WRITES or self.allow_destructive or is_login_path(operation.path)

    def is_admin(self, operation: Operation) -> bool:
        return is_admin_path(operation.path, operation.operation_id, operation.tags)

    def finding(
        self,
        rule_id: str,
        message: str,
        operation: Operation | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        severity: Severity | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> Finding:
        pointer = operation.pointer if operation else ""
        where = Location(
            pointer=pointer,
            line=self.document.line_of(pointer) if pointer else None,
            method=operation.method if operation else method,
            path=operation.path if operation else path,
        )
        return Finding(rule(rule_id), message, where, severity, evidence or {})

    # -- building requests from the spec ----------------------------------------------------------

    def call(
        self,
        operation: Operation,
        identity: Identity | None,
        *,
        path_values: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        token: str | None = None,
        timeout: float | None = None,
    ) -> Answer:
        """Call `operation` with sample values where none are given; `token` overrides the identity's."""
        values = {p.name: sample_value(p.schema) for p in operation.path_parameters}
        values.update(path_values or {})
        params = {
            p.name: sample_value(p.schema)
            for p in operation.parameters
            if p.location == "query" and p.required
        }
        params.update(query or {})
        if body is None and operation.bodies:
            body = sample_value(operation.bodies[0].schema, self.document)
        return self.client.request(
            operation.method,
            fill_path(operation.path, values),
            token=token if token is not None else (identity.token if identity else None),
            params=params or None,
            json=body,
            timeout=timeout,
        )

    def reads(self) -> Iterator[Operation]:
        """GET operations, in document order."""
        return (o for o in self.operations if o.method == "GET")


def fill_path(template: str, values: dict[str, Any]) -> str:
    return _PARAMETER.sub(lambda m: quote(str(values.get(m.group(1), "1")), safe=""), template)


_FORMATS = {"date": "2000-01-01", "date-time": "2000-01-01T00:00:00Z", "email": "scan@example.com",
            "uri": "https://example.com/", "url": "https://example.com/"}  # fmt: skip
_NONE = object()


def sample_value(schema: dict[str, Any], document: SpecDocument | None = None, depth: int = 0) -> Any:
    """A plausible valid value for `schema`: its example or default, the first of its enum, else
    one built from its type and bounds (objects with their required properties)."""
    if document is not None:
        schema, _ = document.resolve(schema, "")
    declared = _declared(schema)
    if declared is not _NONE:
        return declared
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key] and depth < 5:
            return sample_value(schema[key][0], document, depth + 1)
    types = types_of(schema) - {"null"}
    if types & {"integer", "number"}:
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return max(1, int(low) + (1 if "exclusiveMinimum" in schema else 0))
    if types & {"boolean", "array"}:
        return False if "boolean" in types else []
    if "object" in types or "properties" in schema:
        required = schema.get("required") or []
        return {
            name: sample_value(value, document, depth + 1)
            for name, value in (schema.get("properties") or {}).items()
            if name in required and isinstance(value, dict) and depth < 4 and document is not None
        }
    fmt = str(schema.get("format"))
    text = str(uuid.uuid4()) if fmt == "uuid" else _FORMATS.get(fmt, "dataward")
    return text[: schema["maxLength"]] if isinstance(schema.get("maxLength"), int) else text


def _declared(schema: dict[str, Any]) -> Any:
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    return _NONE


Probe = Callable[[LiveContext], Iterable[Finding]]
