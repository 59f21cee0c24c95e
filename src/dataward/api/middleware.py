"""One pure-ASGI middleware for what every request needs: a request id, a body size limit, security
headers, an access log line that names the route template (never a path with ids in it), and a
last-resort handler that answers 500 problem+json without letting a stack trace or an exception
message (which may hold personal data) reach the client or the logs."""

from __future__ import annotations

import json
import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataward.api.problems import MEDIA_TYPE, problem_document
from dataward.errors import DatawardError

__all__ = ["BodyTooLarge", "SecurityMiddleware"]

log = structlog.get_logger("dataward.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The OWASP REST security headers; each header costs the HTTP server time on every response.
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
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
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, access_log: bool = True) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, declared = _read_headers(scope)
        scope.setdefault("state", {})["request_id"] = request_id
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
                message["headers"] = [*message.get("headers", []), *_HEADERS, *extra]
            await send(message)

        try:
            if declared is not None and declared > self.max_body_bytes:
                too_large = BodyTooLarge(f"the body may be at most {self.max_body_bytes} bytes")
                await _send_problem(send_with_headers, too_large, request_id)
            else:
                await self.app(scope, self._limited(receive), send_with_headers)
        except Exception as exc:  # noqa: BLE001 - the last resort: answer 500, log the type only
            log.error("request.crashed", error=type(exc).__name__, request_id=request_id)
            if not response_started:
                crashed = DatawardError("the server failed; quote the request id when you report it")
                await _send_problem(send_with_headers, crashed, request_id)
        if self.access_log:
            route = scope.get("route")
            log.info(
                "request",
                method=scope["method"],
                route=getattr(route, "path", "-"),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )

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


def _read_headers(scope: Scope) -> tuple[str, int | None]:
    """The request id (the client's, when it is safe to echo, else a new one) and the declared
    body length, in one pass over the headers."""
    request_id: str | None = None
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.match(text):
                request_id = text
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
    return request_id or secrets.token_hex(8), length


async def _send_problem(send: Send, error: DatawardError, request_id: str) -> None:
    payload = json.dumps(problem_document(error, request_id)).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
