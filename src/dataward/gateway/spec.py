"""The upstream API's OpenAPI 3.0 or 3.1 document, read once at start-up into plain typed objects.

The gateway enforces what the document says, so a document it cannot read exactly is refused with
every problem named by its JSON pointer, rather than half-enforced. References are resolved here
(see `_refs`), so routing, validation and minimisation never follow a `$ref` per request.

Dataward's extensions: `x-dataward-purpose` (on an operation or its path item: the purpose, or
list of purposes, a caller may name to use it) and `x-pii` (on a response schema property: the
policy field `collection.field` it holds, or `true` for personal data tied to no policy field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dataward.errors import Problem
from dataward.gateway._refs import REF_BASE
from dataward.gateway.errors import SpecError

__all__ = [
    "HTTP_METHODS",
    "REF_BASE",
    "Dialect",
    "Operation",
    "Parameter",
    "RequestBody",
    "Response",
    "SecurityRequirement",
    "Server",
    "Spec",
    "is_json_media_type",
    "load_spec",
    "parse_spec",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Dialect = Literal["3.0", "3.1"]


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    description: str | None
    base_path: str  # the URL's path with variables at their defaults, no trailing slash: "/api/v1"


@dataclass(frozen=True, slots=True)
class SecurityRequirement:
    """One way in: every scheme named, each with the scopes it must carry. An empty one lets
    anyone in (how OpenAPI spells "authentication optional")."""

    schemes: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True, eq=False)
class Parameter:
    name: str
    location: str  # "path", "query", "header" or "cookie" (OpenAPI's `in`)
    required: bool
    schema: Mapping[str, Any]  # {} when the parameter declares none (or uses `content`)
    explode: bool  # for arrays in the query: `?tag=a&tag=b` (true, the default) or `?tag=a,b`
    pointer: str


@dataclass(frozen=True, slots=True, eq=False)
class RequestBody:
    required: bool
    content: Mapping[str, Mapping[str, Any] | None]  # media type (lower case) -> schema, if declared
    pointer: str


@dataclass(frozen=True, slots=True, eq=False)
class Response:
    status: str  # "200", "2XX" or "default"
    json_schema: Mapping[str, Any] | None  # the schema of its JSON media type, if it has one
    pointer: str


@dataclass(frozen=True, slots=True, eq=False)
class Operation:
    method: str  # upper case
    path: str  # the template, as in the document: "/customers/{id}"
    operation_id: str | None
    deprecated: bool
    security: tuple[SecurityRequirement, ...]  # alternatives; () means public
    purposes: tuple[str, ...]  # x-dataward-purpose; () when none is declared
    parameters: tuple[Parameter, ...]
    request_body: RequestBody | None
    responses: Mapping[str, Response]
    pointer: str  # "/paths/~1customers~1{id}/get"

    @property
    def public(self) -> bool:
        """Anyone may call it: no requirement at all, or an empty one among the alternatives."""
        return not self.security or any(not r.schemes for r in self.security)

    def response_for(self, status: int) -> Response | None:
        """The declared response for a status: exact code first, then its range (`2XX`), then `default`."""
        responses = self.responses
        return responses.get(str(status)) or responses.get(f"{status // 100}XX") or responses.get("default")


@dataclass(frozen=True, slots=True, eq=False)
class Spec:
    source: str
    openapi: str  # "3.1.0"
    dialect: Dialect
    title: str
    version: str
    servers: tuple[Server, ...]
    operations: tuple[Operation, ...]
    security_schemes: Mapping[str, Mapping[str, Any]]
    recursive_schemas: Mapping[str, Mapping[str, Any]]  # pointer -> schema, for residual `$ref`s
    _by_key: dict[tuple[str, str], Operation] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {(op.method, op.path): op for op in self.operations})

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation for a method and a path template exactly as the document writes it."""
        return self._by_key.get((method.upper(), path))

    def schema_for_ref(self, ref: str) -> Mapping[str, Any] | None:
        """The schema a residual `$ref` (one that closes a recursive schema) stands for."""
        prefix = f"{REF_BASE}#"
        return self.recursive_schemas.get(ref[len(prefix) :]) if ref.startswith(prefix) else None


def is_json_media_type(media_type: str) -> bool:
    """`application/json` and its structured-syntax relatives (`application/problem+json`)."""
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))


def load_spec(path: Path) -> Spec:
    """Read an OpenAPI document (YAML or JSON) from a file; raise `SpecError` naming every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SpecError(str(path), [Problem("", f"cannot read the document: {reason}")]) from None
    return parse_spec(text, source=str(path))


def parse_spec(text: str, source: str = "<openapi>") -> Spec:
    """Read an OpenAPI document from YAML or JSON text; raise `SpecError` naming every problem."""
    from dataward.gateway._reader import read_spec  # noqa: PLC0415 - it builds the classes above

    return read_spec(text, source)
