"""Anomaly response: each step carried out for real (a throttle the rate limiter can read, tokens
cut off, the suspension called), an audit entry that holds no personal data in a real audit log,
and a signed webhook delivered to a real receiver on 127.0.0.1, whose failure never stops the rest."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from dataward.audit import AuditEntry, AuditLog
from dataward.clock import FrozenClock
from dataward.guard.anomaly import AnomalyDetector, Level, Verdict
from dataward.guard.baseline import Baseline
from dataward.guard.baseline_store import BaselineStore
from dataward.guard.live_counts import MemoryLiveCounts
from dataward.guard.response import AnomalyResponder, Response
from dataward.guard.revocations import MemoryRevocations
from dataward.guard.throttles import MemoryThrottles, address_key, client_key
from dataward.identity.tokens import Principal
from dataward.keys import LocalKeyring
from dataward.policy.edge import AnomalyRules, Webhook
from dataward.storage.tables import audit_entries
from processors import SECRETS, Receiver

T0 = datetime(2026, 3, 3, tzinfo=UTC)
HOUR0 = int(T0.timestamp() // 3600)
CLIENT = "dw_partnersync000000000"


@dataclass
class Suspensions:
    """The `suspend` callable: remembers its calls, or fails when told to."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    fail: bool = False
    already: bool = False  # the client was suspended before

    def __call__(self, client_id: str, reason: str) -> bool:
        if self.fail:
            raise RuntimeError("the database is away")
        self.calls.append((client_id, reason))
        return not self.already


@dataclass
class Parts:
    engine: Engine
    clock: FrozenClock
    audit: AuditLog
    throttles: MemoryThrottles
    revocations: MemoryRevocations
    suspensions: Suspensions
    metrics: list[tuple[str, str]]
    detector: AnomalyDetector

    def responder(self, rules: AnomalyRules) -> AnomalyResponder:
        return AnomalyResponder(
            rules,
            audit=self.audit,
            throttles=self.throttles,
            revocations=self.revocations,
            suspend=self.suspensions,
            clock=self.clock,
            secret_lookup=SECRETS.get,
            metric=lambda kind, level: self.metrics.append((kind, level)),
        )

    def entries(self) -> list[AuditEntry]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(audit_entries).order_by(audit_entries.c.seq))
            return [AuditEntry.from_row(row) for row in rows]


@pytest.fixture
def parts(engine: Engine, keyring: LocalKeyring, clock: FrozenClock) -> Iterator[Parts]:
    clock.at = T0.timestamp() + 3 * 3600  # 03:00, an hour the client has always been quiet
    store = BaselineStore(engine, clock)
    quiet = Baseline.new(HOUR0 - 28 * 24).fold_through(HOUR0 - 1, {}, AnomalyRules())
    store.fold({CLIENT: quiet}, quiet.folded_through, {}, AnomalyRules())
    audit = AuditLog(engine, keyring, clock=clock)
    yield Parts(
        engine=engine,
        clock=clock,
        audit=audit,
        throttles=MemoryThrottles(clock),
        revocations=MemoryRevocations(clock),
        suspensions=Suspensions(),
        metrics=[],
        detector=AnomalyDetector(AnomalyRules(), MemoryLiveCounts(), store, clock),
    )
    audit.close()


def with_webhook(url: str) -> AnomalyRules:
    return AnomalyRules(webhook=Webhook(url=url, secret_env="MAILER_WEBHOOK_SECRET"))


async def burst(parts: Parts, responder: AnomalyResponder) -> list[Response]:
    """The client reads distinct subjects at 03:00 until it is suspended; each verdict answered."""
    responses = []
    try:
        for n in range(500):
            verdict = await parts.detector.observe_read(CLIENT, [f"subject-{n:06d}"])
            if verdict is not None:
                responses.append(await responder.respond(verdict, request_id=f"req-{n}"))
                if verdict.level is Level.SUSPEND:
                    break
            parts.clock.advance(0.2)
    finally:
        await responder.aclose()
    return responses


def test_each_step_is_carried_out_audited_and_posted(parts: Parts, receiver: Receiver) -> None:
    issued_before = Principal(
        CLIENT, "partner", frozenset(), "jti-1", T0.timestamp() + 9000, issued_at=parts.clock.at
    )
    responder = parts.responder(with_webhook(f"{receiver.url}/mailer"))
    responses = asyncio.run(burst(parts, responder))

    alert, throttle, suspend = responses
    assert [r.verdict.level for r in responses] == [Level.ALERT, Level.THROTTLE, Level.SUSPEND]
    assert alert.throttled_until is None and not alert.cut_off and alert.suspended is None
    assert throttle.throttled_until == pytest.approx(throttle.verdict.at + 3600)
    assert suspend.cut_off and suspend.suspended is True
    assert {r.webhook for r in responses} == {"delivered"}

    # the rate limiter finds the throttle; every token issued so far is dead; the client is suspended
    assert asyncio.run(parts.throttles.throttled_rate(client_key(CLIENT))) == "30/minute"
    assert asyncio.run(parts.revocations.is_revoked(issued_before))
    assert parts.suspensions.calls == [(CLIENT, suspend.verdict.explanation)]
    assert responder.counts == {("reads", "alert"): 1, ("reads", "throttle"): 1, ("reads", "suspend"): 1}
    assert parts.metrics == [("reads", "alert"), ("reads", "throttle"), ("reads", "suspend")]

    entries = parts.entries()
    assert [e.action for e in entries] == [
        "guard:anomaly:alert",
        "guard:anomaly:throttle",
        "guard:anomaly:suspend",
    ]
    for entry, response in zip(entries, responses, strict=True):
        assert entry.client_id == CLIENT
        assert entry.subject_id is None and entry.fields == () and entry.purpose is None
        assert entry.reason == response.verdict.explanation
        assert entry.outcome == "allowed"
        assert "subject-" not in json.dumps(entry.as_dict())  # no personal data, not even an id

    assert [r.event for r in receiver.received] == [e.action for e in entries]
    assert all(r.valid for r in receiver.received)  # signed, and checked as a receiver would
    assert len({r.key for r in receiver.received}) == 3
    for received, response in zip(receiver.received, responses, strict=True):
        assert "subject-" not in received.body.decode()
        body = json.loads(received.body)
        assert body["event"] == received.event
        assert body["verdict"] == response.verdict.as_dict()
    last = json.loads(receiver.received[-1].body)["response"]
    assert last == {
        "throttled_to": "30/minute",
        "throttled_until": suspend.throttled_until,
        "tokens_revoked": True,
        "suspended": True,
    }


def test_a_failure_burst_throttles_an_address_and_suspends_nothing(parts: Parts) -> None:
    responder = parts.responder(AnomalyRules())
    address = address_key("192.0.2.7")

    async def scenario() -> list[Response]:
        responses = []
        try:
            for _ in range(80):
                if (verdict := await parts.detector.observe_failure(address)) is not None:
                    responses.append(await responder.respond(verdict))
        finally:
            await responder.aclose()
        return responses

    responses = asyncio.run(scenario())
    assert [r.verdict.level for r in responses] == [Level.ALERT, Level.THROTTLE]
    assert {r.webhook for r in responses} == {"not configured"}
    assert all(not r.cut_off and r.suspended is None for r in responses)
    assert asyncio.run(parts.throttles.throttled_rate(address)) == "30/minute"
    assert parts.suspensions.calls == []
    assert [(e.action, e.client_id) for e in parts.entries()] == [
        ("guard:failures:alert", address),
        ("guard:failures:throttle", address),
    ]


@pytest.mark.parametrize(
    ("answer", "url", "secret_env", "outcome"),
    [
        pytest.param("503", "{receiver}/mailer", "MAILER_WEBHOOK_SECRET", "failed", id="refused"),
        pytest.param("ok", "http://127.0.0.1:9/mailer", "MAILER_WEBHOOK_SECRET", "failed", id="unreachable"),
        pytest.param("ok", "{receiver}/mailer", "UNSET_WEBHOOK_SECRET", "no secret", id="no secret"),
    ],
)
def test_a_webhook_that_fails_never_stops_the_response(
    parts: Parts, receiver: Receiver, answer: str, url: str, secret_env: str, outcome: str
) -> None:
    receiver.script = [answer]
    rules = AnomalyRules(webhook=Webhook(url=url.format(receiver=receiver.url), secret_env=secret_env))
    responses = asyncio.run(burst(parts, parts.responder(rules)))
    assert {r.webhook for r in responses} == {outcome}
    assert [r.verdict.level for r in responses] == [Level.ALERT, Level.THROTTLE, Level.SUSPEND]
    assert len(parts.entries()) == 3
    assert parts.suspensions.calls


def test_a_suspension_that_fails_still_cuts_off_tokens_and_is_audited_as_failed(parts: Parts) -> None:
    parts.suspensions.fail = True
    responses = asyncio.run(burst(parts, parts.responder(AnomalyRules())))
    suspend = responses[-1]
    assert suspend.cut_off and suspend.suspended is False
    assert [e.outcome for e in parts.entries()] == ["allowed", "allowed", "failed"]


def test_a_client_suspended_already_is_no_failure(parts: Parts) -> None:
    parts.suspensions.already = True
    suspend = asyncio.run(burst(parts, parts.responder(AnomalyRules())))[-1]
    assert suspend.cut_off and suspend.suspended is False
    assert parts.entries()[-1].outcome == "allowed"


def test_a_verdict_as_a_dict_holds_counts_and_the_client_key_only(parts: Parts) -> None:
    async def scenario() -> Verdict | None:
        return await parts.detector.observe_read(CLIENT, [f"subject-{n:06d}" for n in range(25)])

    verdict = asyncio.run(scenario())
    assert verdict is not None
    doc = verdict.as_dict()
    assert set(doc) == {
        "key", "kind", "level", "at", "window", "hour_of_day", "baseline", "allowance", "observed",
        "score", "learning", "explanation",
    }  # fmt: skip
    assert doc["observed"] == {"records": 25, "subjects": 25}
    assert doc["at"] == "2026-03-03T03:00:00+00:00"
    assert "subject-" not in json.dumps(doc)
