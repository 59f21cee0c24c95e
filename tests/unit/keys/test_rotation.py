"""Rotation rewraps every data key under the new key-encryption key; the data itself is untouched."""

from __future__ import annotations

from sqlalchemy import select

from dataward.services import Vault
from dataward.storage import read_connection, write_transaction
from dataward.storage.tables import field_values

PROFILE = {"email": "ada@example.com", "full_name": "Ada Lovelace", "country": "GB"}
PATHS = [f"profile.{name}" for name in PROFILE]


def _ciphertexts(vault: Vault) -> list[bytes]:
    with vault.engine.connect() as connection:
        return sorted(bytes(c) for c in connection.execute(select(field_values.c.ciphertext)).scalars())


def test_rotate_rewrap_retire_and_everything_still_reads(vault: Vault) -> None:
    with write_transaction(vault.engine) as connection:
        ids = [vault.subjects.create(connection) for _ in range(7)]
        for sid in ids:
            vault.subjects.write(
                connection, sid, "profile", vault.subjects.check_collection("profile", PROFILE)
            )
    sealed_before = _ciphertexts(vault)
    old = vault.keyring.active_kek_id

    new = vault.keyring.rotate()
    seen: list[int] = []
    # two keys each: the data key, and the key of what the invoicing obligation keeps (name, country)
    assert vault.key_store.rewrap(batch=3, progress=seen.append) == 14
    assert seen == [3, 3, 3, 3, 2]
    assert vault.key_store.count_wrapped_under([old]) == 0
    assert vault.key_store.count_wrapped_under([new]) == 14
    assert vault.key_store.rewrap() == 0  # nothing left to do
    assert _ciphertexts(vault) == sealed_before  # the data was not re-encrypted

    vault.keyring.retire(old)
    with read_connection(vault.engine) as connection:
        for sid in ids:
            result = vault.subjects.read(connection, sid, PATHS)
            assert result.integrity_failures == []
            assert result.nested()["profile"] == PROFILE
