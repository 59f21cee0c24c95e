"""The audit log writer: a hash chain of entries that never hold values, a signed head after every
batch, signed checkpoints every N entries, and no answer at all when an entry cannot be written."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from dataward.audit import (
    AuditAction,
    AuditEntry,
    AuditEvent,
    AuditLog,
    AuditUnavailable,
    Outcome,
    verify_log,
)
from dataward.audit.events import GENESIS
from dataward.audit.signing import signature_holds
from dataward.keys import LocalKeyring
from dataward.services import Vault
from dataward.storage.tables import audit_checkpoints, audit_entries, audit_head
from support import ApiClient

SUBJECT = "6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11"
EMAIL = "zqx-sentinel-4417@example.org"
NAME = "Quillon Sentinelle-Vasquez"


def _event(n: int, outcome: Outcome = Outcome.ALLOWED) -> AuditEvent:
    return AuditEvent(
        AuditAction.RECORD_READ, f"client-{n % 3}", outcome, f"request-{n:04d}", SUBJECT,
        ("profile.email",), "support",
    )  # fmt: skip


async def _record_all(log: AuditLog, events: list[AuditEvent]) -> list[AuditEntry]:
    return list(await asyncio.gather(*(log.record(event) for event in events)))


@pytest.fixture
def log(engine: Engine, keyring: LocalKeyring) -> Iterator[AuditLog]:
    log = AuditLog(engine, keyring, checkpoint_every=10)
    yield log
    log.close()


def _stored(engine: Engine) -> list[AuditEntry]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_entries).order_by(audit_entries.c.seq))
        return [AuditEntry.from_row(row) for row in rows]


def _head(engine: Engine) -> list[tuple[int, str, str, str, str]]:
    with engine.connect() as connection:
        query = select(
            audit_head.c.seq, audit_head.c.hash, audit_head.c.at, audit_head.c.kid, audit_head.c.signature
        )
        return [tuple(row) for row in connection.execute(query)]


# -- the chain ---------------------------------------------------------------------------------


def test_each_entry_hash_covers_the_entry_before_it(log: AuditLog, engine: Engine) -> None:
    returned = [log.record_sync(_event(n)) for n in range(3)]
    returned += asyncio.run(_record_all(log, [_event(n) for n in range(3, 8)]))

    stored = _stored(engine)
    assert stored == returned  # what callers heard is exactly what is on disk
    assert [e.seq for e in stored] == list(range(1, 9))
    assert stored[0].prev_hash == GENESIS
    for previous, entry in itertools.pairwise(stored):
        assert entry.prev_hash == previous.hash
    assert all(entry.hash == entry.expected_hash() for entry in stored)
    # The previous hash is inside the hash: the same event after another entry hashes differently.
    last = stored[-1]
    moved = AuditEntry.chain(_event(7), last.seq, last.at, stored[0].hash)
    assert moved.hash != last.hash


def test_concurrent_appends_from_threads_and_tasks_make_one_gapless_verifiable_chain(
    log: AuditLog, engine: Engine, keyring: LocalKeyring
) -> None:
    threads, per_thread, tasks = 4, 25, 100
    from_threads: list[int] = []

    def append(t: int) -> None:
        for n in range(per_thread):
            from_threads.append(log.record_sync(_event(1000 * t + n)).seq)

    workers = [threading.Thread(target=append, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    from_tasks = [e.seq for e in asyncio.run(_record_all(log, [_event(n) for n in range(tasks)]))]
    for worker in workers:
        worker.join(timeout=60)

    total = threads * per_thread + tasks
    assert sorted(from_threads + from_tasks) == list(range(1, total + 1))  # no gaps, no duplicates
    assert [e.seq for e in _stored(engine)] == list(range(1, total + 1))
    report = verify_log(engine, keyring.audit_verification_keys())
    assert report.intact, report.problem
    assert (report.entries, report.head_seq) == (total, total)


# -- the signed head and the checkpoints -------------------------------------------------------


def test_the_signed_head_moves_to_the_newest_entry_after_every_batch(
    log: AuditLog, engine: Engine, keyring: LocalKeyring
) -> None:
    keys = keyring.audit_verification_keys()
    assert _head(engine) == []
    for batch in range(3):
        entries = asyncio.run(_record_all(log, [_event(10 * batch + n) for n in range(4)]))
        [(seq, entry_hash, at, kid, signature)] = _head(engine)  # one row, updated in place
        assert (
            (seq, entry_hash)
            == (entries[-1].seq, entries[-1].hash)
            == (4 * (batch + 1), _stored(engine)[-1].hash)
        )
        assert signature_holds(keys, "head", kid, signature, seq=seq, entry_hash=entry_hash, at=at)


def test_a_checkpoint_is_signed_every_n_entries(log: AuditLog, engine: Engine, keyring: LocalKeyring) -> None:
    for n in range(35):
        log.record_sync(_event(n))

    hashes = {e.seq: e.hash for e in _stored(engine)}
    with engine.connect() as connection:
        checkpoints = connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).all()
    assert [c.seq for c in checkpoints] == [10, 20, 30]
    keys = keyring.audit_verification_keys()
    for c in checkpoints:
        assert c.hash == hashes[c.seq]
        assert signature_holds(keys, "checkpoint", c.kid, c.signature, seq=c.seq, entry_hash=c.hash, at=c.at)


def test_the_vault_signs_a_checkpoint_every_1000_entries(vault: Vault) -> None:
    """The default interval, written in batches as the server writes them: a checkpoint closes the
    batch that passes each multiple of 1000."""

    def checkpoint_seqs() -> list[int]:
        with vault.engine.connect() as connection:
            return list(
                connection.execute(
                    select(audit_checkpoints.c.seq).order_by(audit_checkpoints.c.seq)
                ).scalars()
            )

    asyncio.run(_record_all(vault.audit, [_event(n) for n in range(999)]))
    assert checkpoint_seqs() == []

    asyncio.run(_record_all(vault.audit, [_event(n) for n in range(999, 2200)]))
    seqs = checkpoint_seqs()
    batch_max = vault.settings.audit_batch_max
    assert len(seqs) == 2
    assert 1000 <= seqs[0] < 1000 + batch_max
    assert 2000 <= seqs[1] < 2000 + batch_max
    report = verify_log(vault.engine, vault.keyring.audit_verification_keys())
    assert report.intact, report.problem
    assert (report.entries, report.checkpoints) == (2200, 2)


# -- never a value -----------------------------------------------------------------------------


def _audit_cells(engine: Engine) -> list[str]:
    cells: list[str] = []
    with engine.connect() as connection:
        for table in (audit_entries, audit_head, audit_checkpoints):
            for row in connection.execute(select(table)):
                cells.extend(str(cell) for cell in row)
    return cells


def test_audit_entries_name_fields_but_never_hold_their_values(api: ApiClient) -> None:
    subject_id = api.new_subject({"email": EMAIL, "full_name": NAME, "country": "DE"})
    headers = api.auth("support-agent")
    read = api.http.get(f"/v1/subjects/{subject_id}", params={"purpose": "support"}, headers=headers)
    found = api.http.post(
        "/v1/subjects/lookup",
        json={"field": "profile.email", "value": EMAIL, "purpose": "support"},
        headers=headers,
    )
    assert read.json()["data"]["profile"]["email"] == EMAIL  # the values did pass through the vault
    assert found.json()["ids"] == [subject_id]

    cells = _audit_cells(api.vault.engine)
    dump = "\n".join(cells).casefold()
    assert "profile.email" in dump  # the entries are there, naming the fields...
    assert subject_id in dump
    for value in (EMAIL, NAME, "zqx-sentinel-4417", "Sentinelle"):
        assert value.casefold() not in dump  # ...but no value, whole or in part
    assert "DE" not in cells


# -- failing closed ----------------------------------------------------------------------------


def _break_audit_table(engine: Engine) -> None:
    """What an attacker or a full disk does to the log: the table cannot be written."""
    with engine.begin() as connection:
        connection.execute(text("alter table audit_entries rename to audit_entries_gone"))


def _mend_audit_table(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("alter table audit_entries_gone rename to audit_entries"))


def test_an_entry_that_cannot_be_written_is_refused_to_every_caller(log: AuditLog, engine: Engine) -> None:
    log.record_sync(_event(0))
    _break_audit_table(engine)

    with pytest.raises(AuditUnavailable):
        log.record_sync(_event(1))
    with pytest.raises(AuditUnavailable):
        asyncio.run(log.record(_event(2)))

    _mend_audit_table(engine)
    assert [e.seq for e in _stored(engine)] == [1]
    assert log.record_sync(_event(3)).seq == 2  # nothing half-written: the chain carries on


def test_a_read_whose_audit_entry_cannot_be_written_returns_no_data(api: ApiClient) -> None:
    subject_id = api.new_subject({"email": EMAIL, "full_name": NAME})
    headers = api.auth("support-agent")  # issuing a token is audited too: take it first
    _break_audit_table(api.vault.engine)

    response = api.http.get(f"/v1/subjects/{subject_id}", params={"purpose": "support"}, headers=headers)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:dataward:problem:audit-unavailable"
    assert EMAIL not in response.text
    assert NAME not in response.text
    _mend_audit_table(api.vault.engine)
    ok = api.http.get(f"/v1/subjects/{subject_id}", params={"purpose": "support"}, headers=headers)
    assert ok.json()["data"]["profile"]["email"] == EMAIL  # the vault answers again once it can audit


def test_a_write_whose_audit_entry_cannot_be_written_writes_nothing(api: ApiClient) -> None:
    subject_id = api.new_subject({"email": EMAIL})
    writer, reader = api.auth("signup"), api.auth("support-agent")
    _break_audit_table(api.vault.engine)

    response = api.http.put(
        f"/v1/subjects/{subject_id}/profile", json={"email": "new@example.org"}, headers=writer
    )

    assert response.status_code == 503
    _mend_audit_table(api.vault.engine)
    read = api.http.get(f"/v1/subjects/{subject_id}", params={"purpose": "support"}, headers=reader)
    assert read.json()["data"]["profile"] == {"email": EMAIL}
