"""Anomaly response: carry out the step a `Verdict` names, in the order that stops a thief first.

1. throttle (throttle and suspend): the client or address is held to the policy's `throttle_to`,
   read by the rate limiter on its next call, on every replica when throttles live in Redis;
2. suspend: every token issued to the client so far is revoked (`Revocations.cut_off`), and the
   client is suspended (the `suspend` callable, `ClientRegistry.suspend`) so it gets no new one
   until a person reinstates it;
3. a metric (by kind and level), an audit entry (`guard:anomaly:*`, `guard:failures:*`: the client,
   no subject, the verdict's explanation as the reason), and a signed webhook when the policy
   names one (delivered once with a short timeout; a failure is logged, never raised: the steps
   that protect the data are already taken, and the audit entry holds the alert).

Nothing here holds personal data: verdicts carry counts, hours and a client key.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import httpx
import structlog

from dataward.audit.events import AuditEvent, Outcome
from dataward.audit.tags import AuditAction
from dataward.clock import Clock
from dataward.guard.revocations import Revocations
from dataward.guard.throttles import Throttles
from dataward.guard.verdicts import Kind, Level, Verdict
from dataward.policy.edge import AnomalyRules
from dataward.rights.webhooks import webhook_headers

__all__ = ["AnomalyResponder", "AuditRecorder", "Response", "Suspend"]

log = structlog.get_logger(__name__)

Suspend = Callable[[str, str], bool]
"""Suspends a client (`client_id`, `reason`) until a person reinstates it; False when there was
nothing to suspend (unknown, or suspended already). A blocking call: it is run in a worker thread."""

SecretLookup = Callable[[str], str | None]

_ACTIONS = {
    (Kind.READS, Level.ALERT): AuditAction.ANOMALY_ALERT,
    (Kind.READS, Level.THROTTLE): AuditAction.ANOMALY_THROTTLE,
    (Kind.READS, Level.SUSPEND): AuditAction.ANOMALY_SUSPEND,
    (Kind.FAILURES, Level.ALERT): AuditAction.FAILURES_ALERT,
    (Kind.FAILURES, Level.THROTTLE): AuditAction.FAILURES_THROTTLE,
    (Kind.FAILURES, Level.SUSPEND): AuditAction.FAILURES_THROTTLE,  # failures never suspend
}
_REASON_LENGTH = 255  # the audit column's width


class AuditRecorder(Protocol):
    """The audit log (`AuditLog`), as far as the responder needs it."""

    async def record(self, event: AuditEvent) -> object: ...


@dataclass(frozen=True, slots=True)
class Response:
    """What was done about a verdict."""

    verdict: Verdict
    throttled_until: float | None  # None: not throttled
    cut_off: bool  # every token issued so far revoked
    suspended: bool | None  # None: not called for; False: suspended already, or the call failed
    webhook: str  # delivered | failed | not configured | no secret


class AnomalyResponder:
    def __init__(
        self,
        rules: AnomalyRules,
        *,
        audit: AuditRecorder,
        throttles: Throttles,
        revocations: Revocations,
        suspend: Suspend,
        clock: Clock,
        http: httpx.AsyncClient | None = None,
        secret_lookup: SecretLookup = os.environ.get,
        metric: Callable[[str, str], object] | None = None,
        webhook_timeout: float = 3.0,
    ) -> None:
        """`metric(kind, level)` is called once per verdict (e.g. `Metrics.anomaly`); the same
        counts are kept in `counts`."""
        self._rules = rules
        self._audit = audit
        self._throttles = throttles
        self._revocations = revocations
        self._suspend = suspend
        self._clock = clock
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=webhook_timeout, follow_redirects=False)
        self._secret_lookup = secret_lookup
        self._metric = metric
        self.counts: Counter[tuple[str, str]] = Counter()  # (kind, level) -> verdicts answered

    async def respond(self, verdict: Verdict, *, request_id: str = "-") -> Response:
        """Carry out the verdict's step (see the module's docstring for the order)."""
        now = self._clock.timestamp()
        throttled_until: float | None = None
        cut_off = failed = False
        suspended: bool | None = None
        if verdict.level.rank >= Level.THROTTLE.rank:
            throttled_until = now + self._rules.throttle_minutes * 60
            await self._throttles.throttle(verdict.key, self._rules.throttle_to, throttled_until)
        client_id = verdict.client_id
        if verdict.level is Level.SUSPEND and verdict.kind is Kind.READS and client_id is not None:
            await self._revocations.cut_off(client_id, now)
            cut_off = True
            try:
                suspended = await asyncio.to_thread(
                    self._suspend, client_id, verdict.explanation[:_REASON_LENGTH]
                )
            except Exception as error:  # noqa: BLE001 - tokens are cut off already; the entry says FAILED
                log.error("anomaly.suspend_failed", client_id=client_id, error=type(error).__name__)
                suspended, failed = False, True
        self.counts[str(verdict.kind), str(verdict.level)] += 1
        if self._metric is not None:
            self._metric(str(verdict.kind), str(verdict.level))
        taken = Response(verdict, throttled_until, cut_off, suspended, webhook="not sent yet")
        event = AuditEvent(
            action=_ACTIONS[verdict.kind, verdict.level],
            client_id=client_id if client_id is not None else verdict.key,
            outcome=Outcome.FAILED if failed else Outcome.ALLOWED,
            request_id=request_id,
            reason=verdict.explanation[:_REASON_LENGTH],
        )
        try:
            await self._audit.record(event)
        finally:
            # Sent even when the audit log is down: then the person on call most needs to know.
            taken = replace(taken, webhook=await self._notify(taken))
        return taken

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def _notify(self, response: Response) -> str:
        webhook = self._rules.webhook
        if webhook is None:
            return "not configured"
        secret = self._secret_lookup(webhook.secret_env)
        if not secret:
            log.warning("anomaly.webhook_secret_missing", variable=webhook.secret_env)
            return "no secret"
        verdict = response.verdict
        event_id = str(uuid.uuid4())
        kind = str(_ACTIONS[verdict.kind, verdict.level])
        body = json.dumps(
            {
                "id": event_id,
                "event": kind,
                "verdict": verdict.as_dict(),
                "response": {
                    "throttled_to": self._rules.throttle_to if response.throttled_until else None,
                    "throttled_until": response.throttled_until,
                    "tokens_revoked": response.cut_off,
                    "suspended": response.suspended,
                },
            },
            separators=(",", ":"),
        ).encode()
        headers = webhook_headers(
            event_id=event_id,
            kind=kind,
            secret=secret.encode(),
            body=body,
            timestamp=int(self._clock.timestamp()),
        )
        try:
            # Streamed and never read: the answer's status is all that counts.
            async with self._http.stream("POST", webhook.url, content=body, headers=headers) as answer:
                status = answer.status_code
        except Exception as error:  # noqa: BLE001 - an alert channel down must not stop the response
            log.warning("anomaly.webhook_failed", error=type(error).__name__, tag=kind)
            return "failed"
        if not 200 <= status < 300:
            log.warning("anomaly.webhook_refused", status=status, tag=kind)
            return "failed"
        return "delivered"
