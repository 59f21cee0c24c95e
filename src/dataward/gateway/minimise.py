"""Response minimisation: a caller sees only the personal data its purpose may use.

A response schema marks personal data with `x-pii`: `"profile.email"` ties a property to a field
of the policy, `true` marks personal data tied to none (kept, since no purpose speaks for or
against it, but reported). For each operation, declared status and purpose, a plan is compiled
once at start-up: a small tree holding only the paths that lead to marked properties. Per response
the walk follows the plan, not the body, and an operation whose schema marks nothing has no plan
at all, so the proxy need not even parse its responses.

`allOf`, `anyOf` and `oneOf` are merged: which branch a body matches is not known without
validating it, so a property is removed if any branch ties it to a field the purpose may not use.
Nothing is removed silently: the result names every removed path (`customer.email`,
`items[].phone`, a map's values as `contacts.*`), and the policy fields that did go out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dataward.errors import Problem
from dataward.gateway.spec import Operation, Spec
from dataward.policy import Policy

__all__ = ["Minimised", "Minimiser", "Plan", "apply_plan", "check_spec_against_policy"]


@dataclass(frozen=True, slots=True)
class Minimised:
    body: Any  # the new body; containers on a changed path are copies, the rest is shared
    removed: tuple[str, ...]  # paths removed, sorted: "customer.email", "items[].phone"
    disclosed: tuple[str, ...]  # policy fields that went out (not null), sorted: "profile.email"
    untied: tuple[str, ...]  # paths of `x-pii: true` personal data that went out, sorted

    @property
    def personal(self) -> tuple[str, ...]:
        """The personal data that went out, by name, for the audit log: policy fields, then the
        paths of personal data tied to none."""
        return self.disclosed + self.untied


class _Node:
    """What to do with one value: drop it, report it, and what to do with its parts."""

    __slots__ = ("declared", "deny", "fields", "items", "props", "untied", "values")

    def __init__(self) -> None:
        self.deny = False  # tied to a field the purpose may not use: remove the value
        self.fields: set[str] = set()  # fields it is tied to that the purpose may use
        self.untied = False  # `x-pii: true`
        self.props: dict[str, _Node] = {}
        self.declared: set[str] = set()  # every declared property name (for `values`)
        self.items: _Node | None = None
        self.values: _Node | None = None  # additionalProperties

    def children(self) -> Iterable[_Node]:
        yield from self.props.values()
        if self.items is not None:
            yield self.items
        if self.values is not None:
            yield self.values


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """A compiled plan for one (operation, status, purpose); opaque to callers."""

    root: _Node


class Minimiser:
    """Plans for every operation, declared response and purpose of the policy, compiled once."""

    def __init__(self, spec: Spec, policy: Policy) -> None:
        self._spec = spec
        self._plans: dict[tuple[str, str, str], dict[str | None, Plan | None]] = {}
        allowed_by_purpose: dict[str | None, frozenset[str]] = {None: frozenset()}
        allowed_by_purpose.update({name: policy.purpose_fields(name) for name in policy.purposes})
        compilers: dict[frozenset[str], _Compiler] = {}
        for operation in spec.operations:
            for key, response in operation.responses.items():
                plans: dict[str | None, Plan | None] = {}
                for purpose, allowed in allowed_by_purpose.items():
                    if allowed not in compilers:  # purposes with the same fields share their plans
                        compilers[allowed] = _Compiler(spec, allowed)
                    schema = response.json_schema
                    plans[purpose] = compilers[allowed].plan(schema) if schema is not None else None
                self._plans[(operation.method, operation.path, key)] = plans

    def plan(self, operation: Operation, status: int, purpose: str | None) -> Plan | None:
        """The plan for a response, or None when it holds no marked personal data (skip the
        walk, and the JSON parse). An unknown purpose, or none, may use no policy field."""
        response = operation.response_for(status)
        if response is None:
            return None
        plans = self._plans[(operation.method, operation.path, response.status)]
        return plans[purpose] if purpose in plans else plans[None]

    def carries_personal_data(self, operation: Operation, status: int) -> bool:
        """Whether the response schema marks any personal data: if not, pass the body through."""
        return self.plan(operation, status, None) is not None

    def may_carry_personal_data(self, operation: Operation) -> bool:
        """Whether any of the operation's declared responses marks personal data."""
        return any(self.carries_personal_data(operation, _a_status(code)) for code in operation.responses)

    def minimise(self, operation: Operation, status: int, purpose: str | None, body: Any) -> Minimised:
        """`body` (parsed JSON) with what `purpose` may not use removed."""
        plan = self.plan(operation, status, purpose)
        return apply_plan(plan, body) if plan is not None else Minimised(body, (), (), ())


def _a_status(code: str) -> int:
    """A status code that a response key of the spec covers: `404`, `2XX` (200) or `default` (200)."""
    if code.isdigit():
        return int(code)
    return int(code[0]) * 100 if code[:1].isdigit() else 200


def apply_plan(plan: Plan, body: Any) -> Minimised:
    """Run a plan from `Minimiser.plan` over a parsed JSON body."""
    found = _Found()
    root = plan.root
    if root.deny:
        return Minimised(None, ("$",), (), ())
    _report(root, body, "$", found)
    new = _walk(body, root, "", found)
    return Minimised(
        new, tuple(sorted(found.removed)), tuple(sorted(found.disclosed)), tuple(sorted(found.untied))
    )


class _Found:
    __slots__ = ("disclosed", "removed", "untied")

    def __init__(self) -> None:
        self.removed: set[str] = set()
        self.disclosed: set[str] = set()
        self.untied: set[str] = set()


def _report(node: _Node, value: Any, path: str, found: _Found) -> None:
    if value is None:
        return
    if node.fields:
        found.disclosed.update(node.fields)
    if node.untied:
        found.untied.add(path)


def _walk(value: Any, node: _Node, path: str, found: _Found) -> Any:  # noqa: PLR0912 - one walk, three shapes
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        for name, child in node.props.items():
            if name not in value:
                continue
            where = f"{path}.{name}" if path else name
            if child.deny:
                out = out if out is not None else dict(value)
                del out[name]
                found.removed.add(where)
                continue
            _report(child, value[name], where, found)
            new = _walk(value[name], child, where, found)
            if new is not value[name]:
                out = out if out is not None else dict(value)
                out[name] = new
        extra = node.values
        if extra is not None:
            where = f"{path}.*" if path else "*"
            for key in [k for k in value if k not in node.declared]:
                if extra.deny:
                    out = out if out is not None else dict(value)
                    del out[key]
                    found.removed.add(where)
                    continue
                _report(extra, value[key], where, found)
                new = _walk(value[key], extra, where, found)
                if new is not value[key]:
                    out = out if out is not None else dict(value)
                    out[key] = new
        return value if out is None else out
    if isinstance(value, list) and node.items is not None:
        items = node.items
        where = f"{path}[]"
        if items.deny:
            if value:
                found.removed.add(where)
            return []
        changed = False
        new_list = []
        for item in value:
            _report(items, item, where, found)
            new = _walk(item, items, where, found)
            changed = changed or new is not item
            new_list.append(new)
        return new_list if changed else value
    return value


class _Compiler:
    """Compiles schemas into plan nodes for one set of allowed fields; memoised by schema, so a
    recursive schema (see `_refs`) compiles into a plan with the same cycle."""

    def __init__(self, spec: Spec, allowed: frozenset[str]) -> None:
        self._spec = spec
        self._allowed = allowed
        self._memo: dict[int, _Node] = {}
        self._relevant: dict[int, bool] = {}

    def plan(self, schema: Mapping[str, Any]) -> Plan | None:
        root = self._node(schema)
        if not self._is_relevant(root):
            return None
        return Plan(root=root)

    def _node(self, schema: object) -> _Node:
        if not isinstance(schema, Mapping):
            return _Node()
        memo = self._memo.get(id(schema))
        if memo is not None:
            return memo
        ref = schema.get("$ref")
        if isinstance(ref, str) and "x-pii" not in schema:
            # A recursive schema closing: the same node as its target, which may still be being
            # compiled (a copy of it now would miss what it gets later).
            target = self._node(self._spec.schema_for_ref(ref))
            self._memo[id(schema)] = target
            return target
        node = _Node()
        self._memo[id(schema)] = node
        self._mark(node, schema.get("x-pii"))
        if isinstance(ref, str):
            self._merge(node, self._node(self._spec.schema_for_ref(ref)))
        for keyword in ("allOf", "anyOf", "oneOf"):
            branches = schema.get(keyword)
            for branch in branches if isinstance(branches, list) else ():
                self._merge(node, self._node(branch))
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name, sub in properties.items():
                node.declared.add(str(name))
                self._add_prop(node, str(name), self._node(sub))
        items = schema.get("items")
        if isinstance(items, Mapping):
            node.items = self._merged(node.items, self._node(items))
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            node.values = self._merged(node.values, self._node(extra))
        return node

    def _mark(self, node: _Node, tag: object) -> None:
        if isinstance(tag, str):
            if tag in self._allowed:
                node.fields.add(tag)
            else:
                node.deny = True
        elif tag is True:
            node.untied = True

    def _add_prop(self, node: _Node, name: str, child: _Node) -> None:
        node.props[name] = self._merged(node.props.get(name), child)

    def _merged(self, existing: _Node | None, child: _Node) -> _Node:
        if existing is None or existing is child:
            return child
        combined = _Node()
        self._merge(combined, existing)
        self._merge(combined, child)
        return combined

    def _merge(self, into: _Node, other: _Node) -> None:
        if other is into:
            return
        into.deny = into.deny or other.deny
        into.fields |= other.fields
        into.untied = into.untied or other.untied
        into.declared |= other.declared
        for name, child in other.props.items():
            self._add_prop(into, name, child)
        if other.items is not None:
            into.items = self._merged(into.items, other.items)
        if other.values is not None:
            into.values = self._merged(into.values, other.values)

    def _is_relevant(self, root: _Node) -> bool:
        """Whether anything under `root` is marked; prunes the parts that are not, so the walk
        never enters them. Cycles are settled by iterating to a fixed point."""
        nodes: list[_Node] = []
        stack, seen = [root], {id(root)}
        while stack:
            node = stack.pop()
            nodes.append(node)
            for child in node.children():
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        marked = {id(n) for n in nodes if n.deny or n.fields or n.untied}
        changed = True
        while changed:
            changed = False
            for node in nodes:
                if id(node) not in marked and any(id(c) in marked for c in node.children()):
                    marked.add(id(node))
                    changed = True
        for node in nodes:
            node.props = {name: child for name, child in node.props.items() if id(child) in marked}
            if node.items is not None and id(node.items) not in marked:
                node.items = None
            if node.values is not None and id(node.values) not in marked:
                node.values = None
        return id(root) in marked


def check_spec_against_policy(spec: Spec, policy: Policy) -> list[Problem]:
    """Purposes and fields the spec names that the policy does not know, by JSON pointer: each
    would make the gateway refuse a call or withhold a field for a reason nobody intended."""
    problems: list[Problem] = []
    fields = set(policy.field_paths())
    for operation in spec.operations:
        for purpose in operation.purposes:
            if purpose not in policy.purposes:
                problems.append(
                    Problem(
                        f"{operation.pointer}/x-dataward-purpose", f"purpose {purpose} is not in the policy"
                    )
                )
        for response in operation.responses.values():
            for tag in sorted(_tags(response.json_schema, set())):
                if tag not in fields:
                    problems.append(Problem(f"{response.pointer}", f"x-pii field {tag} is not in the policy"))
    return problems


def _tags(schema: object, seen: set[int]) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(_tags(item, seen) for item in schema)) if schema else set()
    if not isinstance(schema, Mapping) or id(schema) in seen:
        return set()
    seen.add(id(schema))
    found = {schema["x-pii"]} if isinstance(schema.get("x-pii"), str) else set()
    for key, value in schema.items():
        if not str(key).startswith("x-") and key not in ("enum", "const", "default", "example", "examples"):
            found |= _tags(value, seen)
    return found
