"""An OpenAPI document (2.0, 3.0 or 3.1) as the spec rules see it: every operation with its
parameters, bodies, responses, security and purpose, each piece with its JSON pointer.

The scanner reads leniently (the gateway, which enforces a spec, reads strictly): whatever it
cannot follow becomes a finding, not a refusal. References are followed where they are used, and
a piece reached through a `$ref` keeps the pointer of its definition, so that a schema shared by
fifty operations is one finding at one place. Lines come from the YAML (or JSON) text, looked up
only for the pointers that findings name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import yaml

from dataward.errors import DatawardError
from dataward.gateway.spec import HTTP_METHODS
from dataward.pointers import escape_pointer, unescape_pointer

__all__ = [
    "HTTP_METHODS",
    "Media",
    "Operation",
    "Parameter",
    "Response",
    "SpecDocument",
    "SpecUnreadable",
    "parse_document",
]

Dialect = Literal["2.0", "3.0", "3.1"]
Json = dict[str, Any]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecUnreadable(DatawardError):
    status = 422
    slug = "spec-unreadable"
    title = "The OpenAPI document cannot be read"


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # path, query, header, cookie; formData in 2.0
    schema: Json
    pointer: str  # of the schema (the parameter itself in 2.0, where the two are one object)
    required: bool


@dataclass(frozen=True, slots=True)
class Media:
    media_type: str
    schema: Json
    pointer: str  # of the schema


@dataclass(frozen=True, slots=True)
class Response:
    status: str  # "200", "4XX", "default"
    pointer: str
    media: tuple[Media, ...]
    headers: Mapping[str, tuple[Json, str]]  # name (lower case) -> (schema, pointer of the header)


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # upper case
    path: str
    pointer: str
    raw: Json
    parameters: tuple[Parameter, ...]
    bodies: tuple[Media, ...]
    responses: tuple[Response, ...]
    security: tuple[Mapping[str, tuple[str, ...]], ...] | None  # None: none declared here or globally
    purpose: Any  # `x-dataward-purpose` on the operation or its path item, if any
    callbacks: tuple[Operation, ...] = ()  # callbacks (3.x) and, at the top level, webhooks (3.1)
    is_callback: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def operation_id(self) -> str:
        value = self.raw.get("operationId")
        return value if isinstance(value, str) else ""

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(t for t in self.raw.get("tags") or () if isinstance(t, str))

    @property
    def deprecated(self) -> bool:
        return self.raw.get("deprecated") is True

    @property
    def secured(self) -> bool:
        """Some requirement applies and none of them is the empty one ("anyone may call")."""
        return bool(self.security) and all(self.security or ())

    @property
    def path_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")


@dataclass
class SpecDocument:
    source: str
    text: str
    data: Json
    dialect: Dialect
    unresolved: list[tuple[str, str]] = field(default_factory=list)  # (pointer of the $ref, target)
    _children: dict[int, dict[str, tuple[yaml.Node, int]]] = field(default_factory=dict, repr=False)

    # -- references ----------------------------------------------------------------------------

    def resolve(self, value: Any, pointer: str) -> tuple[Any, str]:
        """Follow `$ref`s from `value` (at `pointer`) to what they name, and its pointer. A reference
        that cannot be followed is recorded, and the value returned as it is."""
        seen: set[str] = set()
        while isinstance(value, dict) and isinstance(ref := value.get("$ref"), str):
            if not ref.startswith("#") or ref in seen:
                self._unresolved(pointer, ref)
                return value, pointer
            seen.add(ref)
            target = self.at(ref[1:])
            if target is _MISSING:
                self._unresolved(pointer, ref)
                return value, pointer
            value, pointer = target, ref[1:]
        return value, pointer

    def at(self, pointer: str) -> Any:
        node: Any = self.data
        for token in _tokens(pointer):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return _MISSING
        return node

    def _unresolved(self, pointer: str, ref: str) -> None:
        if (pointer, ref) not in self.unresolved:
            self.unresolved.append((pointer, ref))

    # -- lines ---------------------------------------------------------------------------------

    def line_of(self, pointer: str) -> int | None:
        """The 1-based line where `pointer` starts in the text (its nearest ancestor that exists)."""
        node = self._root_node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for token in _tokens(pointer):
            child = self._child(node, token)
            if child is None:
                break
            node, line = child
        return line

    def _child(self, node: yaml.Node, token: str) -> tuple[yaml.Node, int] | None:
        """The node under `token`, and its line; a mapping's keys are indexed on first use."""
        if isinstance(node, yaml.MappingNode):
            index = self._children.get(id(node))
            if index is None:
                index = self._children[id(node)] = {
                    str(key.value): (value, key.start_mark.line + 1)
                    for key, value in node.value
                    if isinstance(key, yaml.ScalarNode)
                }
            return index.get(token)
        if isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
            child = node.value[int(token)]
            return child, child.start_mark.line + 1
        return None

    @cached_property
    def _root_node(self) -> yaml.Node | None:
        try:
            return yaml.compose(self.text, Loader=_Loader)
        except yaml.YAMLError:
            return None

    # -- the API -------------------------------------------------------------------------------

    @cached_property
    def security_schemes(self) -> dict[str, tuple[Json, str]]:
        """Name -> (scheme, pointer), 2.0's `securityDefinitions` read as 3.x schemes."""
        if self.dialect == "2.0":
            base, schemes = "/securityDefinitions", self.data.get("securityDefinitions")
        else:
            base = "/components/securitySchemes"
            schemes = (self.data.get("components") or {}).get("securitySchemes")
        out: dict[str, tuple[Json, str]] = {}
        for name, value in _items(schemes):
            scheme, pointer = self.resolve(value, f"{base}/{escape_pointer(name)}")
            if isinstance(scheme, dict):
                if self.dialect == "2.0" and scheme.get("type") == "basic":
                    scheme = {**scheme, "type": "http", "scheme": "basic"}
                out[name] = (scheme, pointer)
        return out

    @cached_property
    def servers(self) -> list[tuple[str, str]]:
        """(URL, pointer) of each server the document declares; 2.0 from its schemes and host."""
        if self.dialect == "2.0":
            host = self.data.get("host")
            if not isinstance(host, str):
                return []
            schemes = [s for s in self.data.get("schemes") or ["https"] if isinstance(s, str)]
            base = self.data.get("basePath") if isinstance(self.data.get("basePath"), str) else ""
            return [
                (f"{s}://{host}{base}", "/schemes" if "schemes" in self.data else "/host") for s in schemes
            ]
        servers = self.data.get("servers")
        return [
            (server["url"], f"/servers/{index}")
            for index, server in enumerate(servers if isinstance(servers, list) else [])
            if isinstance(server, dict) and isinstance(server.get("url"), str)
        ]

    @cached_property
    def operations(self) -> list[Operation]:
        """Every operation under `paths` (with its callbacks), then 3.1's `webhooks`."""
        out = list(self._operations_in(self.data.get("paths"), "/paths", callback=False))
        if self.dialect == "3.1":
            out.extend(self._operations_in(self.data.get("webhooks"), "/webhooks", callback=True))
        return out

    def _operations_in(self, paths: Any, base: str, *, callback: bool) -> Iterator[Operation]:
        for template, value in _items(paths):
            item, item_pointer = self.resolve(value, f"{base}/{escape_pointer(template)}")
            if not isinstance(item, dict):
                continue
            shared = self._parameters(item.get("parameters"), f"{item_pointer}/parameters")
            for method in HTTP_METHODS:
                raw = item.get(method)
                if isinstance(raw, dict):
                    yield self._operation(
                        template, method, raw, f"{item_pointer}/{method}", item, shared, callback
                    )

    def _operation(
        self, template: str, method: str, raw: Json, pointer: str, item: Json,
        shared: list[Parameter], callback: bool,
    ) -> Operation:  # fmt: skip
        own = self._parameters(raw.get("parameters"), f"{pointer}/parameters")
        names = {(p.name, p.location) for p in own}
        parameters = [p for p in shared if (p.name, p.location) not in names] + own
        bodies = self._bodies(raw, pointer, parameters)
        parameters = [p for p in parameters if p.location != "body"]
        declared = raw.get("security", self.data.get("security"))
        security = None
        if isinstance(declared, list):
            security = tuple(
                {str(k): tuple(str(s) for s in v or ()) for k, v in requirement.items()}
                for requirement in declared
                if isinstance(requirement, dict)
            )
        callbacks: list[Operation] = []
        for name, value in _items(raw.get("callbacks")):
            where = f"{pointer}/callbacks/{escape_pointer(name)}"
            target, at = self.resolve(value, where)
            callbacks.extend(self._operations_in(target, at, callback=True))
        return Operation(
            method=method.upper(),
            path=template,
            pointer=pointer,
            raw=raw,
            parameters=tuple(parameters),
            bodies=bodies,
            responses=self._responses(raw.get("responses"), f"{pointer}/responses", raw),
            security=security,
            purpose=raw.get("x-dataward-purpose", item.get("x-dataward-purpose")),
            callbacks=tuple(callbacks),
            is_callback=callback,
        )

    def _parameters(self, values: Any, base: str) -> list[Parameter]:
        out = []
        for index, value in enumerate(values if isinstance(values, list) else []):
            parameter, pointer = self.resolve(value, f"{base}/{index}")
            if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
                continue
            location = str(parameter.get("in", ""))
            if "schema" in parameter:
                schema, schema_pointer = self.resolve(parameter["schema"], f"{pointer}/schema")
            elif "content" in parameter:  # 3.x: a parameter described by one media type
                media = next(iter(_items(parameter["content"])), None)
                raw_schema = media[1].get("schema", {}) if media and isinstance(media[1], dict) else {}
                where = f"{pointer}/content/{escape_pointer(media[0])}/schema" if media else pointer
                schema, schema_pointer = self.resolve(raw_schema, where)
            else:  # 2.0: the parameter is its own schema
                schema, schema_pointer = parameter, pointer
            out.append(
                Parameter(
                    name=parameter["name"],
                    location=location,
                    schema=schema if isinstance(schema, dict) else {},
                    pointer=schema_pointer,
                    required=parameter.get("required") is True or location == "path",
                )
            )
        return out

    def _bodies(self, raw: Json, pointer: str, parameters: list[Parameter]) -> tuple[Media, ...]:
        if self.dialect == "2.0":
            consumes = raw.get("consumes", self.data.get("consumes")) or ["application/json"]
            media_type = str(consumes[0]) if isinstance(consumes, list) and consumes else "application/json"
            return tuple(Media(media_type, p.schema, p.pointer) for p in parameters if p.location == "body")
        body, body_pointer = self.resolve(raw.get("requestBody"), f"{pointer}/requestBody")
        if not isinstance(body, dict):
            return ()
        return self._media(body.get("content"), f"{body_pointer}/content")

    def _media(self, content: Any, base: str) -> tuple[Media, ...]:
        out = []
        for media_type, value in _items(content):
            if isinstance(value, dict) and "schema" in value:
                where = f"{base}/{escape_pointer(media_type)}/schema"
                schema, schema_pointer = self.resolve(value["schema"], where)
                if isinstance(schema, dict):
                    out.append(Media(media_type, schema, schema_pointer))
        return tuple(out)

    def _responses(self, values: Any, base: str, raw: Json) -> tuple[Response, ...]:
        out = []
        for status, value in _items(values):
            response, pointer = self.resolve(value, f"{base}/{escape_pointer(status)}")
            if not isinstance(response, dict):
                continue
            if self.dialect == "2.0":
                produces = raw.get("produces", self.data.get("produces")) or ["application/json"]
                media: tuple[Media, ...] = ()
                if "schema" in response:
                    schema, at = self.resolve(response["schema"], f"{pointer}/schema")
                    if isinstance(schema, dict):
                        media = (Media(str(produces[0]), schema, at),)
            else:
                media = self._media(response.get("content"), f"{pointer}/content")
            headers: dict[str, tuple[Json, str]] = {}
            for name, header in _items(response.get("headers")):
                resolved, at = self.resolve(header, f"{pointer}/headers/{escape_pointer(name)}")
                if isinstance(resolved, dict):
                    schema = resolved.get("schema", resolved)
                    headers[name.lower()] = (schema if isinstance(schema, dict) else {}, at)
            out.append(Response(str(status), pointer, media, headers))
        return tuple(out)


def parse_document(text: str, source: str) -> SpecDocument:
    """Read an OpenAPI 2.0, 3.0 or 3.1 document from YAML or JSON text."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - the C *Safe* loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecUnreadable(f"{source} is neither YAML nor JSON{where}") from None
    if not isinstance(data, dict):
        raise SpecUnreadable(f"{source} is not an OpenAPI document (not a mapping at the top)")
    version = str(data.get("openapi", data.get("swagger", "")))
    dialect: Dialect
    if version.startswith("2."):
        dialect = "2.0"
    elif version.startswith("3.0"):
        dialect = "3.0"
    elif version.startswith("3.1"):
        dialect = "3.1"
    else:
        raise SpecUnreadable(
            f"{source} names no OpenAPI version this scanner reads (`openapi: 3.0.x`/`3.1.x` or "
            f'`swagger: "2.0"`)'
        )
    return SpecDocument(source, text, data, dialect)


class _Missing:
    pass


_MISSING: Any = _Missing()


def _tokens(pointer: str) -> list[str]:
    return [unescape_pointer(t) for t in pointer.split("/")[1:]] if pointer else []


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item
