"""One pure-ASGI middleware for what every request needs: a request id, a body size limit, security
headers, the rate limit of calls without a token (by address) and the RateLimit headers of every
answer, metrics and an access log line that name the route template (never a path with ids in it),
and a last-resort handler that answers 500 problem+json without letting a stack trace or an
exception message (which may hold personal data) reach the client or the logs.

Calls with a bearer token are counted against their client's limits where the token is verified
(`dataward.api.deps`), which leaves its decision in the request's state for the headers."""

from __future__ import annotations

import json
import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataward.api.problems import MEDIA_TYPE, problem_document
from dataward.errors import DatawardError
from dataward.guard.ratelimit import RateLimited
from dataward.guard.service import Guard

__all__ = ["BodyTooLarge", "SecurityMiddleware", "request_id_of"]

log = structlog.get_logger("dataward.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The OWASP REST security headers; each header costs the HTTP server time on every response.
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
_HEADERS_BUT_CACHE = [h for h in _HEADERS if h[0] != b"cache-control"]
_STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# The interactive docs load Swagger UI's script and style from a CDN.
_DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"img-src 'self' data: https://fastapi.tiangolo.com; "
    b"frame-ancestors 'none'",
)
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class BodyTooLarge(DatawardError):
    status = 413
    slug = "body-too-large"
    title = "The request body is too large"


class SecurityMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, access_log: bool = True, guard: Guard | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, declared, bearer = _read_headers(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        extra = [(b"x-request-id", request_id.encode())]
        extra.append(_DOCS_CSP if scope["path"] in ("/docs", "/redoc") else _STRICT_CSP)
        if scope.get("scheme") == "https":
            extra.append(_HSTS)
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                own = message.get("headers", [])
                # A route that sets its own Cache-Control (the token endpoints) keeps it alone.
                ours = _HEADERS if not any(n == b"cache-control" for n, _ in own) else _HEADERS_BUT_CACHE
                message["headers"] = [*own, *ours, *extra]
                if (rate := state.get("rate")) is not None:
                    message["headers"].extend(rate.headers())
            await send(message)

        try:
            if declared is not None and declared > self.max_body_bytes:
                too_large = BodyTooLarge(f"the body may be at most {self.max_body_bytes} bytes")
                await _send_problem(send_with_headers, too_large, request_id)
            elif bearer or await self._admit_anonymous(scope, send_with_headers):
                await self.app(scope, self._limited(receive), send_with_headers)
        except Exception as exc:  # noqa: BLE001 - the last resort: answer 500, log the type only
            log.error("request.crashed", error=type(exc).__name__, request_id=request_id)
            if not response_started:
                crashed = DatawardError("the server failed; quote the request id when you report it")
                await _send_problem(send_with_headers, crashed, request_id)
        route = getattr(scope.get("route"), "path", "-")
        elapsed = time.perf_counter() - started
        if self.guard is not None:
            self.guard.metrics.request(scope["method"], route, status, elapsed)
        if self.access_log:
            log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                ms=round(elapsed * 1000, 2),
                request_id=request_id,
            )

    async def _admit_anonymous(self, scope: Scope, send: Send) -> bool:
        """Count a call without a token against its address; answer 429 and say False when over."""
        if self.guard is None:
            return True
        client = scope.get("client")
        address = client[0] if client else "-"
        try:
            scope["state"]["rate"] = await self.guard.admit_anonymous(
                address, f"{scope['method']} {scope['path']}"
            )
        except RateLimited as exc:
            self.guard.metrics.denial(exc.slug)
            await _send_problem(send, exc, scope["state"]["request_id"], exc.decision.headers())
            return False
        return True

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(f"the body may be at most {limit} bytes")
            return message

        return receive_limited


def request_id_of(scope: Scope) -> str:
    """The request's id: the caller's `X-Request-Id` when it is safe to echo, else a new one."""
    return _read_headers(scope)[0]


def _read_headers(scope: Scope) -> tuple[str, int | None, bool]:
    """The request id (the client's, when it is safe to echo, else a new one), the declared body
    length and whether a bearer token is offered, in one pass over the headers."""
    request_id: str | None = None
    length: int | None = None
    bearer = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            bearer = value[:7].lower() == b"bearer "
            continue
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.match(text):
                request_id = text
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
    return request_id or secrets.token_hex(8), length, bearer


async def _send_problem(
    send: Send, error: DatawardError, request_id: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(problem_document(error, request_id)).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(payload)).encode())]
    headers.extend(extra or ())
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
