"""The processor outbox, on both backends, against a real HTTP receiver on 127.0.0.1.

The receiver checks every signature as a processor would, with `verify_signature` at the time of
receipt; the clock is a `FrozenClock` moved past each backoff, so no test waits for one.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs

from dataward.clock import FrozenClock
from dataward.policy import Policy
from dataward.rights.outbox import DeliveryReport, Outbox, RetrySchedule, run_outbox
from dataward.storage import write_transaction
from processors import RESPONSE_BODY, SECRETS, Receiver, with_webhooks


@pytest.fixture
def outbox(engine: Engine, policy: Policy, clock: FrozenClock, receiver: Receiver) -> Iterator[Outbox]:
    with Outbox(engine, with_webhooks(policy, receiver), clock, secret_lookup=SECRETS.get) as built:
        yield built


def enqueue(outbox: Outbox, engine: Engine, kind: str, fields: list[str], request: str | None) -> list[str]:
    with write_transaction(engine) as connection:
        return outbox.enqueue(connection, kind, str(uuid.uuid4()), fields, request)


def new_id() -> str:
    return str(uuid.uuid4())


# -- delivery ---------------------------------------------------------------------------------------


def test_retries_until_each_event_is_accepted_once_with_one_key_and_valid_signatures(
    outbox: Outbox, engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = ["503", "drop", "ok"]
    request = new_id()
    ids = enqueue(outbox, engine, "rectification", ["profile.email"], request)  # both processors
    ids += enqueue(outbox, engine, "restriction", ["profile.country"], request)  # payments only
    assert len(ids) == 3
    assert outbox.status(request) == {"mailer": "pending", "payments": "pending"}

    assert outbox.deliver_due() == DeliveryReport(retrying=3)
    assert {e.last_error for e in outbox.events(request)} == {"HTTP 503"}
    assert outbox.deliver_due().attempted == 0  # the backoff has not passed
    clock.advance(10)
    assert outbox.deliver_due() == DeliveryReport(retrying=3)
    assert {e.last_error for e in outbox.events(request)} == {"RemoteProtocolError"}
    assert outbox.deliver_due().attempted == 0
    clock.advance(20)
    assert outbox.deliver_due() == DeliveryReport(delivered=3)

    assert sorted(r.key for r in receiver.accepted()) == sorted(ids)  # exactly one each
    assert Counter(r.key for r in receiver.received) == dict.fromkeys(ids, 3)
    assert all(r.valid for r in receiver.received)
    for event_id in ids:
        attempts = [r for r in receiver.received if r.key == event_id]
        assert len({r.body for r in attempts}) == 1  # the same notice every time ...
        assert len({r.signature for r in attempts}) == 3  # ... signed afresh at each attempt
        assert json.loads(attempts[0].body)["id"] == event_id
    assert {(r.processor, r.event) for r in receiver.accepted()} == {
        ("mailer", "rectification"),
        ("payments", "rectification"),
        ("payments", "restriction"),
    }
    assert outbox.status(request) == {"mailer": "delivered", "payments": "delivered"}
    assert all(e.attempts == 3 and e.last_error is None for e in outbox.events(request))
    clock.advance(86_400)
    assert outbox.deliver_due().attempted == 0
    assert len(receiver.received) == 9


def test_backoff_doubles_from_ten_seconds_to_an_hour_with_jitter_below_it(
    outbox: Outbox, engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    schedule = RetrySchedule()
    assert [schedule.delay(n, 0.0) for n in (1, 2, 3, 9, 10, 11, 500)] == [
        10,
        20,
        40,
        2560,
        3600,
        3600,
        3600,
    ]
    assert 7.5 <= schedule.delay(1, 0.999) < 10

    receiver.script = ["503"]
    request = new_id()
    enqueue(outbox, engine, "erasure", ["profile.*"], request)
    outbox.deliver_due()
    now = clock.now()
    for event in outbox.events(request):
        assert timedelta(seconds=7.5) <= event.next_attempt_at - now <= timedelta(seconds=10)


def test_only_processors_whose_purposes_use_the_fields_and_that_have_a_webhook_hear_of_it(
    engine: Engine, policy: Policy, clock: FrozenClock, receiver: Receiver
) -> None:
    hooked = with_webhooks(policy, receiver, names=("payments",))  # the mailer has no webhook
    with Outbox(engine, hooked, clock, secret_lookup=SECRETS.get) as outbox:
        request = new_id()
        assert enqueue(outbox, engine, "rectification", ["profile.phone"], request) == []  # no processor
        assert enqueue(outbox, engine, "erasure", ["health.allergies"], request) == []  # care: none
        assert enqueue(outbox, engine, "rectification", ["profile.full_name"], request) != []
        assert enqueue(outbox, engine, "rectification", ["profile.nope"], request) == []  # unknown
        outbox.deliver_due()
    assert [r.processor for r in receiver.received] == ["payments"]
    assert outbox.status(request) == {"payments": "delivered"}


def test_a_body_names_fields_and_holds_no_value(
    outbox: Outbox, engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    request, subject = new_id(), new_id()
    with write_transaction(engine) as connection:
        ids = outbox.enqueue(connection, "erasure", subject, ["profile.*", "health.*"], request)
    outbox.deliver_due()

    bodies = {r.processor: json.loads(r.body) for r in receiver.accepted()}
    by_processor = {e.processor: e.id for e in outbox.events(request)}
    assert sorted(by_processor.values()) == sorted(ids)
    common = {"kind": "erasure", "subject_id": subject, "rights_request_id": request}
    occurred_at = clock.now().isoformat()
    assert bodies == {
        # Each hears only of the fields its purposes use.
        "mailer": {
            **common,
            "id": by_processor["mailer"],
            "fields": ["profile.email", "profile.full_name"],
            "occurred_at": occurred_at,
        },
        "payments": {
            **common,
            "id": by_processor["payments"],
            "fields": ["profile.country", "profile.email", "profile.full_name"],
            "occurred_at": occurred_at,
        },
    }


def test_a_notice_exists_only_if_the_change_committed(
    outbox: Outbox, engine: Engine, receiver: Receiver
) -> None:
    request = new_id()
    with pytest.raises(RuntimeError), write_transaction(engine) as connection:
        assert outbox.enqueue(connection, "rectification", new_id(), ["profile.email"], request)
        assert outbox.status(request, connection) == {"mailer": "pending", "payments": "pending"}
        raise RuntimeError("the change failed")
    assert outbox.events(request) == []
    assert outbox.deliver_due().attempted == 0
    assert receiver.received == []


# -- failure and status ------------------------------------------------------------------------


def test_status_goes_from_pending_to_failed_after_the_last_attempt_and_retry_revives_it(
    engine: Engine, policy: Policy, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = ["503"]
    request = new_id()
    during_last_attempt: list[dict[str, str]] = []
    hooked = with_webhooks(policy, receiver)
    with Outbox(
        engine, hooked, clock, secret_lookup=SECRETS.get, retry=RetrySchedule(max_attempts=3)
    ) as outbox:
        [event_id] = enqueue(outbox, engine, "rectification", ["profile.country"], request)
        for step in (10, 20):
            assert outbox.deliver_due() == DeliveryReport(retrying=1)
            assert outbox.status(request) == {"payments": "pending"}
            clock.advance(step)
        receiver.on_request = lambda: during_last_attempt.append(outbox.status(request))
        assert outbox.deliver_due() == DeliveryReport(failed=1)
        receiver.on_request = None

        assert during_last_attempt == [{"payments": "pending"}]  # in flight is not yet failed
        assert outbox.status(request) == {"payments": "failed"}
        [event] = outbox.events(request)
        assert (event.attempts, event.last_error, event.delivered_at) == (3, "HTTP 503", None)
        clock.advance(7 * 86_400)
        assert outbox.deliver_due().attempted == 0  # given up: no more attempts
        assert len(receiver.received) == 3

        receiver.script = ["ok"]
        assert outbox.retry(event_id)
        assert outbox.status(request) == {"payments": "pending"}
        assert outbox.deliver_due() == DeliveryReport(delivered=1)
        assert outbox.status(request) == {"payments": "delivered"}
        assert not outbox.retry(event_id)  # nothing to revive


def test_status_shows_which_processor_did_not_acknowledge(
    outbox: Outbox, engine: Engine, clock: FrozenClock, receiver: Receiver
) -> None:
    request = new_id()
    enqueue(outbox, engine, "rectification", ["profile.email"], request)
    mailer_key = next(e.id for e in outbox.events(request) if e.processor == "mailer")
    receiver.script = ["ok"]
    original = receiver.answer

    def refuse_the_mailer(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers["Idempotency-Key"] == mailer_key:
            handler.rfile.read(int(handler.headers["Content-Length"]))
            handler.send_response(500)
            handler.end_headers()
            return
        original(handler)

    receiver.answer = refuse_the_mailer  # type: ignore[method-assign]
    outbox.deliver_due()
    assert outbox.status(request) == {"mailer": "pending", "payments": "delivered"}
    assert outbox.status(new_id()) == {}


def test_a_missing_secret_is_a_failed_attempt_with_a_clear_error(
    engine: Engine, policy: Policy, clock: FrozenClock, receiver: Receiver
) -> None:
    only_mailer = {"MAILER_WEBHOOK_SECRET": SECRETS["MAILER_WEBHOOK_SECRET"]}
    with Outbox(engine, with_webhooks(policy, receiver), clock, secret_lookup=only_mailer.get) as outbox:
        assert outbox.missing_secrets() == ["PAYMENTS_WEBHOOK_SECRET"]
        request = new_id()
        enqueue(outbox, engine, "rectification", ["profile.email"], request)
        assert outbox.deliver_due() == DeliveryReport(delivered=1, retrying=1)
        errors = {e.processor: e.last_error for e in outbox.events(request)}
    assert errors["mailer"] is None
    assert errors["payments"] is not None
    assert "PAYMENTS_WEBHOOK_SECRET" in errors["payments"]
    assert [r.processor for r in receiver.received] == ["mailer"]  # nothing unsigned was sent


def test_the_response_body_is_never_kept(outbox: Outbox, engine: Engine, receiver: Receiver) -> None:
    receiver.script = ["500"]
    request = new_id()
    enqueue(outbox, engine, "erasure", ["profile.email"], request)
    outbox.deliver_due()
    errors = {e.last_error for e in outbox.events(request)}
    assert errors == {"HTTP 500"}
    assert not any(RESPONSE_BODY.decode() in (e or "") for e in errors)


# -- workers ---------------------------------------------------------------------------------------


def test_two_workers_at_once_deliver_each_event_exactly_once(
    outbox: Outbox, engine: Engine, receiver: Receiver
) -> None:
    receiver.delay = 0.02
    ids: list[str] = []
    for _ in range(10):
        ids += enqueue(outbox, engine, "rectification", ["profile.email"], new_id())
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def work() -> None:
        start.wait()
        reports.append(outbox.deliver_due())

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(ids) == 20
    assert Counter(r.key for r in receiver.received) == dict.fromkeys(ids, 1)
    assert sum(r.delivered for r in reports) == 20


def test_run_outbox_delivers_in_the_background_until_stopped_and_logs_counts_only(
    outbox: Outbox, engine: Engine, receiver: Receiver
) -> None:
    subject = new_id()
    request = new_id()
    with write_transaction(engine) as connection:
        ids = outbox.enqueue(connection, "restriction_lifted", subject, ["profile.email"], request)

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_outbox(outbox, 0.01, stop))
        for _ in range(500):
            if len(receiver.accepted()) == len(ids):
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(worker, 5)

    with capture_logs() as logs:
        asyncio.run(scenario())
    assert sorted(r.key for r in receiver.accepted()) == sorted(ids)
    assert outbox.status(request) == {"mailer": "delivered", "payments": "delivered"}
    rounds = [entry for entry in logs if entry["event"] == "outbox.round"]
    assert sum(entry["delivered"] for entry in rounds) == 2
    assert all(set(entry) <= {"event", "log_level", "delivered", "retrying", "failed"} for entry in rounds)
    assert subject not in repr(logs)
