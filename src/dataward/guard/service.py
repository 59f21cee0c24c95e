"""The guard: what watches every call at the edge, for the vault and the gateway alike.

It admits a call (rate limits, and any throttle anomaly response put on the client or address),
watches what a client reads and what fails (anomaly response: alert, throttle, then revoke and
suspend), and counts it all (Prometheus metrics). Revocations are checked where tokens are
verified (`dataward.identity.bearer`). Counters and throttles live in Redis when
`DATAWARD_REDIS_URL` is set, so that every replica judges one client by all of its traffic.

Detection fails open: when Redis or the database cannot be reached, the call goes on and the
failure is logged; rate limits, which guard capacity as well as data, fail closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import structlog
from sqlalchemy import Engine

from dataward.audit.log import AuditLog
from dataward.clock import Clock
from dataward.guard.anomaly import AnomalyDetector, close_hours_every
from dataward.guard.baseline_store import BaselineStore
from dataward.guard.live_counts import LiveCounts, MemoryLiveCounts, RedisLiveCounts
from dataward.guard.metrics import Metrics
from dataward.guard.ratelimit import RateDecision, RateLimiter, storage_for
from dataward.guard.response import AnomalyResponder, Suspend
from dataward.guard.revocations import Revocations
from dataward.guard.throttles import MemoryThrottles, RedisThrottles, Throttles, address_key, client_key
from dataward.guard.verdicts import Level
from dataward.identity.tokens import Principal
from dataward.policy import Policy
from dataward.settings import Settings

__all__ = ["Guard"]

log = structlog.get_logger(__name__)

_CLOSE_HOURS_SECONDS = 300.0  # how often quiet clients' closed hours are learnt


class Guard:
    def __init__(
        self,
        limiter: RateLimiter,
        metrics: Metrics,
        throttles: Throttles,
        detector: AnomalyDetector | None,
        responder: AnomalyResponder | None,
        counts: LiveCounts | None = None,
    ) -> None:
        self.limiter = limiter
        self.metrics = metrics
        self.throttles = throttles
        self.detector = detector  # None: the policy turned anomaly response off
        self.responder = responder
        self._counts = counts

    @classmethod
    def build(
        cls,
        settings: Settings,
        policy: Policy,
        clock: Clock,
        engine: Engine,
        audit: AuditLog,
        revocations: Revocations,
        suspend: Suspend,
        service: str = "vault",
    ) -> Guard:
        url, prefix = settings.redis_url, settings.redis_prefix
        metrics = Metrics(service)
        throttles: Throttles = RedisThrottles(url, clock, prefix=prefix) if url else MemoryThrottles(clock)
        detector = responder = counts = None
        if policy.anomaly.enabled:
            counts = RedisLiveCounts(url, clock, prefix=prefix) if url else MemoryLiveCounts()
            detector = AnomalyDetector(policy.anomaly, counts, BaselineStore(engine, clock), clock)
            responder = AnomalyResponder(
                policy.anomaly, audit=audit, throttles=throttles, revocations=revocations,
                suspend=suspend, clock=clock, metric=metrics.anomaly,
            )  # fmt: skip
        limiter = RateLimiter(policy.rate_limits, storage_for(url, prefix))
        return cls(limiter, metrics, throttles, detector, responder, counts)

    async def admit(self, principal: Principal, route: str | None) -> RateDecision:
        """Count a call by an authenticated client; `RateLimited` when it is over a limit."""
        throttle = await self.throttles.throttled_rate(client_key(principal.client_id))
        return await self.limiter.admit_client(principal.client_id, principal.role, route, throttle)

    async def admit_anonymous(self, address: str, route: str | None) -> RateDecision:
        """Count a call that carries no token, by its address."""
        throttle = await self.throttles.throttled_rate(address_key(address))
        return await self.limiter.admit_address(address, route, throttle)

    async def watch_read(
        self, client_id: str, subject_ids: Collection[str], records: int | None, request_id: str
    ) -> bool:
        """Count what a client is about to receive; True when anomaly response has just suspended
        it, so this answer must not be sent (the thief never gets the record that tipped it)."""
        if self.detector is None or self.responder is None:
            return False
        try:
            verdict = await self.detector.observe_read(client_id, subject_ids, records)
            if verdict is None:
                return False
            response = await self.responder.respond(verdict, request_id=request_id)
        except Exception as error:  # noqa: BLE001 - detection fails open, and says so
            log.warning("guard.watch_failed", error=type(error).__name__, request_id=request_id)
            return False
        return verdict.level is Level.SUSPEND and response.cut_off

    async def watch_failure(self, client_id: str | None, address: str, request_id: str) -> None:
        """Count a failed authentication or a denial (401, 403, 404) against the client, when it is
        known, else the address: bursts (token guessing, id enumeration) are alerted and throttled."""
        if self.detector is None or self.responder is None:
            return
        key = client_key(client_id) if client_id is not None else address_key(address)
        try:
            verdict = await self.detector.observe_failure(key)
            if verdict is not None:
                await self.responder.respond(verdict, request_id=request_id)
        except Exception as error:  # noqa: BLE001 - detection fails open, and says so
            log.warning("guard.watch_failed", error=type(error).__name__, request_id=request_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Background work while serving: learn the closed hours of clients that went quiet."""
        if self.detector is not None:
            await close_hours_every(self.detector, _CLOSE_HOURS_SECONDS, stop)

    async def lift(self, client_id: str) -> None:
        """A person reinstated the client: its throttle goes too."""
        await self.throttles.lift(client_key(client_id))

    async def close(self) -> None:
        await self.limiter.close()
        await self.throttles.close()
        if self._counts is not None:
            await self._counts.close()
        if self.responder is not None:
            await self.responder.aclose()
