"""Local `$ref` resolution for an OpenAPI document, safe with cycles.

Every `$ref` to `#/...` is replaced by its target, itself resolved, so the gateway's hot path never
follows a reference. Resolutions are shared, not copied: a schema used in fifty places is one dict,
and the document never grows exponentially. Treat what comes out as read-only.

Two kinds of cycle, told apart by whether the instance gets deeper on the way round:

- a recursive schema (a category whose `children` are categories) is legitimate: where the cycle
  closes, the reference stays as `{"$ref": "urn:dataward:spec#/components/schemas/Category"}`,
  an absolute URI that `validation` resolves through a `referencing` registry and `minimise`
  through `Spec.recursive_schemas`; everything else is a finite tree;
- a cycle that never descends into the instance (`A: {$ref: B}`, `B: {allOf: [{$ref: A}]}`) would
  make any validator loop forever, so it is a problem at the pointer where it closes.

Remote references (`other.yaml#/...`, `https://...`) are refused: the gateway never fetches at
start-up what an attacker might control, and a spec should be bundled first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from dataward.errors import Problem
from dataward.pointers import escape_pointer, unescape_pointer

__all__ = ["REF_BASE", "RefResolver", "escape_pointer", "is_broken"]

REF_BASE = "urn:dataward:spec"

# Keywords whose subschemas apply to a part of the instance, not to the instance itself: a cycle
# that passes through one of them ends when the instance does.
_DEEPER = frozenset(
    {
        "properties",
        "patternProperties",
        "additionalProperties",
        "unevaluatedProperties",
        "propertyNames",
        "items",
        "prefixItems",
        "additionalItems",
        "unevaluatedItems",
        "contains",
    }
)
# Values that are data, not document structure: a `$ref` key inside them is not a reference.
_DATA = frozenset({"example", "examples", "enum", "const", "default"})
# JSON Schema keywords: beside a `$ref` in OpenAPI 3.1 they apply together with the target.
_SCHEMA_KEYWORDS = frozenset(
    {
        "type", "enum", "const", "format", "pattern", "minLength", "maxLength", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "properties", "patternProperties",
        "additionalProperties", "unevaluatedProperties", "required", "minProperties", "maxProperties",
        "propertyNames", "dependentRequired", "dependentSchemas", "items", "prefixItems", "contains",
        "minItems", "maxItems", "uniqueItems", "minContains", "maxContains", "unevaluatedItems",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    }
)  # fmt: skip


class _Broken(dict[str, Any]):
    """What a reference that could not be resolved becomes; its problem is already reported."""


def is_broken(node: object) -> bool:
    """Whether `node` stands for a reference that could not be resolved (say nothing more of it)."""
    return isinstance(node, _Broken)


class RefResolver:
    """Resolves the references of one document; problems are appended to `problems`."""

    def __init__(self, document: Mapping[str, Any], *, siblings_apply: bool, problems: list[Problem]) -> None:
        self._document = document
        self._siblings_apply = siblings_apply  # OpenAPI 3.1: keywords beside a $ref count
        self._problems = problems
        self._memo: dict[str, Any] = {}
        self._in_progress: dict[str, int] = {}  # target pointer -> instance depth where it began
        self._recursive: set[str] = set()

    @property
    def recursive_schemas(self) -> dict[str, Any]:
        """Each target left as a `$ref` where a recursive schema closes, by pointer (`/components/...`)."""
        return {pointer: self._memo[pointer] for pointer in self._recursive if pointer in self._memo}

    def resolve(self, node: Any, pointer: str) -> Any:
        """`node` (found at `pointer`) with every local reference in it resolved."""
        return self._resolve(node, pointer, 0)

    def _resolve(self, node: Any, pointer: str, depth: int) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return self._follow(node, pointer, depth)
            out: dict[str, Any] = {}
            for key, value in node.items():
                name = str(key)
                if name in _DATA or name.startswith("x-"):
                    out[name] = value
                    continue
                deeper = depth + 1 if name in _DEEPER else depth
                out[name] = self._resolve(value, f"{pointer}/{escape_pointer(name)}", deeper)
            return out
        if isinstance(node, list):
            return [self._resolve(item, f"{pointer}/{i}", depth) for i, item in enumerate(node)]
        return node

    def _follow(self, node: Mapping[str, Any], pointer: str, depth: int) -> Any:
        where = f"{pointer}/$ref"
        ref = node["$ref"]
        target = self._target_pointer(ref, where)
        if target is None:
            return _Broken()
        if target in self._in_progress:
            if self._in_progress[target] == depth:
                self._problems.append(
                    Problem(
                        where, f"circular $ref to {ref} that never descends into the data: it can never end"
                    )
                )
                return {}
            self._recursive.add(target)
            resolved: Any = {"$ref": f"{REF_BASE}#{target}"}
        elif target in self._memo:
            resolved = self._memo[target]
        else:
            found = self._lookup(target, where, ref)
            if found is None:
                return _Broken()
            self._in_progress[target] = depth
            try:
                resolved = self._resolve(found, target, depth)
            finally:
                del self._in_progress[target]
            self._memo[target] = resolved
        return self._with_siblings(resolved, node, pointer, depth)

    def _with_siblings(self, resolved: Any, node: Mapping[str, Any], pointer: str, depth: int) -> Any:
        siblings = {str(k): v for k, v in node.items() if k != "$ref"}
        if not siblings or not isinstance(resolved, dict):
            return resolved
        annotations = {k: v for k, v in siblings.items() if k not in _SCHEMA_KEYWORDS}
        keywords = {k: v for k, v in siblings.items() if k in _SCHEMA_KEYWORDS}
        if keywords and self._siblings_apply:
            extra = self._resolve(keywords, pointer, depth)
            return {**extra, **annotations, "allOf": [*extra.get("allOf", []), resolved]}
        # Extensions (`x-pii`) and descriptions beside a $ref are kept in every version: authors
        # write them there, and it is where a reader of the document would look for them.
        return {
            **resolved,
            **{k: v for k, v in annotations.items() if k.startswith("x-") or k == "description"},
        }

    def _target_pointer(self, ref: object, where: str) -> str | None:
        if not isinstance(ref, str):
            self._problems.append(Problem(where, "$ref must be a string"))
            return None
        if not ref.startswith("#"):
            self._problems.append(
                Problem(where, "only local references (#/...) are supported; bundle the document first")
            )
            return None
        fragment = unquote(ref[1:])
        if fragment and not fragment.startswith("/"):
            self._problems.append(Problem(where, "a $ref fragment must be a JSON pointer (#/components/...)"))
            return None
        return fragment

    def _lookup(self, target: str, where: str, ref: str) -> Any:
        node: Any = self._document
        for raw in target.split("/")[1:]:
            token = unescape_pointer(raw)
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                self._problems.append(Problem(where, f"$ref target {ref} does not exist"))
                return None
        return node
