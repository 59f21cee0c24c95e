"""`verify_log` names the first entry that was changed, deleted, reordered, cut off or forged, as an
attacker with write access to the database (but not to the key file) would leave them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, text

from dataward.audit import AuditAction, AuditEntry, AuditEvent, AuditLog, Outcome, verify_log
from dataward.audit.events import GENESIS
from dataward.keys import LocalKeyring

ENTRIES = 30
Tamper = Callable[[Connection], None]


@pytest.fixture
def written(engine: Engine, keyring: LocalKeyring) -> Engine:
    """A log of 30 entries, written in batches of 5, with a signed checkpoint every 10 entries."""
    log = AuditLog(engine, keyring, checkpoint_every=10)
    for batch in range(ENTRIES // 5):
        log._commit(
            [
                (AuditEvent(AuditAction.RECORD_READ, "client-a", Outcome.DENIED, f"r{batch}{n}"), f"t{n}")
                for n in range(5)
            ]
        )
    return engine


def _sql(*statements: str) -> Tamper:
    def tamper(connection: Connection) -> None:
        for statement in statements:
            connection.execute(text(statement))

    return tamper


def _rewrite_from(seq: int) -> Tamper:
    """Change entry `seq` and recompute every hash after it: a consistent chain, forged."""

    def tamper(connection: Connection) -> None:
        rows = connection.execute(text("select * from audit_entries order by seq")).all()
        prev = GENESIS
        for row in rows:
            entry = AuditEntry.from_row(row)
            if entry.seq >= seq:
                outcome = "allowed" if entry.seq == seq else entry.outcome
                forged = AuditEntry(
                    entry.seq, entry.at, entry.request_id, entry.client_id, entry.action, entry.subject_id,
                    entry.fields, entry.purpose, outcome, entry.reason, prev, "",
                )  # fmt: skip
                new_hash = forged.expected_hash()
                connection.execute(
                    text("update audit_entries set outcome = :o, prev_hash = :p, hash = :h where seq = :s"),
                    {"o": outcome, "p": prev, "h": new_hash, "s": entry.seq},
                )
                prev = new_hash
            else:
                prev = entry.hash
        connection.execute(text("update audit_head set hash = :h"), {"h": prev})

    return tamper


def _append_forged(connection: Connection) -> None:
    last = AuditEntry.from_row(connection.execute(text("select * from audit_entries where seq = 30")).one())
    forged = AuditEntry.chain(
        AuditEvent(AuditAction.RECORD_READ, "client-a", Outcome.ALLOWED, "cover-up"), 31, "t", last.hash
    )
    connection.execute(text("insert into audit_entries (seq, at, request_id, client_id, action, fields, "
                            "outcome, prev_hash, hash) values (:seq, :at, :request_id, :client_id, :action, "
                            ":fields, :outcome, :prev_hash, :hash)"), forged.row())  # fmt: skip


@pytest.mark.parametrize(
    ("tamper", "first_bad", "says"),
    [
        pytest.param(
            _sql("update audit_entries set outcome = 'allowed' where seq = 7"), 7, "changed", id="edit"
        ),
        pytest.param(
            _sql("update audit_entries set fields = '[\"x\"]' where seq = 12"), 12, "changed", id="edit2"
        ),
        pytest.param(_sql("delete from audit_entries where seq = 15"), 15, "missing", id="delete"),
        pytest.param(
            _sql(
                "update audit_entries set seq = -1 where seq = 20",
                "update audit_entries set seq = 20 where seq = 21",
                "update audit_entries set seq = 21 where seq = -1",
            ),
            20,
            "does not follow",
            id="swap",
        ),
        pytest.param(_sql("delete from audit_entries where seq > 25"), 26, "deleted", id="truncate-tail"),
        pytest.param(
            _sql("delete from audit_entries where seq > 25", "delete from audit_checkpoints where seq > 25"),
            26,
            "deleted",
            id="truncate-tail-and-checkpoints",
        ),
        pytest.param(_append_forged, 31, "not covered by the signed head", id="append-forged"),
        pytest.param(_rewrite_from(4), 10, "rewritten", id="rewrite-chain"),
        pytest.param(
            _sql("update audit_head set signature = replace(signature, substr(signature, 1, 4), 'AAAA')"),
            30,
            "signature",
            id="forge-head",
        ),
    ],
)
def test_tampering_is_caught_at_the_first_bad_entry(
    written: Engine, keyring: LocalKeyring, tamper: Tamper, first_bad: int, says: str
) -> None:
    keys = keyring.audit_verification_keys()
    assert verify_log(written, keys).intact

    with written.begin() as connection:
        tamper(connection)
    report = verify_log(written, keys, page=7)  # pages smaller than the log: the walk spans them

    assert not report.intact
    assert report.first_bad_seq == first_bad, report.problem
    assert says in str(report.problem)


def test_an_intact_log_reports_its_size_and_progress(written: Engine, keyring: LocalKeyring) -> None:
    seen: list[int] = []
    report = verify_log(written, keyring.audit_verification_keys(), page=8, progress=seen.append)
    assert report.intact
    assert (report.entries, report.head_seq, report.checkpoints) == (ENTRIES, ENTRIES, 3)
    assert seen == [8, 8, 8, 6]


def test_another_installations_keys_do_not_verify_the_log(written: Engine) -> None:
    report = verify_log(written, LocalKeyring.generate().audit_verification_keys())
    assert not report.intact
