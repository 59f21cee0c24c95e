"""Retention sweeps erase what no purpose justifies any more; the clock is injected, never waited on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from dataward.audit.verify import verify_log
from dataward.clock import FrozenClock
from dataward.retention import audited_sweep, sweep
from dataward.services import Vault
from dataward.storage import read_connection, write_transaction
from dataward.storage.tables import blind_indexes
from support import FAST_HASHER, run_dataward

DAY = 86_400.0
YEAR = 366 * DAY
PROFILE = {
    "email": "linus@example.com",
    "full_name": "Linus Pauling",
    "phone": "+1 202 555 0100",
    "birth_date": "1901-02-28",
    "country": "us",
}
EVERY_FIELD = ["profile.email", "profile.full_name", "profile.phone", "profile.birth_date", "profile.country"]


def _subject(vault: Vault) -> str:
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        for collection, values in (("profile", PROFILE), ("health", {"allergies": "penicillin"})):
            checked = vault.subjects.check_collection(collection, values)
            vault.subjects.write(connection, sid, collection, checked)
    return sid


def _held(vault: Vault, sid: str) -> list[str]:
    with read_connection(vault.engine) as connection:
        return vault.subjects.held(connection, sid)


def _sweep(vault: Vault) -> dict[str, int]:
    return audited_sweep(
        vault.engine, vault.key_store, vault.policy, vault.clock, vault.audit, "test"
    ).removed


def test_a_field_goes_when_its_longest_purpose_retention_runs_out(vault: Vault, clock: FrozenClock) -> None:
    sid = _subject(vault)
    assert _sweep(vault) == {}
    clock.advance(7 * 30 * DAY)  # care (P6M) is the only purpose that uses the allergies
    assert _sweep(vault) == {"health.allergies": 1}
    assert "health.allergies" not in _held(vault, sid)
    clock.advance(2 * YEAR)  # support (P1Y) is over, but disputes (P3Y) still uses the phone
    assert _sweep(vault) == {}
    clock.advance(1 * YEAR)
    assert _sweep(vault) == {"profile.phone": 1, "profile.birth_date": 1}
    clock.advance(7 * YEAR)  # billing and invoicing (P10Y) held the rest
    assert _sweep(vault) == {"profile.email": 1, "profile.full_name": 1, "profile.country": 1}
    assert _held(vault, sid) == []
    with vault.engine.connect() as connection:  # the searchable email's index went with it
        assert connection.execute(select(blind_indexes).where(blind_indexes.c.subject_id == sid)).all() == []


def test_a_dry_run_counts_and_erases_nothing(vault: Vault, clock: FrozenClock) -> None:
    sid = _subject(vault)
    clock.advance(7 * 30 * DAY)
    report = sweep(vault.engine, vault.key_store, vault.policy, vault.clock.now(), dry_run=True)
    assert (report.removed, report.subjects, report.dry_run) == ({"health.allergies": 1}, 1, True)
    assert "health.allergies" in _held(vault, sid)


def test_a_rewritten_value_starts_its_retention_again(vault: Vault, clock: FrozenClock) -> None:
    sid = _subject(vault)
    clock.advance(5 * 30 * DAY)
    with write_transaction(vault.engine) as connection:
        checked = vault.subjects.check_collection("health", {"allergies": "latex"})
        vault.subjects.write(connection, sid, "health", checked)
    clock.advance(2 * 30 * DAY)
    assert _sweep(vault) == {}
    assert "health.allergies" in _held(vault, sid)


def test_what_an_erasure_kept_goes_with_its_legal_obligation(vault: Vault, clock: FrozenClock) -> None:
    sid, other = _subject(vault), _subject(vault)
    with write_transaction(vault.engine) as connection:
        erasure = vault.subjects.erase(connection, sid)
    assert erasure.kept == ["profile.country", "profile.full_name"]
    clock.advance(10 * YEAR + 2 * DAY)
    removed = _sweep(vault)
    assert removed["profile.full_name"] == 2  # the erased subject's kept name, and the other's
    with read_connection(vault.engine) as connection:
        assert not vault.subjects.exists(connection, sid)  # nothing left: the subject goes
        assert vault.subjects.exists(connection, other)  # an ordinary subject stays, empty
    assert vault.key_store.keys(sid).wrapped == {}  # its last key was destroyed


def test_each_sweep_is_audited_with_field_names_only(vault: Vault, clock: FrozenClock) -> None:
    _subject(vault)
    clock.advance(7 * 30 * DAY)
    _sweep(vault)
    [entry] = [e for e in vault.audit.entries(limit=1000) if e.action == "retention:field:erase"]
    assert entry.fields == ("health.allergies",)
    assert entry.reason == "1 value(s) of 1 subject(s) past retention"
    assert "penicillin" not in str(entry.as_dict())
    assert verify_log(vault.engine, vault.keyring.audit_verification_keys()).intact


def test_retention_run_from_the_command_line(tmp_path: Path) -> None:
    assert run_dataward(tmp_path, "init", "--dir", tmp_path / "vault").code == 0
    dry = run_dataward(tmp_path, "retention", "run", "--dir", tmp_path / "vault", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert dry.json()["total"] == 0 and dry.json()["dry_run"] is True
    ran = run_dataward(tmp_path, "retention", "run", "--dir", tmp_path / "vault")
    assert ran.code == 0
    assert "nothing is past its retention" in ran.out


def test_a_restricted_subject_keeps_everything(vault: Vault, clock: FrozenClock) -> None:
    """Art. 18(1)(c): the subject needs the data for their own legal claims, past our retention."""
    sid = _subject(vault)
    with write_transaction(vault.engine) as connection:
        vault.subjects.restrict(connection, sid, restricted=True)
    clock.advance(11 * YEAR)
    assert _sweep(vault) == {}
    assert len(_held(vault, sid)) == 6


def test_after_an_erasure_only_the_keeping_obligation_counts(
    vault: Vault, clock: FrozenClock, tmp_path: Path
) -> None:
    """With invoicing (the obligation) at P7Y and billing (a contract) at P10Y, an erased subject's
    kept name goes after 7 years: the contract ended with the erasure."""
    purposes = dict(vault.policy.purposes)
    purposes["invoicing"] = purposes["invoicing"].model_copy(update={"retention": "P7Y"})
    policy = vault.policy.model_copy(update={"purposes": purposes})
    shorter = Vault.build(
        vault.settings, policy=policy, keyring=vault.keyring, clock=clock, password_hasher=FAST_HASHER
    )
    try:
        erased, kept = _subject(shorter), _subject(shorter)
        with write_transaction(shorter.engine) as connection:
            shorter.subjects.erase(connection, erased)
        clock.advance(7 * YEAR + 30 * DAY)
        removed = audited_sweep(
            shorter.engine, shorter.key_store, policy, clock, shorter.audit, "test"
        ).removed
        assert removed["profile.full_name"] == 1  # the erased subject's, not the other's
        assert "profile.full_name" in _held(shorter, kept)
        with read_connection(shorter.engine) as connection:
            assert not shorter.subjects.exists(connection, erased)
    finally:
        shorter.close()
