"""Walking JSON Schemas inside an OpenAPI document: every subschema, and every named property,
each definition visited once however many times it is referenced (and recursive ones safely)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dataward.pointers import escape_pointer
from dataward.scanner.document import Operation, SpecDocument

__all__ = ["LIST_KEYS", "Property", "properties", "returns_list", "subschemas", "types_of"]

Json = dict[str, Any]

_COMBINATORS = ("allOf", "anyOf", "oneOf")
# Where a page object keeps its items: `{"items": [...], "next_cursor": ...}`.
LIST_KEYS = frozenset({"items", "data", "results", "records", "entries", "content", "values",
                       "list", "elements", "hits", "rows", "objects"})  # fmt: skip
_SINGLE = ("items", "additionalProperties", "not", "contains", "unevaluatedProperties")


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    schema: Json
    pointer: str  # of the property's (resolved) schema
    declared_at: str  # of the property's entry under `properties`
    parent: Json  # the object schema that declares it


def subschemas(document: SpecDocument, schema: Any, pointer: str) -> Iterator[tuple[Json, str]]:
    """`schema` and every schema inside it, `$ref`s followed, each (by its pointer) once."""
    seen: set[str] = set()
    stack = [(schema, pointer)]
    while stack:
        value, at = stack.pop()
        value, at = document.resolve(value, at)
        if not isinstance(value, dict) or at in seen:
            continue
        seen.add(at)
        yield value, at
        children: list[tuple[Any, str]] = []
        for name, child in _mapping(value.get("properties")):
            children.append((child, f"{at}/properties/{escape_pointer(name)}"))
        for key in (*_COMBINATORS, "prefixItems"):
            for index, child in enumerate(value.get(key) or () if isinstance(value.get(key), list) else ()):
                children.append((child, f"{at}/{key}/{index}"))
        for key in _SINGLE:
            if isinstance(value.get(key), dict):
                children.append((value[key], f"{at}/{key}"))
        stack.extend(reversed(children))


def properties(document: SpecDocument, schema: Any, pointer: str) -> Iterator[Property]:
    """Every property declared anywhere in `schema` (nested objects, array items, combinators)."""
    for value, at in subschemas(document, schema, pointer):
        for name, child in _mapping(value.get("properties")):
            declared_at = f"{at}/properties/{escape_pointer(name)}"
            resolved, child_at = document.resolve(child, declared_at)
            if isinstance(resolved, dict):
                yield Property(name, resolved, child_at, declared_at, value)


def types_of(schema: Json) -> set[str]:
    """The JSON types a schema allows by its `type` (3.1 lists and 3.0 `nullable` alike); empty
    when it says nothing."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    return set()


def _mapping(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item


def returns_list(document: SpecDocument, operation: Operation) -> bool:
    """Whether a success answer of `operation` is a list: an array, or a page object with one."""
    for response in operation.responses:
        if not (response.status.startswith("2") or response.status.upper() == "2XX"):
            continue
        for media in response.media:
            schema, _ = document.resolve(media.schema, media.pointer)
            if "array" in types_of(schema):
                return True
            for key, value in (schema.get("properties") or {}).items():
                resolved, _ = document.resolve(value, media.pointer)
                if key.lower() in LIST_KEYS and isinstance(resolved, dict) and "array" in types_of(resolved):
                    return True
    return False
