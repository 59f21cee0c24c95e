"""Validation problems in words that never repeat what the client sent.

jsonschema's own messages quote the instance (`'ada@example.org' is too long`), and a request body
is personal data: it must not reach a response, a log line or an audit entry. So each message is
built from the schema alone (the keyword, its value from the spec, the location). Object keys in a
location are shown only when they look like identifiers; a key that could itself be data (a map
keyed by e-mail address) is shown as `*`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]

__all__ = ["describe", "location", "type_words"]

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$")
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_MAX_SHOWN = 10  # enum values listed before "..."


def type_words(types: object, *, nullable: bool = False) -> str:
    names = [types] if isinstance(types, str) else list(types) if isinstance(types, list) else []
    words = [_TYPE_WORDS.get(str(t), str(t)) for t in names]
    if nullable and "null" not in names:
        words.append("null")
    return " or ".join(words) if words else "of another type"


def location(prefix: str, path: Iterable[object], sep: str = "/") -> str:
    """`body/items/0/email`: indices as numbers, keys when they look like identifiers, else `*`."""
    out = prefix
    for part in path:
        shown = str(part) if isinstance(part, int) or _IDENTIFIER.match(str(part)) else "*"
        out += f"{sep}{shown}"
    return out


def describe(error: ValidationError, prefix: str) -> Iterator[tuple[str, str]]:
    """(location, message) for one jsonschema error."""
    path = list(error.absolute_path)
    keyword = error.validator
    value: Any = error.validator_value
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    if keyword == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance]
        for name in missing:
            yield location(prefix, [*path, name]), "required property is missing"
        return
    if keyword == "additionalProperties" and isinstance(instance, dict):
        yield from _additional(instance, schema, path, prefix)
        return
    if keyword in ("anyOf", "oneOf") and error.context:
        best = best_match(error.context)
        if best is not None:
            yield from describe(best, prefix)
            return
    yield location(prefix, path), _message(keyword, value, schema, error)


def _additional(
    instance: Mapping[str, Any], schema: Mapping[str, Any], path: Sequence[object], prefix: str
) -> Iterator[tuple[str, str]]:
    declared = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    hidden = False
    for key in instance:
        if key in declared or any(p.search(key) for p in patterns):
            continue
        if _IDENTIFIER.match(key):
            yield location(prefix, [*path, key]), "property not allowed"
        else:
            hidden = True
    if hidden:
        yield location(prefix, path), "has a property that is not allowed (its name is not shown)"


def _message(keyword: str | None, value: Any, schema: Mapping[str, Any], error: ValidationError) -> str:  # noqa: PLR0911, PLR0912 - one case per keyword reads best
    if keyword is None:
        return "nothing is allowed here"
    if keyword == "type":
        return f"must be {type_words(value, nullable=schema.get('nullable') is True)}"
    if keyword == "enum":
        shown = ", ".join(json.dumps(v) for v in list(value)[:_MAX_SHOWN])
        return f"must be one of: {shown}{', ...' if len(value) > _MAX_SHOWN else ''}"
    if keyword == "const":
        return f"must be {json.dumps(value)}"
    if keyword == "format":
        return f"must be a valid {value}"
    if keyword == "pattern":
        return f"must match the pattern {value}"
    if keyword in ("minLength", "maxLength"):
        return f"must be at {_bound(keyword)} {_count(value, 'character')} long"
    if keyword in ("minItems", "maxItems"):
        return f"must have at {_bound(keyword)} {_count(value, 'item')}"
    if keyword in ("minProperties", "maxProperties"):
        return f"must have at {_bound(keyword)} {_count(value, 'property', 'properties')}"
    if keyword in ("minimum", "maximum"):
        exclusive = schema.get(f"exclusive{keyword.capitalize()}") is True  # the Draft 4 spelling
        bound = (
            ("greater than" if exclusive else "at least")
            if keyword == "minimum"
            else ("less than" if exclusive else "at most")
        )
        return f"must be {bound} {value}"
    if keyword == "exclusiveMinimum":
        return f"must be greater than {value}"
    if keyword == "exclusiveMaximum":
        return f"must be less than {value}"
    if keyword == "multipleOf":
        return f"must be a multiple of {value}"
    if keyword == "uniqueItems":
        return "must not repeat an item"
    if keyword == "oneOf":
        return (
            "matches more than one of the allowed shapes"
            if not error.context
            else "matches none of the allowed shapes"
        )
    if keyword == "anyOf":
        return "matches none of the allowed shapes"
    if keyword == "not":
        return "matches a shape that is not allowed"
    if keyword == "contains":
        return "has no item of the required shape"
    if keyword in ("unevaluatedProperties", "propertyNames"):
        return "has a property that is not allowed (its name is not shown)"
    if keyword in ("unevaluatedItems", "items", "additionalItems"):  # only a `false` schema says so
        return "has more items than allowed"
    if keyword in ("dependentRequired", "dependencies"):
        return "a property that is present needs another that is missing"
    return f"is not valid ({keyword})"


def _bound(keyword: str) -> str:
    return "least" if keyword.startswith("min") else "most"


def _count(value: object, one: str, many: str | None = None) -> str:
    return f"{value} {one if value == 1 else many or one + 's'}"
