"""`verify_log` names the first entry that was changed, deleted, reordered, cut off or forged, as an
attacker with write access to the database (but not to the key file) would leave them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from dataward.audit import AuditAction, AuditEntry, AuditEvent, AuditLog, Outcome, verify_log
from dataward.audit.events import GENESIS
from dataward.keys import LocalKeyring

ENTRIES = 30  # with a signed checkpoint at 10, 20 and 30
Tamper = Callable[[Connection], None]


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        AuditAction.RECORD_READ, "client-a", Outcome.DENIED, f"r{n}", None, ("profile.email",), "billing"
    )


@pytest.fixture
def log(engine: Engine, keyring: LocalKeyring) -> Iterator[AuditLog]:
    log = AuditLog(engine, keyring, checkpoint_every=10)
    for n in range(ENTRIES):
        log.record_sync(_event(n))
    yield log
    log.close()


# -- what an attacker with database access does ------------------------------------------------


def _sql(*statements: str) -> Tamper:
    def tamper(connection: Connection) -> None:
        for statement in statements:
            connection.execute(text(statement))

    return tamper


def _insert(connection: Connection, entry: AuditEntry) -> None:
    connection.execute(
        text(
            "insert into audit_entries (seq, at, request_id, client_id, action, subject_id, fields, purpose,"
            " outcome, reason, prev_hash, hash) values (:seq, :at, :request_id, :client_id, :action,"
            " :subject_id, :fields, :purpose, :outcome, :reason, :prev_hash, :hash)"
        ),
        entry.row(),
    )


def _append_forged(*, move_head: bool) -> Tamper:
    """Append an entry with a correct hash; optionally point the head at it (the old signature stays)."""

    def tamper(connection: Connection) -> None:
        rows = connection.execute(text("select * from audit_entries where seq = :s"), {"s": ENTRIES})
        last = AuditEntry.from_row(rows.one())
        forged = AuditEntry.chain(_event(99), ENTRIES + 1, last.at, last.hash)
        _insert(connection, forged)
        if move_head:
            connection.execute(
                text("update audit_head set seq = :s, hash = :h"), {"s": forged.seq, "h": forged.hash}
            )

    return tamper


def _rewrite_chain(*, drop_checkpoints: bool) -> Tamper:
    """Turn every denial into an allowance and recompute every hash: a consistent chain, forged.
    The head is pointed at the new last hash (its signature cannot be redone without the key)."""

    def tamper(connection: Connection) -> None:
        rows = connection.execute(text("select * from audit_entries order by seq")).all()
        connection.execute(text("delete from audit_entries"))
        prev = GENESIS
        for row in rows:
            entry = AuditEntry.from_row(row)
            event = AuditEvent(
                AuditAction(entry.action), entry.client_id, Outcome.ALLOWED, entry.request_id,
                entry.subject_id, entry.fields, entry.purpose, entry.reason,
            )  # fmt: skip
            forged = AuditEntry.chain(event, entry.seq, entry.at, prev)
            _insert(connection, forged)
            prev = forged.hash
        connection.execute(text("update audit_head set hash = :h"), {"h": prev})
        if drop_checkpoints:
            connection.execute(text("delete from audit_checkpoints"))

    return tamper


def _swap(a: int, b: int) -> Tamper:
    return _sql(
        f"update audit_entries set seq = -1 where seq = {a}",
        f"update audit_entries set seq = {a} where seq = {b}",
        f"update audit_entries set seq = {b} where seq = -1",
    )


def _truncate_to_checkpoint(connection: Connection) -> None:
    """Cut the log back to checkpoint 20 and present that checkpoint, signed by the vault itself,
    as the head: no signing key needed."""
    connection.execute(text("delete from audit_entries where seq > 20"))
    connection.execute(text("delete from audit_checkpoints where seq > 20"))
    connection.execute(
        text(
            "update audit_head set seq = c.seq, hash = c.hash, at = c.at, kid = c.kid,"
            " signature = c.signature from (select * from audit_checkpoints where seq = 20) as c"
        )
    )


# -- the cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tamper", "first_bad", "says"),
    [
        pytest.param(
            _sql("update audit_entries set outcome = 'allowed' where seq = 7"),
            7,
            "changed",
            id="denied-to-allowed",
        ),
        pytest.param(
            _sql("update audit_entries set purpose = 'support' where seq = 12"), 12, "changed", id="purpose"
        ),
        pytest.param(
            _sql("update audit_entries set fields = '[]' where seq = 1"),
            1,
            "changed",
            id="fields-of-the-first",
        ),
        pytest.param(_sql("delete from audit_entries where seq = 15"), 15, "missing", id="delete-middle"),
        pytest.param(_sql("delete from audit_entries where seq = 1"), 1, "missing", id="delete-first"),
        pytest.param(_swap(20, 21), 20, "does not follow", id="swap"),
        pytest.param(_sql("delete from audit_entries where seq > 25"), 26, "deleted", id="truncate-tail"),
        pytest.param(
            _sql("delete from audit_entries where seq > 25", "delete from audit_checkpoints where seq > 25"),
            26,
            "deleted",
            id="truncate-tail-and-checkpoints",
        ),
        pytest.param(
            _sql("delete from audit_entries where seq > 20", "update audit_head set seq = 20"),
            21,
            "deleted",
            id="truncate-and-move-head",
        ),
        pytest.param(_append_forged(move_head=False), 31, "not covered by the signed head", id="append"),
        pytest.param(_append_forged(move_head=True), 31, "signature", id="append-and-move-head"),
        pytest.param(_rewrite_chain(drop_checkpoints=False), 10, "rewritten", id="rewrite-chain"),
        pytest.param(
            _rewrite_chain(drop_checkpoints=True), 30, "signature", id="rewrite-chain-and-checkpoints"
        ),
        pytest.param(_sql("delete from audit_head"), 1, "no signed head", id="delete-head"),
    ],
)
def test_tampering_is_caught_at_the_first_bad_entry(
    log: AuditLog, engine: Engine, keyring: LocalKeyring, tamper: Tamper, first_bad: int, says: str
) -> None:
    keys = keyring.audit_verification_keys()
    assert verify_log(engine, keys).intact

    with engine.begin() as connection:
        tamper(connection)
    report = verify_log(engine, keys, page=7)  # pages smaller than the log: the walk spans them

    assert not report.intact
    assert report.first_bad_seq == first_bad, report.problem
    assert says in str(report.problem)


def test_truncating_to_a_checkpoint_that_poses_as_the_head_is_caught(
    log: AuditLog, engine: Engine, keyring: LocalKeyring
) -> None:
    with engine.begin() as connection:
        _truncate_to_checkpoint(connection)
    report = verify_log(engine, keyring.audit_verification_keys())

    assert not report.intact
    assert report.first_bad_seq in (20, 21), report.problem  # the forged head, or the first entry cut


def test_an_intact_log_verifies_and_reports_its_size(
    log: AuditLog, engine: Engine, keyring: LocalKeyring
) -> None:
    seen: list[int] = []
    report = verify_log(engine, keyring.audit_verification_keys(), page=8, progress=seen.append)
    assert report.intact, report.problem
    assert (report.entries, report.head_seq, report.checkpoints) == (ENTRIES, ENTRIES, 3)
    assert report.first_bad_seq is None
    assert seen == [8, 8, 8, 6]


def test_an_empty_log_is_intact(engine: Engine, keyring: LocalKeyring) -> None:
    report = verify_log(engine, keyring.audit_verification_keys())
    assert report.intact
    assert (report.entries, report.head_seq) == (0, 0)


def test_another_installations_keys_do_not_verify_the_log(log: AuditLog, engine: Engine) -> None:
    report = verify_log(engine, LocalKeyring.generate().audit_verification_keys())
    assert not report.intact
    assert report.first_bad_seq == 10  # the first signature it meets: checkpoint 10


def test_a_log_appended_to_while_it_is_verified_still_verifies(
    log: AuditLog, engine: Engine, keyring: LocalKeyring
) -> None:
    appended: list[int] = []

    def append_once(_checked: int) -> None:  # the server goes on recording between two pages
        if not appended:
            appended.extend(log.record_sync(_event(100 + n)).seq for n in range(5))

    report = verify_log(engine, keyring.audit_verification_keys(), page=7, progress=append_once)

    assert appended == [31, 32, 33, 34, 35]
    assert report.intact, report.problem
