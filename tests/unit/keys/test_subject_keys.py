"""The key store: a destroyed key is gone from the file, keys are bound to subject and slot."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from dataward.keys import KeyringError, LocalKeyring
from dataward.keys.subject_keys import KeySlot, SubjectKeyStore
from dataward.storage.tables import subject_keys

NOW = datetime(2026, 11, 26, tzinfo=UTC)
ADA, BOB = "3f1c1d0e-5d8a-4a8e-9a51-7a0c0d7d1a01", "3f1c1d0e-5d8a-4a8e-9a51-7a0c0d7d1a02"


@pytest.fixture
def store(tmp_path: Path) -> SubjectKeyStore:
    return SubjectKeyStore.open(f"sqlite:///{tmp_path / 'keystore.db'}", LocalKeyring.generate())


def _blob(store: SubjectKeyStore, subject_id: str) -> bytes:
    with store.engine.connect() as connection:
        return bytes(
            connection.execute(
                select(subject_keys.c.wrapped_key).where(subject_keys.c.subject_id == subject_id)
            ).scalar_one()
        )


def test_the_store_file_is_private(store: SubjectKeyStore, tmp_path: Path) -> None:
    store.create(ADA, KeySlot.DATA, NOW)
    assert stat.S_IMODE((tmp_path / "keystore.db").stat().st_mode) == 0o600


def test_a_destroyed_key_leaves_no_bytes_in_any_file_of_the_store(
    store: SubjectKeyStore, tmp_path: Path
) -> None:
    store.create(ADA, KeySlot.DATA, NOW)
    store.create(BOB, KeySlot.DATA, NOW)
    ada, bob = _blob(store, ADA), _blob(store, BOB)

    assert store.destroy(ADA) == 1
    files = b"".join(p.read_bytes() for p in tmp_path.glob("keystore.db*"))
    assert ada not in files  # secure_delete zeroed it; no write-ahead log keeps an old page
    assert bob in files  # the check can see a key that is there
    assert store.keys(ADA).open_key(KeySlot.DATA) is None
    assert store.keys(BOB).open_key(KeySlot.DATA) is not None


def test_a_key_moved_to_another_subject_or_slot_does_not_open(store: SubjectKeyStore) -> None:
    store.create(ADA, KeySlot.DATA, NOW)
    store.create(BOB, KeySlot.DATA, NOW)
    with store.engine.begin() as connection:  # an attacker with the database swaps the keys
        connection.execute(
            update(subject_keys).where(subject_keys.c.subject_id == BOB).values(wrapped_key=_blob(store, ADA))
        )
    with pytest.raises(KeyringError):
        store.keys(BOB).open_key(KeySlot.DATA)
    store.create(ADA, KeySlot.KEPT, NOW)
    with store.engine.begin() as connection:
        connection.execute(
            update(subject_keys)
            .where(subject_keys.c.subject_id == ADA, subject_keys.c.slot == int(KeySlot.KEPT))
            .values(wrapped_key=_blob_of_slot(store, ADA, KeySlot.DATA))
        )
    with pytest.raises(KeyringError):
        store.keys(ADA).open_key(KeySlot.KEPT)


def _blob_of_slot(store: SubjectKeyStore, subject_id: str, slot: KeySlot) -> bytes:
    with store.engine.connect() as connection:
        return bytes(
            connection.execute(
                select(subject_keys.c.wrapped_key).where(
                    subject_keys.c.subject_id == subject_id, subject_keys.c.slot == int(slot)
                )
            ).scalar_one()
        )


def test_destroying_one_slot_keeps_the_other(store: SubjectKeyStore) -> None:
    store.create(ADA, KeySlot.DATA, NOW)
    store.create(ADA, KeySlot.KEPT, NOW)
    assert store.destroy(ADA, [KeySlot.DATA]) == 1
    keys = store.keys(ADA)
    assert not keys.has(KeySlot.DATA) and keys.has(KeySlot.KEPT)
    assert store.destroy(ADA) == 1  # what was left
    assert store.keys(ADA).wrapped == {}


def test_a_replica_with_a_cached_key_reads_on_after_another_rotates_and_retires(tmp_path: Path) -> None:
    """Replica A caches a wrapped key; replica B rotates the key-encryption key, rewraps, retires the
    old one. A's cached copy no longer unwraps, so A fetches the key again instead of failing."""
    path = tmp_path / "keyring.json"
    LocalKeyring.generate(path)
    url = f"sqlite:///{tmp_path / 'keystore.db'}"
    replica_a = SubjectKeyStore.open(url, LocalKeyring.open(path))
    replica_b_keyring = LocalKeyring.open(path)
    replica_b = SubjectKeyStore.open(url, replica_b_keyring)
    replica_a.create(ADA, KeySlot.DATA, NOW)
    before = replica_a.keys(ADA).open_key(KeySlot.DATA)  # now cached in A
    assert before is not None

    old = replica_b_keyring.active_kek_id
    replica_b_keyring.rotate()
    assert replica_b.rewrap() == 1
    replica_b_keyring.retire(old)

    cached = replica_a.keys(ADA)
    assert cached.wrapped[KeySlot.DATA].kek_id == old  # still the stale copy ...
    after = cached.open_key(KeySlot.DATA)  # ... which opens by fetching the rewrapped key
    assert after is not None
    sealed = before.seal(b"same key", b"aad")
    assert after.open_(sealed, b"aad") == b"same key"
