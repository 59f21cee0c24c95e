"""Read a policy file, validate it, and report every problem by its path (and line) in the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dataward.errors import Problem, format_path
from dataward.policy.errors import PolicyError
from dataward.policy.models import Policy
from dataward.policy.references import check_references

__all__ = ["load_policy", "parse_policy"]


def load_policy(path: Path) -> Policy:
    """Load and validate the policy at `path`; raise `PolicyError` naming every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), [Problem("", f"cannot read the policy: {exc.strerror}")]) from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(source, [Problem(where, f"not valid YAML: {_reason(exc)}")]) from None
    if not isinstance(data, dict):
        raise PolicyError(source, [Problem("", "the policy must be a YAML mapping")])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(format_path(err["loc"]), _message(err)) for err in exc.errors(include_input=False)
        ]
        raise PolicyError(source, _with_lines(problems, node)) from None
    problems = check_references(policy)
    if problems:
        raise PolicyError(source, _with_lines(problems, node))
    return policy


def _message(err: Any) -> str:
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    return msg


def _reason(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).strip()


def _with_lines(problems: list[Problem], root: yaml.Node | None) -> list[Problem]:
    """Prefix each problem with the line in the file where its path points."""
    out = []
    for p in problems:
        line = _line_of(root, p.path)
        out.append(Problem(p.path, f"{p.message} (line {line})") if line else p)
    return out


def _line_of(root: yaml.Node | None, path: str) -> int | None:
    node = root
    best = None
    for part in _split(path):
        if node is None:
            break
        best = node.start_mark.line + 1
        node = _child(node, part)
    if node is not None:
        best = node.start_mark.line + 1
    return best


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return value if isinstance(part, str) else None
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None


def _split(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indexes)
    return parts
