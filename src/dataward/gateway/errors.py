"""Errors of the gateway domain.

    DatawardError
    ├── GatewayError
    │   └── SpecError      the OpenAPI document cannot drive the gateway (each problem names its
    │                      JSON pointer); a configuration error for the CLI, never an HTTP status
    ├── InvalidRequest
    │   └── InvalidBody (400)       a request that does not match the spec
    └── NotFound
        └── ShadowEndpoint (404)    a method and path the spec does not declare

Routing and validation return results and problems, so their hot paths never pay for raising and
catching; the proxy raises these once it has decided to refuse.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataward.errors import DatawardError, InvalidRequest, NotFound, Problem

__all__ = ["GatewayError", "InvalidBody", "ShadowEndpoint", "SpecError"]


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


class InvalidBody(InvalidRequest):
    """A request that does not match the spec: 400, as the issue and most gateways answer."""

    status = 400


class ShadowEndpoint(NotFound):
    slug = "shadow-endpoint"
    title = "Not an endpoint of this API"
