"""Strict request validation against the operation the router found.

Everything is compiled once, when the gateway starts: one jsonschema validator per parameter and
per JSON media type, so a request pays only for walking its own data. OpenAPI 3.1 schemas are
JSON Schema 2020-12; 3.0 schemas get Draft 4 semantics plus `nullable` (which lets `null` through
`type`, and nothing else, as OpenAPI 3.0.3 says). Formats are checked, and 3.0's `int32`/`int64`
ranges too: a gateway that lets an overflow through is not strict.

What is checked: path and declared query and header parameters (required, type, and every
keyword of their schema; a single-valued one sent twice, which different servers resolve
differently), the content type against the declared media types, a required body, and a JSON body
against its schema. Undeclared query parameters pass: clients add cache busters and tracking
parameters, and refusing them breaks more than it protects. JSON is parsed strictly: duplicate
keys (the gateway would see one value, the upstream perhaps the other), `NaN` and `Infinity`,
and anything but UTF-8 are refused.

Problems are `dataward.errors.Problem`s, ready for `InvalidRequest(detail, problems)`: a path
(`query.limit`, `path.id`, `header.content-type`, `body/items/0/email`) and a message that never
contains the submitted value (see `_messages`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jsonschema  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT4, DRAFT202012

from dataward.errors import Problem
from dataward.gateway._messages import describe, type_words
from dataward.gateway.errors import SpecError
from dataward.gateway.spec import REF_BASE, Operation, Parameter, Spec, is_json_media_type

__all__ = ["MAX_PROBLEMS", "RequestValidator"]

MAX_PROBLEMS = 20  # enough to fix a request; more only feeds whoever is fuzzing the API
_MAX_QUERY_FIELDS = 1000
_INTEGER = re.compile(r"^-?(0|[1-9][0-9]{0,30})$")
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_IGNORED_HEADERS = ("accept", "content-type", "authorization")


@dataclass(frozen=True, slots=True, eq=False)
class _Param:
    name: str
    where: str  # "path.id"
    required: bool
    types: tuple[str, ...]  # of the value, or of each item for an array
    array: bool
    explode: bool
    validator: Any  # a jsonschema validator, or None when the parameter declares no schema


@dataclass(frozen=True, slots=True, eq=False)
class _CompiledOperation:
    path: tuple[_Param, ...]
    query: tuple[_Param, ...]
    headers: tuple[_Param, ...]
    body_declared: bool
    body_required: bool
    media: Mapping[str, Any]  # declared media type -> its validator, or None (any body)
    media_list: str  # for messages: "application/json, text/plain"


class RequestValidator:
    """Compiled from a spec once; `validate` is safe to call from any number of tasks at once.
    Raises `SpecError` when a schema in the spec is not a valid JSON Schema."""

    def __init__(self, spec: Spec) -> None:
        self._problems: list[Problem] = []
        self._validator_class = _validator_class(spec.dialect)
        self._registry = _registry(spec)
        self._format_checker = _format_checker()
        self._compiled: dict[tuple[str, str], _CompiledOperation] = {}
        self._seen: dict[int, Any] = {}
        for operation in spec.operations:
            self._compiled[(operation.method, operation.path)] = self._compile(operation)
        if self._problems:
            raise SpecError(spec.source, self._problems)

    def validate(
        self,
        operation: Operation,
        *,
        path_params: Mapping[str, str],
        query_string: str = "",
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        body: bytes = b"",
    ) -> list[Problem]:
        """Every problem with the request, at most `MAX_PROBLEMS`; [] when it may pass.

        `path_params` as the router decoded them, `query_string` raw (without `?`), `headers`
        with lower-case names, `body` the raw bytes (b"" for none).
        """
        compiled = self._compiled[(operation.method, operation.path)]
        problems: list[Problem] = []
        for param in compiled.path:
            value = path_params.get(param.name)
            _check_values(param, [] if value is None else [value], problems)
        if compiled.query:
            _check_query(compiled, query_string, problems)
        if compiled.headers:
            present = headers or {}
            for param in compiled.headers:
                value = present.get(param.name.lower())
                _check_values(param, [] if value is None else [value], problems)
        _check_body(compiled, content_type, body, problems)
        return _unique(problems)[:MAX_PROBLEMS]

    # -- compiling -------------------------------------------------------------------------------

    def _compile(self, operation: Operation) -> _CompiledOperation:
        def located(location: str) -> tuple[_Param, ...]:
            return tuple(self._param(p) for p in operation.parameters if p.location == location)

        body = operation.request_body
        media: dict[str, Any] = {}
        if body is not None:
            for media_type, schema in body.content.items():
                usable = schema is not None and is_json_media_type(media_type)
                media[media_type] = (
                    self._validator(schema, body.pointer) if schema is not None and usable else None
                )
        # OpenAPI says header parameters named Accept, Content-Type or Authorization are ignored.
        headers = tuple(p for p in located("header") if p.name.lower() not in _IGNORED_HEADERS)
        return _CompiledOperation(
            path=located("path"),
            query=located("query"),
            headers=headers,
            body_declared=body is not None,
            body_required=body is not None and body.required,
            media=media,
            media_list=", ".join(media) or "none",
        )

    def _param(self, parameter: Parameter) -> _Param:
        schema = parameter.schema
        array = schema.get("type") == "array" or (
            isinstance(schema.get("type"), list) and "array" in schema["type"]
        )
        typed = schema.get("items", {}) if array else schema
        raw_types = typed.get("type") if isinstance(typed, Mapping) else None
        types = (raw_types,) if isinstance(raw_types, str) else tuple(raw_types or ())
        where = f"{parameter.location}.{parameter.name}"
        if "object" in types:
            # `style: deepObject` and friends arrive as `filter[name]=...`, not under the
            # parameter's own name: pass them rather than refuse what is well formed.
            return _Param(parameter.name, where, False, (), False, parameter.explode, None)
        return _Param(
            name=parameter.name,
            where=where,
            required=parameter.required,
            types=tuple(t for t in types if t != "null"),
            array=array,
            explode=parameter.explode,
            validator=self._validator(schema, f"{parameter.pointer}/schema") if schema else None,
        )

    def _validator(self, schema: Mapping[str, Any], pointer: str) -> Any:
        cached = self._seen.get(id(schema))
        if cached is not None:
            return cached
        try:
            self._validator_class.check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            self._problems.append(
                Problem(pointer, f"not a valid schema{f' at {where}' if where else ''}: {exc.message}")
            )
            return None
        validator = self._validator_class(
            schema, registry=self._registry, format_checker=self._format_checker
        )
        self._seen[id(schema)] = validator
        return validator


# -- per request ---------------------------------------------------------------------------------


def _check_query(compiled: _CompiledOperation, query_string: str, problems: list[Problem]) -> None:
    try:
        pairs = parse_qsl(
            query_string.removeprefix("?"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=_MAX_QUERY_FIELDS,
        )
    except UnicodeDecodeError:
        problems.append(Problem("query", "is not valid UTF-8 once decoded"))
        return
    except ValueError:
        problems.append(Problem("query", f"has more than {_MAX_QUERY_FIELDS} parameters"))
        return
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    for param in compiled.query:
        _check_values(param, values.get(param.name, []), problems)


def _check_values(param: _Param, raw: list[str], problems: list[Problem]) -> None:
    if not raw:
        if param.required:
            problems.append(Problem(param.where, "required parameter is missing"))
        return
    if not param.array:
        if len(raw) > 1:
            problems.append(Problem(param.where, "must be given once"))
            return
        value = _coerce(raw[0], param)
        if value is _INVALID:
            problems.append(Problem(param.where, f"must be {type_words(list(param.types))}"))
            return
    else:
        items = raw if param.explode else [v for part in raw for v in part.split(",")]
        value = [_coerce(item, param) for item in items]
        if any(item is _INVALID for item in value):
            problems.append(Problem(param.where, f"each item must be {type_words(list(param.types))}"))
            return
    if param.validator is not None:
        for error in param.validator.iter_errors(value):
            for where, message in describe(error, param.where):
                problems.append(Problem(where, message))


_INVALID = object()


def _coerce(text: str, param: _Param) -> object:
    """The text of a parameter as the first of its declared types it can be; strings by default."""
    if not param.types:
        return text
    for kind in param.types:
        if kind == "integer" and _INTEGER.match(text):
            return int(text)
        if kind == "number" and _NUMBER.match(text):
            number = float(text)
            if math.isfinite(number):
                return int(text) if _INTEGER.match(text) else number
        if kind == "boolean" and text in ("true", "false"):
            return text == "true"
        if kind == "string":
            return text
    return _INVALID


def _check_body(
    compiled: _CompiledOperation, content_type: str | None, body: bytes, problems: list[Problem]
) -> None:
    if not body:
        if compiled.body_required:
            problems.append(Problem("body", "a request body is required"))
        return
    if not compiled.body_declared:
        problems.append(Problem("body", "this operation takes no request body"))
        return
    if not content_type:
        problems.append(Problem("header.content-type", "is missing"))
        return
    essence = content_type.split(";", 1)[0].strip().lower()
    declared = _declared_media(compiled.media, essence)
    if declared is None:
        problems.append(Problem("header.content-type", f"must be one of: {compiled.media_list}"))
        return
    if is_json_media_type(essence):
        _check_json(compiled.media[declared], body, problems)


def _check_json(validator: Any, body: bytes, problems: list[Problem]) -> None:
    document = _parse_json(body, problems)
    if document is _INVALID or validator is None:
        return
    try:
        for error in validator.iter_errors(document):
            for where, message in describe(error, "body"):
                problems.append(Problem(where, message))
            if len(problems) >= MAX_PROBLEMS:
                break
    except RecursionError:
        problems.append(Problem("body", "is nested too deeply"))


def _declared_media(media: Mapping[str, Any], essence: str) -> str | None:
    if essence in media:
        return essence
    family = essence.split("/", 1)[0]
    for candidate in (f"{family}/*", "*/*"):
        if candidate in media:
            return candidate
    return None


def _parse_json(body: bytes, problems: list[Problem]) -> Any:
    try:
        return json.loads(
            body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except UnicodeDecodeError:
        problems.append(Problem("body", "is not UTF-8"))
    except json.JSONDecodeError as exc:
        problems.append(
            Problem("body", f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
        )
    except _DuplicateKey:
        problems.append(Problem("body", "is not valid JSON (an object repeats a key)"))
    except _NotANumber:
        problems.append(Problem("body", "is not valid JSON (NaN and Infinity are not numbers in JSON)"))
    except RecursionError:
        problems.append(Problem("body", "is nested too deeply"))
    return _INVALID


class _DuplicateKey(ValueError):
    pass


class _NotANumber(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKey
    return out


def _no_constants(_name: str) -> Any:
    raise _NotANumber


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


# -- the dialects --------------------------------------------------------------------------------


def _validator_class(dialect: str) -> Any:
    if dialect == "3.1":
        return jsonschema.Draft202012Validator
    draft4 = jsonschema.Draft4Validator
    plain_type: Callable[..., Any] = draft4.VALIDATORS["type"]

    def nullable_type(validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
        if instance is None and schema.get("nullable") is True:
            return
        yield from plain_type(validator, types, instance, schema)

    return jsonschema.validators.extend(draft4, {"type": nullable_type})


def _registry(spec: Spec) -> Registry[Any]:
    """Where residual `$ref`s (recursive schemas, see `_refs`) resolve: one resource holding each
    recursive schema at its original pointer."""
    contents: dict[str, Any] = {}
    for pointer, schema in spec.recursive_schemas.items():
        node = contents
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        for token in tokens[:-1]:
            node = node.setdefault(token, {})
        node[tokens[-1]] = schema
    specification = DRAFT202012 if spec.dialect == "3.1" else DRAFT4
    registry: Registry[Any] = Registry().with_resource(REF_BASE, specification.create_resource(contents))
    return registry


def _format_checker() -> Any:
    checker = jsonschema.FormatChecker()
    checker.checks("int32")(lambda value: not isinstance(value, int) or -(2**31) <= value < 2**31)
    checker.checks("int64")(lambda value: not isinstance(value, int) or -(2**63) <= value < 2**63)
    return checker
