"""How much one call may cost (API4): unbounded inputs, list operations without a page size
limit, and operations that declare no rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dataward.scanner.document import Operation
from dataward.scanner.findings import Finding
from dataward.scanner.schemas import returns_list, subschemas, types_of
from dataward.scanner.spec_rules._context import Context
from dataward.scanner.words import is_page_size

__all__ = ["CHECKS", "bounded_page_size", "input_schemas"]

# Formats whose values have a bounded length by definition.
_BOUNDED_FORMATS = frozenset({"uuid", "date", "date-time", "time", "ipv4", "ipv6", "int32", "int64",
                              "byte-length", "duration", "hostname"})  # fmt: skip
_RATE_HEADERS = frozenset({"ratelimit", "ratelimit-policy", "ratelimit-limit", "ratelimit-remaining",
                           "x-ratelimit-limit", "x-ratelimit-remaining", "x-rate-limit-limit",
                           "x-rate-limit-remaining", "retry-after"})  # fmt: skip


def input_schemas(ctx: Context, operation: Operation) -> Iterator[tuple[dict[str, Any], str]]:
    """Every schema a caller's input is checked against: parameters and request bodies."""
    for parameter in operation.parameters:
        yield from subschemas(ctx.document, parameter.schema, parameter.pointer)
    for body in operation.bodies:
        yield from subschemas(ctx.document, body.schema, body.pointer)


def unbounded_inputs(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        for schema, pointer in input_schemas(ctx, operation):
            if schema.get("readOnly") is True or "enum" in schema or "const" in schema:
                continue
            types = types_of(schema)
            if (
                "string" in types
                and "maxLength" not in schema
                and schema.get("format") not in _BOUNDED_FORMATS
            ):
                yield ctx.finding(
                    "API4-STRING-NO-MAXLENGTH", f"a string input of {operation.label} has no maxLength",
                    pointer, operation,
                )  # fmt: skip
            if "array" in types and "maxItems" not in schema:
                yield ctx.finding(
                    "API4-ARRAY-NO-MAXITEMS", f"an array input of {operation.label} has no maxItems",
                    pointer, operation,
                )  # fmt: skip
            if types & {"integer", "number"} and not ({"maximum", "exclusiveMaximum"} & schema.keys()):
                yield ctx.finding(
                    "API4-NUMBER-UNBOUNDED", f"a numeric input of {operation.label} has no maximum",
                    pointer, operation,
                )  # fmt: skip


def bounded_page_size(operation: Operation) -> bool:
    return any(
        p.location == "query"
        and is_page_size(p.name)
        and ({"maximum", "exclusiveMaximum", "enum"} & p.schema.keys())
        for p in operation.parameters
    )


def pagination(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        if (
            operation.method == "GET"
            and returns_list(ctx.document, operation)
            and not bounded_page_size(operation)
        ):
            yield ctx.finding(
                "API4-LIST-NO-PAGINATION",
                f"{operation.label} returns a list and takes no page size with a maximum",
                operation.pointer,
                operation,
            )


def rate_limits(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        declared = any(r.status == "429" or _RATE_HEADERS & r.headers.keys() for r in operation.responses)
        if not declared:
            yield ctx.finding(
                "API4-NO-RATE-LIMIT",
                f"{operation.label} declares no 429 answer and no rate-limit headers",
                operation.pointer,
                operation,
            )


CHECKS = (unbounded_inputs, pagination, rate_limits)
