"""Errors of the gateway domain.

    DatawardError
    └── GatewayError
        └── SpecError      the OpenAPI document cannot drive the gateway (each problem names its
                           JSON pointer); a configuration error for the CLI, never an HTTP status

Requests the gateway refuses are not errors here: routing and validation return results and
problems, so the hot path never pays for raising and catching.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataward.errors import DatawardError, Problem

__all__ = ["GatewayError", "SpecError"]


class GatewayError(DatawardError):
    """The root of the gateway's errors."""

    slug = "gateway-error"
    title = "Gateway error"


class SpecError(GatewayError):
    """The OpenAPI document is invalid or uses what the gateway cannot enforce; `problems` holds
    one `Problem` per JSON pointer (`/paths/~1customers/get/parameters/0`) and what is wrong there."""

    slug = "invalid-spec"
    title = "The OpenAPI document is not usable"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p.path or '/'}: {p.message}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")
