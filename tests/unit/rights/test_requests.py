"""The rights request state machine: due dates, moves, separation of duties, settling on notices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from dataward.errors import Conflict
from dataward.policy.models import Webhook
from dataward.rights.errors import SameHandler
from dataward.rights.outbox import Outbox
from dataward.rights.requests import Channel, RequestKind, RequestState, RightsService, add_months
from dataward.services import Vault
from dataward.storage import write_transaction
from dataward.storage.tables import outbox


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-15", 1, "2026-02-15"),
        ("2026-01-31", 1, "2026-02-28"),  # no 31 February: the month's last day
        ("2028-01-31", 1, "2028-02-29"),  # a leap year
        ("2026-11-30", 3, "2027-02-28"),
        ("2026-12-10", 1, "2027-01-10"),
        ("2026-03-31", 2, "2026-05-31"),
    ],
)
def test_a_month_is_a_calendar_month(start: str, months: int, expected: str) -> None:
    moment = datetime.fromisoformat(start).replace(hour=9, tzinfo=UTC)
    assert add_months(moment, months) == datetime.fromisoformat(expected).replace(hour=9, tzinfo=UTC)


def _subject(vault: Vault) -> str:
    with write_transaction(vault.engine) as connection:
        return vault.subjects.create(connection)


def test_nobody_who_handled_an_erasure_approves_it(vault: Vault) -> None:
    sid = _subject(vault)
    with write_transaction(vault.engine) as connection:
        request = vault.rights.open(connection, RequestKind.ERASURE, sid, Channel.TEAM, "alice")
        request = vault.rights.move(connection, request, RequestState.VERIFIED, "bob")
        request = vault.rights.carry_out(connection, request, "carol")
        assert request.state is RequestState.AWAITING_APPROVAL
        for involved in ("alice", "bob", "carol"):  # opened, verified, asked for approval
            with pytest.raises(SameHandler):
                vault.rights.approve(connection, request, involved)
        approved = vault.rights.approve(connection, request, "dave")
        assert approved.state is RequestState.ERASING
        assert vault.subjects.state(connection, sid).erased  # reads as erased before the key goes
        done = vault.rights.carry_out(connection, approved, "dave")
    assert (done.state, done.handler, done.approver) == (RequestState.COMPLETED, "alice", "dave")
    with vault.engine.connect() as connection:
        assert not vault.subjects.exists(connection, sid)


def test_an_erasure_cut_short_after_approval_is_finished_by_approving_again(vault: Vault) -> None:
    sid = _subject(vault)
    with write_transaction(vault.engine) as connection:
        request = vault.rights.open(connection, RequestKind.ERASURE, sid, Channel.SELF_SERVICE, sid)
        request = vault.rights.carry_out(connection, request, sid)
        with pytest.raises(SameHandler):  # the subject asked: they do not approve
            vault.rights.approve(connection, request, sid)
        approved = vault.rights.approve(connection, request, "dave")
    # ... the process dies here: the key still exists, the subject reads as erased
    with write_transaction(vault.engine) as connection:
        with pytest.raises(Conflict):  # it cannot be refused or moved back now
            vault.rights.move(connection, approved, RequestState.REFUSED, "alice", "changed my mind")
        again = vault.rights.approve(connection, approved, "dave")
        done = vault.rights.carry_out(connection, again, "dave")
    assert done.state is RequestState.COMPLETED
    assert vault.key_store.keys(sid).wrapped == {}


def test_moves_follow_the_states(vault: Vault) -> None:
    sid = _subject(vault)
    with write_transaction(vault.engine) as connection:
        request = vault.rights.open(connection, RequestKind.ACCESS, sid, Channel.TEAM, "alice")
        with pytest.raises(Conflict):  # not verified yet
            vault.rights.carry_out(connection, request, "alice")
        with pytest.raises(Conflict):
            vault.rights.move(connection, request, RequestState.EXTENDED, "alice", "busy", months=1)
        refused = vault.rights.move(connection, request, RequestState.REFUSED, "alice", "not the subject")
        assert refused.reason == "not the subject"
        with pytest.raises(Conflict):  # a refused request stays refused
            vault.rights.move(connection, refused, RequestState.VERIFIED, "alice")
        with pytest.raises(Conflict):  # a stale copy cannot be moved: somebody moved it meanwhile
            vault.rights.move(connection, request, RequestState.VERIFIED, "alice")


def test_a_self_service_request_arrives_verified(vault: Vault) -> None:
    sid = _subject(vault)
    with write_transaction(vault.engine) as connection:
        request = vault.rights.open(connection, RequestKind.RESTRICTION, sid, Channel.SELF_SERVICE, sid)
        assert (request.state, request.handler) == (RequestState.VERIFIED, None)
        assert vault.rights.carry_out(connection, request, sid).state is RequestState.COMPLETED
        assert vault.subjects.state(connection, sid).restricted


def test_a_request_that_sent_notices_completes_when_every_processor_acknowledged(vault: Vault) -> None:
    """Processors with webhooks hear of the change; the request waits for them (Art. 19)."""
    hook = Webhook(url="http://127.0.0.1:9/notices", secret_env="DATAWARD_TEST_SECRET")
    processors = {name: p.model_copy(update={"webhook": hook}) for name, p in vault.policy.processors.items()}
    policy = vault.policy.model_copy(update={"processors": processors})
    rights = RightsService(vault.regions, Outbox(vault.engine, policy, vault.clock), policy, vault.clock)
    sid = _subject(vault)
    with write_transaction(vault.engine) as connection:
        vault.subjects.write(
            connection, sid, "profile", vault.subjects.check_collection("profile", {"email": "a@b.example"})
        )
        request = rights.open(connection, RequestKind.RESTRICTION, sid, Channel.SELF_SERVICE, sid)
        request = rights.carry_out(connection, request, sid)
    assert request.state is RequestState.NOTIFYING
    assert request.details["notices"] == 2  # mailer (marketing) and payments (billing) use the email
    assert rights.recipients(request.id) == {"mailer": "pending", "payments": "pending"}
    with write_transaction(vault.engine) as connection:
        assert rights.settle(connection, request).state is RequestState.NOTIFYING
        connection.execute(
            update(outbox).where(outbox.c.processor == "mailer").values(delivered_at=vault.clock.now())
        )
    with write_transaction(vault.engine) as connection:
        assert rights.settle(connection, request).state is RequestState.NOTIFYING  # payments has not
        connection.execute(update(outbox).values(delivered_at=vault.clock.now()))
    with write_transaction(vault.engine) as connection:
        assert rights.settle_all(connection) == 1
        assert rights.get(connection, request.id).state is RequestState.COMPLETED


def test_failed_notices_can_be_sent_again(vault: Vault) -> None:
    hook = Webhook(url="http://127.0.0.1:9/notices", secret_env="DATAWARD_TEST_SECRET")
    processors = {name: p.model_copy(update={"webhook": hook}) for name, p in vault.policy.processors.items()}
    policy = vault.policy.model_copy(update={"processors": processors})
    outbox_ = Outbox(vault.engine, policy, vault.clock)
    rights = RightsService(vault.regions, outbox_, policy, vault.clock)
    sid = _subject(vault)
    with write_transaction(vault.engine) as connection:
        vault.subjects.write(
            connection, sid, "profile", vault.subjects.check_collection("profile", {"email": "a@b.example"})
        )
        request = rights.carry_out(
            connection, rights.open(connection, RequestKind.RESTRICTION, sid, Channel.SELF_SERVICE, sid), sid
        )
    assert rights.retry_notices(request) == 0  # nothing failed yet
    with write_transaction(vault.engine) as connection:  # every attempt used up
        connection.execute(update(outbox).values(attempts=1000, next_attempt_at=vault.clock.now()))
    assert set(rights.recipients(request.id).values()) == {"failed"}
    assert rights.retry_notices(request) == 2
    assert set(rights.recipients(request.id).values()) == {"pending"}
    outbox_.close()
