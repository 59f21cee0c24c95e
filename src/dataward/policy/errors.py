"""Errors of the policy domain."""

from __future__ import annotations

from collections.abc import Sequence

from dataward.errors import DatawardError, Problem

__all__ = ["PolicyError"]


class PolicyError(DatawardError):
    """The policy is invalid; `problems` names each path in the file and what is wrong there."""

    slug = "invalid-policy"
    title = "The policy is not valid"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")
