"""The vault's OpenAPI document says what every call can answer, not only what its route returns.

FastAPI documents each route's own answers; the middleware and the problem handlers add others to
every call: 401 and 403 (a token missing, invalid or not allowed), 429 with `Retry-After` and the
IETF `RateLimit` headers, and 500, all as problem+json (RFC 9457). Declaring them here keeps the
document true, and lets a client (or an API scanner) see them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from dataward.api.problems import MEDIA_TYPE

__all__ = ["document_api"]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_PROBLEM = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; never carries the personal data of the request.",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
}
_RATE_HEADERS = {
    "RateLimit-Policy": {"description": "The limit nearest to running out.", "schema": {"type": "string"}},
    "RateLimit": {"description": "What is left of it, and when it resets.", "schema": {"type": "string"}},
}
_RESPONSES: dict[str, dict[str, Any]] = {
    "Unauthorized": {
        "description": "No valid token: missing, expired, forged or revoked.",
        "content": _PROBLEM,
    },
    "Forbidden": {"description": "The token's role or purposes do not allow this call.", "content": _PROBLEM},
    "TooManyRequests": {
        "description": "Over a rate limit, or throttled by anomaly response.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}, **_RATE_HEADERS},
        "content": _PROBLEM,
    },
    "ServerError": {
        "description": "The server failed; the answer names the request id.",
        "content": _PROBLEM,
    },
}


def document_api(app: FastAPI, token_lifetime: int) -> None:
    """Declare that every operation takes a bearer token, except those that say otherwise (the token
    endpoint and the JWKS), how long an access token lives (`x-token-lifetime`, seconds), and the
    answers every call can get."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "x-token-lifetime": token_lifetime,
                }
            }
            components.setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
            components["responses"] = _RESPONSES
            schema["security"] = [{"bearerAuth": []}]
            for item in schema.get("paths", {}).values():
                for method in _METHODS:
                    if method in item:
                        _add_common_answers(item[method])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_common_answers(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    public = operation.get("security") == []
    common = {"429": "TooManyRequests", "500": "ServerError"}
    if not public:
        common = {"401": "Unauthorized", "403": "Forbidden", **common}
    for status, name in common.items():
        responses.setdefault(status, {"$ref": f"#/components/responses/{name}"})
    for status, response in responses.items():
        if status.startswith("2") and "$ref" not in response:
            response.setdefault("headers", {}).update(_RATE_HEADERS)
