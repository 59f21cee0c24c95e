"""The one place where errors become RFC 9457 problem+json responses.

A response names what is wrong (paths, field names, reasons) and carries the request id; it never
echoes a submitted value and never carries a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from dataward.errors import DatawardError, InvalidRequest, Problem, format_path
from dataward.guard.ratelimit import RateLimited

__all__ = ["HttpProblem", "install_problem_handlers", "problem_document", "problem_response"]

log = structlog.get_logger(__name__)
MEDIA_TYPE = "application/problem+json"


def problem_document(error: DatawardError, request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:dataward:problem:{error.slug}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if request_id:
        body["instance"] = f"urn:dataward:request:{request_id}"
        body["request_id"] = request_id
    body.update(error.extensions)
    return body


def problem_response(
    error: DatawardError, request_id: str | None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        problem_document(error, request_id), status_code=error.status, media_type=MEDIA_TYPE, headers=headers
    )


class HttpProblem(DatawardError):
    """A routing-level error from Starlette (no such route, method not allowed), as a problem."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = f"http-{status}"
        self.title = {404: "Not found", 405: "Method not allowed"}.get(status, "HTTP error")


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


async def _dataward_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatawardError)
    headers = {}
    challenge = getattr(exc, "challenge", None)
    if exc.status == 401 and challenge:
        headers["WWW-Authenticate"] = challenge
    if isinstance(exc, RateLimited):
        headers.update((name.decode(), value.decode()) for name, value in exc.decision.headers())
    if exc.status in (401, 403, 404, 429) and (guard := getattr(request.app.state, "guard", None)):
        guard.metrics.denial(exc.slug)
        if exc.status != 429:  # token guessing, id enumeration: bursts are alerted and throttled
            principal = request.scope.get("state", {}).get("principal")
            client = principal.client_id if principal is not None else None
            address = request.client.host if request.client else "-"
            await guard.watch_failure(client, address, _request_id(request) or "-")
    if exc.status >= 500:
        log.warning("request.error", problem=exc.slug, request_id=_request_id(request))
    return problem_response(exc, _request_id(request), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [Problem(format_path(err["loc"]), err["msg"]) for err in exc.errors()]
    error = InvalidRequest("the request does not match its schema", problems)
    return problem_response(error, _request_id(request))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "see the status code"
    return problem_response(HttpProblem(exc.status_code, detail), _request_id(request), exc.headers)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DatawardError, _dataward_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
