"""Reading an OpenAPI document into `spec`'s classes, collecting every problem on the way."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import yaml

from dataward.errors import Problem
from dataward.gateway._refs import RefResolver, is_broken
from dataward.gateway.errors import SpecError
from dataward.gateway.spec import (
    HTTP_METHODS,
    Dialect,
    Operation,
    Parameter,
    RequestBody,
    Response,
    SecurityRequirement,
    Server,
    Spec,
    is_json_media_type,
)
from dataward.pointers import escape_pointer

__all__ = ["read_spec"]

_LOCATIONS = ("path", "query", "header", "cookie")
_PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")  # a policy purpose name
_FIELD = re.compile(r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*$")  # a policy field, `collection.field`
_STATUS = re.compile(r"^([1-5][0-9][0-9]|[1-5]XX|default)$")
_TEMPLATE_VARIABLE = re.compile(r"\{([^{}/]+)\}")
_DIALECTS = ("https://spec.openapis.org/oas/3.1/dialect/", "https://json-schema.org/draft/2020-12/schema")


def read_spec(text: str, source: str) -> Spec:
    document = _parse_text(text, source)
    problems: list[Problem] = []
    spec = _Builder(document, problems).build(source)
    if problems:
        raise SpecError(source, problems)
    return spec


class _Loader(yaml.SafeLoader):
    """YAML without its implicit timestamps: `2026-01-01` in an example or enum stays a string, as
    it would in the JSON the API actually speaks."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_text(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except json.JSONDecodeError as exc:
        raise SpecError(source, [Problem("", f"not valid JSON: {exc.msg} (line {exc.lineno})")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        reason = str(getattr(exc, "problem", None) or "syntax error")
        raise SpecError(source, [Problem("", f"not valid YAML: {reason}{where}")]) from None
    if not isinstance(data, dict):
        raise SpecError(source, [Problem("", "the document must be a mapping (an OpenAPI object)")])
    return {str(k): v for k, v in data.items()}


class _Builder:
    """Turns the parsed document into a `Spec`, appending every problem it finds to `problems`."""

    def __init__(self, document: dict[str, Any], problems: list[Problem]) -> None:
        self.document = document
        self.problems = problems
        version = document.get("openapi")
        if not isinstance(version, str) or not re.match(r"^3\.[01]\.\d+", version):
            self.problem("/openapi", "expected an OpenAPI version 3.0.x or 3.1.x (convert Swagger 2.0 first)")
        self.version = str(version)
        self.dialect: Dialect = "3.0" if self.version.startswith("3.0") else "3.1"
        if not str(document.get("jsonSchemaDialect", _DIALECTS[1])).startswith(_DIALECTS):
            self.problem(
                "/jsonSchemaDialect", "only JSON Schema 2020-12 (the OpenAPI 3.1 default) is supported"
            )
        # Keywords beside a $ref count in 3.1 (JSON Schema 2020-12); 3.0 ignores them.
        self.resolver = RefResolver(document, siblings_apply=self.dialect == "3.1", problems=problems)
        self.schemes: dict[str, Mapping[str, Any]] = {}

    def problem(self, pointer: str, message: str) -> None:
        self.problems.append(Problem(pointer, message))

    def build(self, source: str) -> Spec:
        info = self.document.get("info")
        info = info if isinstance(info, dict) else {}
        self.schemes = self._security_schemes()
        default_security = self._security(self.document.get("security"), "/security") or ()
        operations = list(self._operations(default_security))
        self._check_unique(operations)
        return Spec(
            source=source,
            openapi=self.version,
            dialect=self.dialect,
            title=str(info.get("title", "")),
            version=str(info.get("version", "")),
            servers=self._servers(self.document.get("servers"), "/servers"),
            operations=tuple(operations),
            security_schemes=self.schemes,
            recursive_schemas=self.resolver.recursive_schemas,
        )

    # -- document-level parts ----------------------------------------------------------------

    def _servers(self, node: object, pointer: str) -> tuple[Server, ...]:
        if node is None:
            return (Server(url="/", description=None, base_path=""),)  # OpenAPI's default
        if not isinstance(node, list):
            self.problem(pointer, "servers must be a list")
            return ()
        servers = []
        for i, raw in enumerate(node):
            item = self.resolver.resolve(raw, f"{pointer}/{i}")
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                self.problem(f"{pointer}/{i}", "a server needs a url")
                continue
            url = _fill_variables(item["url"], item.get("variables"))
            description = item.get("description")
            servers.append(
                Server(
                    url=item["url"],
                    description=description if isinstance(description, str) else None,
                    base_path=urlsplit(url).path.rstrip("/"),
                )
            )
        return tuple(servers)

    def _security_schemes(self) -> dict[str, Mapping[str, Any]]:
        components = self.document.get("components")
        raw = components.get("securitySchemes") if isinstance(components, dict) else None
        if raw is None:
            return {}
        pointer = "/components/securitySchemes"
        if not isinstance(raw, dict):
            self.problem(pointer, "securitySchemes must be a mapping")
            return {}
        schemes: dict[str, Mapping[str, Any]] = {}
        for name, scheme in raw.items():
            where = f"{pointer}/{escape_pointer(str(name))}"
            resolved = self.resolver.resolve(scheme, where)
            if not isinstance(resolved, dict) or not isinstance(resolved.get("type"), str):
                self.problem(where, "a security scheme needs a type")
                continue
            schemes[str(name)] = resolved
        return schemes

    def _security(self, node: object, pointer: str) -> tuple[SecurityRequirement, ...] | None:
        """None where the document says nothing (so a default applies), else the alternatives."""
        if node is None:
            return None
        if not isinstance(node, list):
            self.problem(pointer, "security must be a list of security requirements")
            return None
        requirements = []
        for i, item in enumerate(node):
            where = f"{pointer}/{i}"
            if not isinstance(item, dict):
                self.problem(where, "a security requirement must be a mapping of scheme names to scopes")
                continue
            schemes: dict[str, tuple[str, ...]] = {}
            for name, scopes in item.items():
                at = f"{where}/{escape_pointer(str(name))}"
                if str(name) not in self.schemes:
                    self.problem(at, f"unknown security scheme {name} (not in components.securitySchemes)")
                if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                    self.problem(at, "the scopes of a security requirement must be a list of strings")
                    continue
                schemes[str(name)] = tuple(scopes)
            requirements.append(SecurityRequirement(schemes=schemes))
        return tuple(requirements)

    # -- paths and operations ----------------------------------------------------------------

    def _operations(self, default_security: tuple[SecurityRequirement, ...]) -> Iterator[Operation]:
        paths = self.document.get("paths")
        if paths is None:
            return
        if not isinstance(paths, dict):
            self.problem("/paths", "paths must be a mapping")
            return
        for template, raw_item in paths.items():
            pointer = f"/paths/{escape_pointer(str(template))}"
            if not isinstance(template, str) or not template.startswith("/"):
                self.problem(pointer, "a path must start with /")
                continue
            if _template_error(template):
                self.problem(pointer, _template_error(template) or "")
                continue
            item = self.resolver.resolve(raw_item, pointer)  # once, for the whole path item
            if is_broken(item):
                continue
            if not isinstance(item, dict):
                self.problem(pointer, "a path item must be a mapping")
                continue
            shared = self._parameters(item.get("parameters"), f"{pointer}/parameters")
            path_purposes = self._purposes(item.get("x-dataward-purpose"), f"{pointer}/x-dataward-purpose")
            for method in HTTP_METHODS:
                if method in item:
                    yield from self._operation(
                        template, method, item[method], shared, path_purposes, default_security
                    )

    def _operation(
        self,
        template: str,
        method: str,
        node: object,
        shared: dict[tuple[str, str], Parameter],
        path_purposes: tuple[str, ...],
        default_security: tuple[SecurityRequirement, ...],
    ) -> Iterator[Operation]:
        pointer = f"/paths/{escape_pointer(template)}/{method}"
        if not isinstance(node, dict):
            self.problem(pointer, "an operation must be a mapping")
            return
        operation_id = node.get("operationId")
        if operation_id is not None and not isinstance(operation_id, str):
            self.problem(f"{pointer}/operationId", "operationId must be a string")
            operation_id = None
        deprecated = node.get("deprecated", False)
        if not isinstance(deprecated, bool):
            self.problem(f"{pointer}/deprecated", "deprecated must be true or false")
        parameters = {**shared, **self._parameters(node.get("parameters"), f"{pointer}/parameters")}
        self._check_path_parameters(template, parameters, pointer)
        security = self._security(node.get("security"), f"{pointer}/security")
        purposes = self._purposes(node.get("x-dataward-purpose"), f"{pointer}/x-dataward-purpose")
        yield Operation(
            method=method.upper(),
            path=template,
            operation_id=operation_id,
            deprecated=deprecated is True,
            security=default_security if security is None else security,
            purposes=purposes or path_purposes,
            parameters=tuple(parameters.values()),
            request_body=self._request_body(node.get("requestBody"), f"{pointer}/requestBody"),
            responses=self._responses(node.get("responses"), f"{pointer}/responses"),
            pointer=pointer,
        )

    def _purposes(self, node: object, pointer: str) -> tuple[str, ...]:
        if node is None:
            return ()
        names = [node] if isinstance(node, str) else node
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            self.problem(pointer, "x-dataward-purpose must be a purpose name or a non-empty list of them")
            return ()
        for name in names:
            if not _PURPOSE.match(name):
                self.problem(pointer, f"not a purpose name: {name!r} (lower case letters, digits, - and _)")
        return tuple(dict.fromkeys(names))

    def _parameters(self, node: object, pointer: str) -> dict[tuple[str, str], Parameter]:
        if node is None:
            return {}
        if not isinstance(node, list):
            self.problem(pointer, "parameters must be a list")
            return {}
        out: dict[tuple[str, str], Parameter] = {}
        for i, item in enumerate(node):
            where = f"{pointer}/{i}"
            if is_broken(item):
                continue
            parameter = self._parameter(item, where)
            if parameter is None:
                continue
            key = (parameter.location, parameter.name)
            if key in out:
                self.problem(where, f"parameter {parameter.name} in {parameter.location} is declared twice")
            out[key] = parameter
        return out

    def _parameter(self, item: object, where: str) -> Parameter | None:
        if not isinstance(item, dict):
            self.problem(where, "a parameter must be a mapping")
            return None
        name, location = item.get("name"), item.get("in")
        if not isinstance(name, str) or not name:
            self.problem(f"{where}/name", "a parameter needs a name")
            return None
        if location not in _LOCATIONS:
            self.problem(f"{where}/in", "in must be one of path, query, header, cookie")
            return None
        required = item.get("required", False)
        if not isinstance(required, bool):
            self.problem(f"{where}/required", "required must be true or false")
            required = False
        if location == "path" and required is not True:
            self.problem(f"{where}/required", "a path parameter must be required: true")
        schema = item.get("schema", {})
        if not isinstance(schema, dict | bool):
            self.problem(f"{where}/schema", "a schema must be a mapping")
            schema = {}
        self._check_extensions(schema, f"{where}/schema", set())
        style = item.get("style", "form" if location in ("query", "cookie") else "simple")
        explode = item.get("explode", style == "form")
        return Parameter(
            name=name,
            location=str(location),
            required=required,
            schema=schema if isinstance(schema, dict) else ({} if schema else {"not": {}}),
            explode=explode is True,
            pointer=where,
        )

    def _check_path_parameters(
        self, template: str, parameters: Mapping[tuple[str, str], Parameter], pointer: str
    ) -> None:
        in_template = set(_TEMPLATE_VARIABLE.findall(template))
        declared = {name for (location, name) in parameters if location == "path"}
        for name in sorted(in_template - declared):
            self.problem(f"{pointer}/parameters", f"path parameter {{{name}}} is not declared")
        for name in sorted(declared - in_template):
            self.problem(f"{pointer}/parameters", f"path parameter {name} is not in the path {template}")

    def _request_body(self, node: object, pointer: str) -> RequestBody | None:
        if node is None or is_broken(node):
            return None
        item = node
        if not isinstance(item, dict):
            self.problem(pointer, "requestBody must be a mapping")
            return None
        required = item.get("required", False)
        if not isinstance(required, bool):
            self.problem(f"{pointer}/required", "required must be true or false")
        return RequestBody(
            required=required is True,
            content=self._content(item.get("content"), f"{pointer}/content"),
            pointer=pointer,
        )

    def _content(self, node: object, pointer: str) -> dict[str, Mapping[str, Any] | None]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.problem(pointer, "content must be a mapping of media types")
            return {}
        out: dict[str, Mapping[str, Any] | None] = {}
        for media_type, media in node.items():
            where = f"{pointer}/{escape_pointer(str(media_type))}"
            schema = media.get("schema") if isinstance(media, dict) else None
            if schema is not None and not isinstance(schema, dict | bool):
                self.problem(f"{where}/schema", "a schema must be a mapping")
                schema = None
            if isinstance(schema, bool):
                schema = {} if schema else {"not": {}}
            if schema is not None:
                self._check_extensions(schema, f"{where}/schema", set())
            out[str(media_type).split(";", 1)[0].strip().lower()] = schema
        return out

    def _responses(self, node: object, pointer: str) -> dict[str, Response]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.problem(pointer, "responses must be a mapping of status codes")
            return {}
        out = {}
        for status, item in node.items():
            code = str(status).upper() if str(status).lower() != "default" else "default"
            where = f"{pointer}/{escape_pointer(str(status))}"
            if not _STATUS.match(code):
                self.problem(where, "a response key must be a status code (200), a range (2XX) or default")
                continue
            if is_broken(item):
                continue
            if not isinstance(item, dict):
                self.problem(where, "a response must be a mapping")
                continue
            content = self._content(item.get("content"), f"{where}/content")
            schema = next((s for media, s in content.items() if is_json_media_type(media)), None)
            out[code] = Response(status=code, json_schema=schema, pointer=where)
        return out

    def _check_extensions(self, schema: object, pointer: str, seen: set[int]) -> None:
        """`x-pii` anywhere in a schema must be true, false or a policy field `collection.field`.
        Shared subschemas are checked once (their problems would repeat)."""
        if isinstance(schema, list):
            for i, item in enumerate(schema):
                self._check_extensions(item, f"{pointer}/{i}", seen)
            return
        if not isinstance(schema, dict) or id(schema) in seen:
            return
        seen.add(id(schema))
        pii = schema.get("x-pii")
        if pii is not None and not isinstance(pii, bool) and not (isinstance(pii, str) and _FIELD.match(pii)):
            self.problem(f"{pointer}/x-pii", "x-pii must be true, false or a policy field (collection.field)")
        for key, value in schema.items():
            if not str(key).startswith("x-") and str(key) not in (
                "enum",
                "const",
                "default",
                "example",
                "examples",
            ):
                self._check_extensions(value, f"{pointer}/{escape_pointer(str(key))}", seen)

    def _check_unique(self, operations: list[Operation]) -> None:
        ids: dict[str, str] = {}
        routes: dict[tuple[str, str], str] = {}
        for op in operations:
            if op.operation_id is not None:
                if op.operation_id in ids:
                    self.problem(
                        f"{op.pointer}/operationId",
                        f"operationId {op.operation_id} is also at {ids[op.operation_id]}",
                    )
                ids.setdefault(op.operation_id, op.pointer)
            shape = (op.method, _TEMPLATE_VARIABLE.sub("{}", op.path))
            if shape in routes:
                self.problem(
                    op.pointer, f"the same route as {routes[shape]}: requests could not be told apart"
                )
            routes.setdefault(shape, op.pointer)


def _template_error(template: str) -> str | None:
    depth = 0
    for char in template:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth not in (0, 1):
            return "unbalanced { } in the path template"
    if depth:
        return "unbalanced { } in the path template"
    if re.search(r"\{\}", template):
        return "an empty {} in the path template"
    return None


def _fill_variables(url: str, variables: object) -> str:
    values = variables if isinstance(variables, dict) else {}

    def default(match: re.Match[str]) -> str:
        variable = values.get(match.group(1))
        return str(variable.get("default", "")) if isinstance(variable, dict) else ""

    return _TEMPLATE_VARIABLE.sub(default, url)
