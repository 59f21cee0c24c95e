"""Breach sizing from the audit log: exactly the subjects and fields that one client (or one token)
touched inside a window, with refused attempts counted apart, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.audit.query import AccessWindow, Touched, audit_time, touched_by
from dataward.clock import FrozenClock
from dataward.errors import InvalidRequest
from dataward.services import Vault
from dataward.storage import read_connection

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
S1, S2, S3, S4, S5, S6 = (f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 7))
EMAIL, NAME, PHONE = "profile.email", "profile.full_name", "profile.phone"


def _at(clock: FrozenClock, moment: datetime) -> None:
    clock.at = moment.timestamp()


def _record(
    vault: Vault,
    clock: FrozenClock,
    moment: datetime,
    client: str,
    action: AuditAction,
    subject: str | None,
    fields: tuple[str, ...] = (),
    outcome: Outcome = Outcome.ALLOWED,
    token: str | None = None,
) -> None:
    _at(clock, moment)
    event = AuditEvent(
        action, client, outcome, "req", subject, fields, "support", None, token or f"{client}-t"
    )
    vault.audit.record_sync(event)


def _touched(vault: Vault, window: AccessWindow, *, subject_ids: bool = True) -> Touched:
    with read_connection(vault.engine) as connection:
        return touched_by(connection, window, subject_ids=subject_ids)


def _fields(touched: Touched) -> dict[str, tuple[int, int]]:
    return {f.field: (f.entries, f.subjects) for f in touched.fields}


@pytest.fixture
def history(vault: Vault, clock: FrozenClock) -> Vault:
    """Client `leaky` inside the window, around it, and another client beside it."""
    read, write, lookup = AuditAction.RECORD_READ, AuditAction.RECORD_WRITE, AuditAction.SUBJECT_LOOKUP
    minute = timedelta(minutes=1)
    _record(vault, clock, START - minute, "leaky", read, S6, (EMAIL,))  # before the window
    _record(vault, clock, START + minute, "leaky", read, S1, (EMAIL, NAME))
    _record(vault, clock, START + 2 * minute, "leaky", read, S1, (EMAIL,))
    _record(vault, clock, START + 3 * minute, "leaky", write, S2, (PHONE,))
    _record(vault, clock, START + 4 * minute, "leaky", read, S3, (NAME,), Outcome.FAILED)
    _record(vault, clock, START + 5 * minute, "leaky", lookup, None, (EMAIL,))
    _record(vault, clock, START + 6 * minute, "leaky", read, S4, (), Outcome.DENIED)  # refused
    _record(vault, clock, START + 7 * minute, "leaky", lookup, None, (PHONE,), Outcome.DENIED)
    _record(vault, clock, START + 8 * minute, "other", read, S5, (EMAIL, PHONE))  # another client
    _record(vault, clock, START + 9 * minute, "leaky", AuditAction.TOKEN_ISSUE, None)  # not data
    _record(vault, clock, START + 10 * minute, "leaky", AuditAction.CONSENT_GIVE, S5, (), token="x")
    _record(vault, clock, END + minute, "leaky", read, S5, (EMAIL,))  # after the window
    return vault


def test_counts_exactly_what_the_client_touched_inside_the_window(history: Vault) -> None:
    touched = _touched(history, AccessWindow("leaky", None, START, END))

    assert touched.subject_ids == (S1, S2, S3)  # not S4 (refused), S5 (other / after), S6 (before)
    assert touched.subjects == 3
    # A lookup adds to its field's entries but names no subject; a refused lookup adds nothing.
    assert _fields(touched) == {EMAIL: (3, 1), NAME: (2, 2), PHONE: (1, 1)}
    assert touched.entries == 5 and touched.attempts == 2
    assert {(a.action, a.outcome): a.entries for a in touched.actions} == {
        ("subject:record:read", "allowed"): 2,
        ("subject:record:read", "failed"): 1,
        ("subject:record:read", "denied"): 1,
        ("subject:record:write", "allowed"): 1,
        ("subject:subject:lookup", "allowed"): 1,
        ("subject:subject:lookup", "denied"): 1,
    }
    assert touched.first_at == audit_time(START + timedelta(minutes=1))
    assert touched.last_at == audit_time(START + timedelta(minutes=5))  # refused ones are not touches
    assert touched.as_of_seq == 12  # every entry of the history was there to count


def test_the_count_alone_matches_the_listed_subjects(history: Vault) -> None:
    counted = _touched(history, AccessWindow("leaky", None, START, END), subject_ids=False)
    assert counted.subject_ids is None
    assert counted.subjects == 3
    assert counted.as_dict()["fields"][0] == {"field": EMAIL, "entries": 3, "subjects": 1}


def test_a_window_with_nothing_in_it_is_empty(history: Vault) -> None:
    touched = _touched(
        history, AccessWindow("leaky", None, END + timedelta(hours=1), END + timedelta(hours=2))
    )
    assert (touched.subjects, touched.fields, touched.entries, touched.attempts) == (0, (), 0, 0)
    assert touched.first_at is None and touched.subject_ids == ()


def test_a_token_narrows_the_count_to_that_token(vault: Vault, clock: FrozenClock) -> None:
    read = AuditAction.RECORD_READ
    _record(vault, clock, START + timedelta(minutes=1), "svc", read, S1, (EMAIL,), token="stolen")
    _record(vault, clock, START + timedelta(minutes=2), "svc", read, S2, (NAME,), token="fresh")
    _record(vault, clock, START + timedelta(minutes=3), "svc2", read, S3, (PHONE,), token="stolen2")

    by_token = _touched(vault, AccessWindow(None, "stolen", START, END))
    assert by_token.subject_ids == (S1,) and _fields(by_token) == {EMAIL: (1, 1)}
    by_client = _touched(vault, AccessWindow("svc", None, START, END))
    assert by_client.subject_ids == (S1, S2)
    both = _touched(vault, AccessWindow("svc", "fresh", START, END))
    assert both.subject_ids == (S2,)
    assert _touched(vault, AccessWindow("svc2", "stolen", START, END)).subjects == 0


def test_rights_reports_and_erasures_are_touches_and_consent_is_not(vault: Vault, clock: FrozenClock) -> None:
    minute = timedelta(minutes=1)
    _record(vault, clock, START + minute, "handler", AuditAction.RIGHTS_REPORT, S1, (EMAIL, NAME))
    _record(vault, clock, START + 2 * minute, "handler", AuditAction.RIGHTS_CARRY_OUT, S2, (PHONE,))
    _record(vault, clock, START + 3 * minute, "handler", AuditAction.CONSENT_WITHDRAW, S3)
    _record(vault, clock, START + 4 * minute, "handler", AuditAction.AUDIT_READ, S4)

    touched = _touched(vault, AccessWindow("handler", None, START, END))
    assert touched.subject_ids == (S1, S2)
    assert _fields(touched) == {EMAIL: (1, 1), NAME: (1, 1), PHONE: (1, 1)}
    assert {a.action for a in touched.actions} == {"rights:report:read", "rights:request:carry_out"}


def test_window_bounds_are_included_and_compared_as_moments(vault: Vault, clock: FrozenClock) -> None:
    read, tick = AuditAction.RECORD_READ, timedelta(microseconds=1)
    _record(vault, clock, START - tick, "svc", read, S1, (EMAIL,))
    _record(vault, clock, START, "svc", read, S2, (EMAIL,))
    _record(vault, clock, START + timedelta(minutes=30), "svc", read, S3, (EMAIL,))
    _record(vault, clock, END, "svc", read, S4, (EMAIL,))
    _record(vault, clock, END + tick, "svc", read, S5, (EMAIL,))

    assert _touched(vault, AccessWindow("svc", None, START, END)).subject_ids == (S2, S3, S4)
    # The same moments in another zone: 14:00+02:00 is 12:00Z. Compared as text as given, "14:00"
    # would sort after the stored "12:30" and miss it.
    cest = timezone(timedelta(hours=2))
    shifted = AccessWindow("svc", None, START.astimezone(cest), END.astimezone(cest))
    assert _touched(vault, shifted).subject_ids == (S2, S3, S4)
    narrow = AccessWindow("svc", None, START + timedelta(minutes=29), START + timedelta(minutes=31))
    assert _touched(vault, narrow).subject_ids == (S3,)


def test_a_window_must_name_someone_and_run_forward() -> None:
    with pytest.raises(InvalidRequest) as nobody:
        AccessWindow(None, None, START, END)
    assert [p.path for p in nobody.value.errors] == ["client_id"]

    with pytest.raises(InvalidRequest) as backwards:
        AccessWindow("svc", None, END, START)
    assert [(p.path, p.message) for p in backwards.value.errors] == [
        ("window_to", "window_to is before window_from")
    ]

    with pytest.raises(InvalidRequest) as naive:
        AccessWindow("svc", None, START.replace(tzinfo=None), END)
    assert [p.path for p in naive.value.errors] == ["window_from"]


def _plan(connection: Connection, window: AccessWindow) -> str:
    from dataward.audit.query import _per_field, _scope  # noqa: PLC0415 - the private query, to explain it

    compiled = _per_field(connection, _scope(connection, window, 10**6)).compile(
        connection, compile_kwargs={"literal_binds": True}
    )
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        return "\n".join(str(row[-1]) for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the table is tiny here
    return "\n".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))


def test_the_query_is_answered_from_the_client_and_token_indexes(history: Vault) -> None:
    with history.engine.connect() as connection, connection.begin():
        assert "ix_audit_entries_client_id" in _plan(connection, AccessWindow("leaky", None, START, END))
        assert "ix_audit_entries_token_id" in _plan(connection, AccessWindow(None, "leaky-t", START, END))
