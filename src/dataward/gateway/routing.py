"""Which operation a request is for: a segment trie over the spec's path templates.

A match costs one dict look-up per path segment; nothing is tried route by route. Literal segments
win over templated ones (`/users/me` before `/users/{id}`), with backtracking so that
`/users/me/orders` still reaches `/users/{id}/orders` when only that route continues.

The gateway and the upstream must agree on what a path means, or an attacker walks through the
gap between them (`/customers/..%2Fadmin` is one customer to a naive gateway and `/admin` to an
upstream that normalises). So the router splits on `/` before percent-decoding, and refuses as
MALFORMED rather than guesses: dot segments (also `..;`), empty segments, encoded `/` and `\\`,
control characters, broken percent-escapes and invalid UTF-8. Trailing slashes are strict:
`/customers/` is a different path from `/customers`, found only if the spec declares it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import unquote

from dataward.gateway.spec import Operation, Spec

__all__ = ["Match", "MatchKind", "Router"]

_VARIABLE = re.compile(r"\{([^{}/]+)\}")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f/\\]")  # after decoding: never inside one segment
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MatchKind(Enum):
    MATCHED = "matched"
    METHOD_NOT_ALLOWED = "method_not_allowed"  # the path is in the spec, this method is not
    NOT_FOUND = "not_found"  # no path in the spec looks like this one
    MALFORMED = "malformed"  # a path no honest client sends (traversal, encoded separators, ...)


@dataclass(slots=True)
class Match:
    """What the router found. Not frozen: a frozen dataclass costs microseconds per request to
    build, and nothing keeps a match beyond its request."""

    kind: MatchKind
    operation: Operation | None = None
    params: Mapping[str, str] = field(default_factory=dict)  # percent-decoded path parameters
    template: str | None = None  # the path template, when the path is known (also for 405)
    allowed: tuple[str, ...] = ()  # the declared methods, when the path is known (an Allow header)


@dataclass(slots=True, eq=False)
class _Route:
    operations: dict[str, Operation]  # method -> operation
    template: str
    names: tuple[str, ...]  # the variables of the template, in order of appearance
    allowed: tuple[str, ...] = ()


@dataclass(slots=True, eq=False)
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    mixed: list[tuple[re.Pattern[str], _Node]] = field(default_factory=list)  # `{name}.{ext}` segments
    variable: _Node | None = None  # a whole-segment `{id}`
    route: _Route | None = None


_NOT_FOUND = Match(MatchKind.NOT_FOUND)
_MALFORMED = Match(MatchKind.MALFORMED)


class Router:
    """Built once from a spec; `match` is safe to call from any number of tasks at once.

    `base_path` is the server's path prefix (`Server.base_path`, such as `/api`) that requests
    carry before the spec's own paths.
    """

    def __init__(self, spec: Spec, *, base_path: str = "") -> None:
        self._root = _Node()
        self._base = base_path.rstrip("/")
        for operation in spec.operations:
            self._add(operation)

    def match(self, method: str, raw_path: str) -> Match:
        """The operation for `method` and `raw_path`, the path as sent: percent-encoded, without
        the query string."""
        if self._base:
            if not raw_path.startswith(self._base) or raw_path[len(self._base) : len(self._base) + 1] != "/":
                return _NOT_FOUND
            raw_path = raw_path[len(self._base) :]
        segments = _segments(raw_path)
        if segments is None:
            return _MALFORMED
        values: list[str] = []
        route = _walk(self._root, segments, 0, values)
        if route is None:
            return _NOT_FOUND
        wanted = method.upper()
        operation = route.operations.get(wanted)
        if operation is None and wanted == "HEAD":  # RFC 9110 9.3.2: GET's answer, without the body
            operation = route.operations.get("GET")
        if operation is None:
            return Match(MatchKind.METHOD_NOT_ALLOWED, template=route.template, allowed=route.allowed)
        return Match(
            MatchKind.MATCHED,
            operation=operation,
            params=dict(zip(route.names, values, strict=True)),
            template=route.template,
            allowed=route.allowed,
        )

    def _add(self, operation: Operation) -> None:
        node = self._root
        for segment in operation.path.split("/")[1:]:
            variables = _VARIABLE.findall(segment)
            if not variables:
                node = node.literals.setdefault(segment, _Node())
            elif _VARIABLE.fullmatch(segment):
                node.variable = node.variable or _Node()
                node = node.variable
            else:
                node = _mixed_child(node, segment)
        if node.route is None:
            names = tuple(_VARIABLE.findall(operation.path))
            node.route = _Route(operations={}, template=operation.path, names=names)
        node.route.operations[operation.method] = operation
        node.route.allowed = tuple(node.route.operations)


def _mixed_child(node: _Node, segment: str) -> _Node:
    """A child for a segment that mixes text and variables, matched by one anchored pattern."""
    parts = _VARIABLE.split(segment)  # text, name, text, name, ..., text
    pattern = "".join(re.escape(part) if i % 2 == 0 else "(.+?)" for i, part in enumerate(parts))
    compiled = re.compile(f"^{pattern}$", re.DOTALL)
    for existing, child in node.mixed:
        if existing.pattern == compiled.pattern:
            return child
    child = _Node()
    node.mixed.append((compiled, child))
    return child


def _walk(node: _Node, segments: list[str], i: int, values: list[str]) -> _Route | None:
    if i == len(segments):
        return node.route
    segment = segments[i]
    literal = node.literals.get(segment)
    if literal is not None:
        found = _walk(literal, segments, i + 1, values)
        if found is not None:
            return found
    for pattern, child in node.mixed:
        matched = pattern.match(segment)
        if matched is not None:
            mark = len(values)
            values.extend(matched.groups())
            found = _walk(child, segments, i + 1, values)
            if found is not None:
                return found
            del values[mark:]
    if node.variable is not None and segment:
        values.append(segment)
        found = _walk(node.variable, segments, i + 1, values)
        if found is not None:
            return found
        values.pop()
    return None


def _segments(raw_path: str) -> list[str] | None:
    """The decoded segments after the leading `/`, or None for a path to refuse. The last
    segment is "" for a trailing slash; an empty segment anywhere else is refused (`//`: some
    upstreams collapse it, some do not)."""
    if not raw_path.startswith("/") or "\\" in raw_path:
        return None
    raw = raw_path[1:].split("/")
    if "" in raw[:-1]:
        return None
    if "%" not in raw_path and "." not in raw_path and not _CONTROL.search(raw_path):
        return raw  # the common case, checked once for the whole path: nothing to decode
    decoded: list[str] = []
    for segment in raw:
        text = _decoded(segment) if segment else ""
        if text is None:
            return None
        decoded.append(text)
    return decoded


def _decoded(segment: str) -> str | None:
    text = segment
    if "%" in segment:
        if _BAD_ESCAPE.search(segment):
            return None
        try:
            text = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            return None
    if _FORBIDDEN.search(text) or text.split(";", 1)[0] in (".", ".."):
        return None
    return text
