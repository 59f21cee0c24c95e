"""How the clean Acme HR speaks HTTP: problem+json errors (RFC 9457), the answers each operation
declares, pages, and a fixed-window rate limit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from pydantic.config import JsonDict
from starlette.exceptions import HTTPException

__all__ = [
    "PII",
    "PROBLEM_JSON",
    "Cursor",
    "FixedWindowLimiter",
    "Limit",
    "Problem",
    "answers",
    "install_problem_handlers",
    "page",
    "purpose",
    "rate_limited",
]

PROBLEM_JSON = "application/problem+json"
PII: JsonDict = {"x-pii": True}

T = TypeVar("T")


class Problem(BaseModel):
    """An error, as RFC 9457 describes it."""

    type: str = Field("about:blank", max_length=200)
    title: str = Field(max_length=200)
    status: int = Field(ge=400, le=599)
    detail: str | None = Field(None, max_length=2000)


def problem(status: int, detail: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


async def _http_problem(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise TypeError(exc)
    if exc.status_code < 400 or exc.status_code == 304:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def _validation_problem(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        raise TypeError(exc)
    # Where and what, never the value sent: it may be personal data.
    where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return problem(422, where[:2000])


async def _unexpected_problem(request: Request, exc: Exception) -> Response:
    return problem(500, "Something went wrong on our side; it has been logged.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(Exception, _unexpected_problem)


# -- what every operation declares ----------------------------------------------------------------

_RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds until a retry may succeed", "schema": {"type": "integer"}},
    "RateLimit": {"description": "The quota left (draft-ietf-httpapi-ratelimit-headers)",
                  "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": "The quota policy", "schema": {"type": "string"}},
}  # fmt: skip


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an operation: `statuses`, plus 429 and 500, all problem+json."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 429, 500):
        content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        declared[status] = {"description": HTTPStatus(status).phrase, "content": content}
    declared[429]["headers"] = _RATE_LIMIT_HEADERS
    return declared


def purpose(name: str) -> dict[str, Any]:
    """`openapi_extra` naming what an operation's personal data is processed for."""
    return {"x-dataward-purpose": name}


# -- pages ----------------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page")]
Cursor = Annotated[
    str | None, Query(max_length=12, pattern=r"^[0-9]{1,12}$", description="From a page's `next_cursor`")
]


def page(items: Sequence[T], limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    start = int(cursor or 0)
    end = start + limit
    return list(items[start:end]), (str(end) if end < len(items) else None)


# -- rate limits ----------------------------------------------------------------------------------


class FixedWindowLimiter:
    """`limit` requests per client and bucket in each `window` seconds."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def wait(self, bucket: str, client: str) -> float:
        """Counts a request; the seconds to wait before the next may pass, 0 if this one may."""
        now = self._clock()
        started, count = self._windows.get((bucket, client), (now, 0))
        if now - started >= self.window:
            started, count = now, 0
        self._windows[bucket, client] = (started, count + 1)
        return 0.0 if count < self.limit else started + self.window - now


def rate_limited(bucket: str) -> Callable[[Request], None]:
    """A dependency refusing, with 429, requests over the app's `state.limiter` quota."""

    def check(request: Request) -> None:
        limiter = request.app.state.limiter
        if not isinstance(limiter, FixedWindowLimiter):
            raise TypeError("app.state.limiter is not a FixedWindowLimiter")
        seconds = limiter.wait(bucket, request.client.host if request.client else "unknown")
        if seconds:
            retry = str(math.ceil(seconds))
            headers = {
                "Retry-After": retry,
                "RateLimit": f'"{bucket}";r=0;t={retry}',
                "RateLimit-Policy": f'"{bucket}";q={limiter.limit};w={int(limiter.window)}',
            }
            raise HTTPException(429, "Too many requests; retry later.", headers=headers)

    return check
