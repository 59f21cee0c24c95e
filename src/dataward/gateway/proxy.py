"""The gateway: a pure-ASGI reverse proxy that puts the vault's controls in front of an existing API.

Per request, in this order, each step able to answer instead of the upstream:

1. route it by the OpenAPI document: a method and path the spec does not declare is refused (404,
   a shadow endpoint) and recorded in the inventory;
2. authenticate it (Dataward's own tokens, or an identity provider's from the policy), refuse
   revoked tokens, and check the operation's security scopes and its `x-dataward-purpose`;
3. count it against the rate limits (and any throttle anomaly response put on the client);
4. validate the query and the body against the spec (400, before anything reaches the upstream);
5. forward it (streaming, pooled connections, TLS or mutual TLS);
6. minimise the answer: `x-pii` properties the purpose may not see are removed, and the
   `X-Dataward-Removed` header says which; an answer carrying personal data is audited (field
   names, never values) and watched by anomaly response.

Every answer carries `X-Dataward-Proxy-Latency` (the gateway's own share, in ms) and, when the
upstream was called, `X-Dataward-Upstream-Latency`. Refusals are RFC 9457 problem+json that name
what is wrong and never echo a submitted value.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
from starlette.types import Message, Receive, Scope, Send

from dataward.access import Forbidden
from dataward.api.middleware import BodyTooLarge, request_id_of
from dataward.api.problems import MEDIA_TYPE, problem_document
from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.errors import DatawardError
from dataward.gateway.admission import bearer_token, check_scopes, content_type, purpose_of_call
from dataward.gateway.errors import InvalidBody, ShadowEndpoint
from dataward.gateway.inventory import InventoryRecorder
from dataward.gateway.minimise import Minimiser, Plan, apply_plan
from dataward.gateway.routing import MatchKind, Router
from dataward.gateway.spec import Operation, Spec
from dataward.gateway.upstream import Upstream, UpstreamUnavailable, forwardable, to_upstream
from dataward.gateway.validation import RequestValidator
from dataward.guard.errors import ClientSuspended
from dataward.guard.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from dataward.guard.ratelimit import RateDecision, RateLimited
from dataward.identity import AuthenticationFailed, InvalidToken, Principal
from dataward.services import Vault

__all__ = ["GatewayApp"]

log = structlog.get_logger("dataward.gateway")

_JSON = b"application/json"


@dataclass(slots=True)
class _Exchange:
    """What one request has learnt on its way through; read when the answer is recorded."""

    started: float
    request_id: str
    method: str
    address: str
    template: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    documented: bool = False
    principal: Principal | None = None
    purpose: str | None = None
    rate: RateDecision | None = None
    upstream_seconds: float | None = None
    status: int = 500
    answering: bool = False  # the response has started: nothing else can be answered
    recorded_method: str | None = None  # the operation's method, for the inventory


class GatewayApp:
    def __init__(
        self,
        vault: Vault,
        spec: Spec,
        upstream: Upstream,
        *,
        base_path: str = "",
        max_body_bytes: int = 1_048_576,
        flush_seconds: float = 1.0,
    ) -> None:
        self.vault = vault
        self.spec = spec
        self.router = Router(spec, base_path=base_path)
        self.validator = RequestValidator(spec)
        self.minimiser = Minimiser(spec, vault.policy)
        self.inventory = InventoryRecorder(vault.clock)
        self.upstream = upstream
        self.max_body_bytes = max_body_bytes
        self.flush_seconds = flush_seconds
        # The operations whose answers may carry personal data, as the spec marks them.
        self._personal = frozenset(op for op in spec.operations if self.minimiser.may_carry_personal_data(op))
        self._metrics_path = "/metrics" if not any(op.path == "/metrics" for op in spec.operations) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        client = scope.get("client")
        exchange = _Exchange(
            time.perf_counter(), request_id_of(scope), scope["method"], client[0] if client else "-"
        )
        if scope["path"] == self._metrics_path and scope["method"] == "GET":
            await _send_plain(send, 200, self.vault.guard.metrics.exposition(), METRICS_CONTENT_TYPE)
            return

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.answering = True
            await send(message)

        try:
            await self._handle(scope, receive, tracked, exchange)
        except DatawardError as error:
            if not exchange.answering:
                await self._refuse(tracked, exchange, error)
        except Exception as error:  # noqa: BLE001 - the last resort: the type is logged, never a message
            log.error("gateway.crashed", error=type(error).__name__, request_id=exchange.request_id)
            if not exchange.answering:  # else the upstream's answer broke off: the connection ends
                failed = DatawardError("the gateway failed; quote the request id when you report it")
                await self._refuse(tracked, exchange, failed)
        finally:
            self._record(exchange)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, exchange: _Exchange) -> None:
        method = exchange.method
        match = self.router.match(method, scope.get("raw_path", scope["path"].encode()).decode("latin-1"))
        if match.kind is MatchKind.MALFORMED:
            raise InvalidBody("the path is malformed")
        if match.kind is not MatchKind.MATCHED or match.operation is None:
            exchange.template = match.template or scope["path"]  # normalised by the inventory
            # Who probes matters to the inventory and to anomaly response: a valid token counts.
            if (token := bearer_token(scope["headers"])) is not None:
                with contextlib.suppress(DatawardError):
                    exchange.principal = await self.vault.bearer.authenticate(token)
            raise ShadowEndpoint(f"{method} is not an operation this API documents at this path")
        operation = match.operation
        exchange.template, exchange.documented, exchange.params = operation.path, True, match.params
        exchange.recorded_method = operation.method  # a HEAD counts as the GET it stands for
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if operation.public and bearer_token(headers) is None:
            exchange.rate = await self.vault.guard.admit_anonymous(
                exchange.address, f"{method} {operation.path}"
            )
        else:
            principal = await self._authenticate(headers)
            exchange.principal = principal
            exchange.purpose = purpose_of_call(operation, principal, headers)
            check_scopes(operation, principal)
            exchange.rate = await self.vault.guard.admit(principal, f"{method} {operation.path}")
        body = await _read_body(receive, self.max_body_bytes)
        problems = self.validator.validate(
            operation,
            path_params=match.params,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            content_type=content_type(headers),
            body=body,
        )
        if problems:
            raise InvalidBody("the request does not match the API's specification", problems)
        await self._forward(scope, send, exchange, operation, body)

    async def _authenticate(self, headers: list[tuple[bytes, bytes]]) -> Principal:
        token = bearer_token(headers)
        if token is None:
            raise InvalidToken("send an access token as `Authorization: Bearer <token>`")
        principal = await self.vault.bearer.authenticate(token)
        if principal.subject_id is not None:
            raise Forbidden("a data subject's token does not reach this API")
        return principal

    async def _forward(
        self, scope: Scope, send: Send, exchange: _Exchange, operation: Operation, body: bytes
    ) -> None:
        headers = to_upstream(scope["headers"], checked_token=exchange.principal is not None)
        if operation in self._personal:  # an answer to be minimised must be readable: no compression
            headers = [(n, v) for n, v in headers if n.lower() != b"accept-encoding"]
            headers.append((b"accept-encoding", b"identity"))
        headers.append((b"x-request-id", exchange.request_id.encode()))
        if exchange.principal is not None:
            headers.append((b"x-dataward-client", exchange.principal.client_id.encode()))
        if exchange.purpose is not None:
            headers.append((b"x-dataward-purpose", exchange.purpose.encode()))
        if scope.get("client"):
            headers.append((b"x-forwarded-for", scope["client"][0].encode()))
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"")
        url = f"{path}?{query.decode('latin-1')}" if query else path
        sent_at = time.perf_counter()
        try:
            # A HEAD goes on as the GET it stands for (not every upstream answers HEAD), and only
            # the answer's head comes back.
            method = "GET" if exchange.method == "HEAD" else exchange.method
            response = await self.upstream.send(method, url, headers, body)
        except UpstreamUnavailable:
            log.warning("upstream.failed", request_id=exchange.request_id)
            raise
        exchange.upstream_seconds = time.perf_counter() - sent_at
        try:
            status = response.status
            exchange.status = status
            out_headers = forwardable(list(response.raw_headers))
            plan = self._plan(operation, exchange, response)
            if plan is not None:
                await self._send_minimised(send, exchange, plan, response, out_headers)
                return
            out_headers.extend(self._latency_headers(exchange, include_rate=True))
            if (length := response.headers.get("content-length")) is not None:
                out_headers.append((b"content-length", length.encode()))
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            if exchange.method != "HEAD":
                async for chunk in response.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            response.release()

    def _plan(
        self, operation: Operation, exchange: _Exchange, response: aiohttp.ClientResponse
    ) -> Plan | None:
        """What to remove from a JSON answer for this purpose; None (stream it untouched) when the
        answer carries no personal data."""
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower().encode()
        if exchange.method == "HEAD" or (content_type != _JSON and not content_type.endswith(b"+json")):
            return None  # no body to read, or none the spec describes as JSON
        return self.minimiser.plan(operation, response.status, exchange.purpose)

    async def _send_minimised(
        self,
        send: Send,
        exchange: _Exchange,
        plan: Plan,
        response: aiohttp.ClientResponse,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            # Asked for with `Accept-Encoding: identity` (see `_forward`): anything else cannot be
            # read to be minimised, so nothing is passed on.
            raise UpstreamUnavailable("the upstream API compressed an answer that must be minimised")
        try:
            document = json.loads(await response.read())
        except (UnicodeDecodeError, ValueError):
            # Not the JSON the spec promised: nothing can be minimised, so nothing is passed on.
            raise UpstreamUnavailable(
                "the upstream API answered with a body that is not valid JSON"
            ) from None
        result = apply_plan(plan, document)
        if result.personal and exchange.principal is not None:
            subjects = _subjects(exchange, result.body)
            suspended = await self.vault.guard.watch_read(
                exchange.principal.client_id, subjects, max(1, len(subjects)), exchange.request_id
            )
            if suspended:
                await self._refuse(send, exchange, ClientSuspended())
                return
        payload = json.dumps(result.body, separators=(",", ":"), ensure_ascii=False).encode()
        if result.personal:
            await self._audit_personal_data(exchange, result.personal)
        headers.append((b"content-length", str(len(payload)).encode()))
        if result.removed:
            headers.append((b"x-dataward-removed", ", ".join(result.removed).encode()))
            self.vault.guard.metrics.fields_removed(len(result.removed))
        headers.extend(self._latency_headers(exchange, include_rate=True))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _audit_personal_data(self, exchange: _Exchange, fields: tuple[str, ...]) -> None:
        principal = exchange.principal
        event = AuditEvent(
            AuditAction.GATEWAY_RESPONSE,
            principal.client_id if principal else "-",
            Outcome.ALLOWED,
            exchange.request_id,
            None,
            fields,
            exchange.purpose,
            f"{exchange.method} {exchange.template} answered {exchange.status}",
            principal.token_id if principal else None,
        )
        await self.vault.audit.record(event)

    async def _refuse(self, send: Send, exchange: _Exchange, error: DatawardError) -> None:
        exchange.status = error.status
        guard = self.vault.guard
        guard.metrics.denial(error.slug)
        if error.status in (401, 403, 404):  # token guessing, probing: bursts are alerted and throttled
            client = exchange.principal.client_id if exchange.principal is not None else None
            await guard.watch_failure(client, exchange.address, exchange.request_id)
        headers = [(b"content-type", MEDIA_TYPE.encode())]
        if isinstance(error, AuthenticationFailed):
            headers.append((b"www-authenticate", error.challenge.encode()))
        if isinstance(error, RateLimited):
            headers.extend(error.decision.headers())
        headers.extend(self._latency_headers(exchange, include_rate=not isinstance(error, RateLimited)))
        payload = json.dumps(problem_document(error, exchange.request_id)).encode()
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _latency_headers(self, exchange: _Exchange, *, include_rate: bool) -> list[tuple[bytes, bytes]]:
        elapsed = time.perf_counter() - exchange.started
        upstream = exchange.upstream_seconds
        own = elapsed - (upstream or 0.0)
        out = [(b"x-request-id", exchange.request_id.encode()), (b"x-dataward-proxy-latency", _ms(own))]
        if upstream is not None:
            out.append((b"x-dataward-upstream-latency", _ms(upstream)))
        if include_rate and exchange.rate is not None:
            out.extend(exchange.rate.headers())
        return out

    def _record(self, exchange: _Exchange) -> None:
        """Inventory and metrics for every exchange, answered by the upstream or by us."""
        elapsed = time.perf_counter() - exchange.started
        upstream = exchange.upstream_seconds
        metrics = self.vault.guard.metrics
        route = exchange.template or "-"
        metrics.request(exchange.method, route if exchange.documented else "(undocumented)",
                        exchange.status, elapsed - (upstream or 0.0))  # fmt: skip
        if upstream is not None:
            metrics.upstream(upstream)
        if exchange.template is not None:
            self.inventory.record(
                exchange.recorded_method or exchange.method, exchange.template, exchange.documented,
                exchange.status,
                authenticated=exchange.principal is not None,
            )  # fmt: skip

    async def _flush_every(self, stop: asyncio.Event) -> None:
        """Write the inventory's counts to the database every `flush_seconds`, off the event loop."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.flush_seconds)
            if self.inventory.pending and not stop.is_set():
                try:
                    await asyncio.to_thread(self.inventory.flush, self.vault.engine)
                except Exception as error:  # noqa: BLE001 - the counts are kept for the next flush
                    log.warning("inventory.flush_failed", error=type(error).__name__)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        stop = asyncio.Event()
        background: asyncio.Future[tuple[None, None]] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.upstream.open()
                background = asyncio.gather(self._flush_every(stop), self.vault.guard.run(stop))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                stop.set()
                if background is not None:
                    await background
                await asyncio.to_thread(self.inventory.flush, self.vault.engine)
                await self.upstream.close()
                await self.vault.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _subjects(exchange: _Exchange, body: Any) -> tuple[str, ...]:
    """Who an answer is about, as well as a gateway can tell: the path's parameters for one object,
    else the `id` of each object in the list the answer holds. Namespaced by the path template, so
    customer 7 and order 7 are not one subject."""
    if exchange.params:
        return (f"{exchange.template}:{'/'.join(exchange.params.values())}",)
    items = body if isinstance(body, list) else None
    if isinstance(body, dict):
        items = next((v for v in body.values() if isinstance(v, list)), None)
    if items is None:
        return ()
    return tuple(
        f"{exchange.template}:{item['id']}" for item in items if isinstance(item, dict) and "id" in item
    )


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body may be at most {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_plain(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _ms(seconds: float) -> bytes:
    return f"{seconds * 1000:.3f}".encode()
