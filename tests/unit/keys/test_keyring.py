"""The local key file: private, never overwritten, rotated and retired safely, refused when damaged."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dataward.keys import IntegrityError, KeyringError, LocalKeyring, generate_data_key


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


def test_the_key_file_is_created_owner_only_and_never_overwritten(path: Path) -> None:
    LocalKeyring.generate(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        LocalKeyring.generate(path)
    assert path.read_bytes() == before


def test_a_key_file_others_can_read_is_refused(path: Path) -> None:
    LocalKeyring.generate(path)
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="readable by others"):
        LocalKeyring.open(path)


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"version": 99}', b"[]"])
def test_a_damaged_key_file_gets_a_clear_error(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyringError, match="damaged or of an unknown format"):
        LocalKeyring.open(path)


def test_a_missing_key_file_says_what_to_do(path: Path) -> None:
    with pytest.raises(KeyringError, match="dataward init"):
        LocalKeyring.open(path)


def test_reopened_keys_unwrap_what_the_first_wrapped(path: Path) -> None:
    data_key = generate_data_key()
    wrapped = LocalKeyring.generate(path).wrap(data_key, b"subject-1")
    assert LocalKeyring.open(path).unwrap(wrapped, b"subject-1") == data_key


def test_a_wrapped_key_is_bound_to_its_subject(path: Path) -> None:
    ring = LocalKeyring.generate(path)
    wrapped = ring.wrap(generate_data_key(), b"subject-1")
    with pytest.raises(IntegrityError):
        ring.unwrap(wrapped, b"subject-2")


def test_rotation_keeps_old_keys_until_retired_and_never_retires_the_active_one(path: Path) -> None:
    ring = LocalKeyring.generate(path)
    data_key = generate_data_key()
    old = ring.wrap(data_key, b"s")

    new_kek = ring.rotate()
    assert ring.active_kek_id == new_kek != old.kek_id
    assert ring.wrap(data_key, b"s").kek_id == new_kek
    assert ring.unwrap(old, b"s") == data_key  # still decrypts until retired

    with pytest.raises(KeyringError, match="rotate first"):
        ring.retire(new_kek)
    ring.retire(old.kek_id)
    with pytest.raises(KeyringError, match="retired"):
        LocalKeyring.open(path).unwrap(old, b"s")  # the retirement is in the file


def test_no_key_material_in_reprs(path: Path) -> None:
    ring = LocalKeyring.generate(path)
    shown = repr(ring) + str(ring) + repr(ring.audit_signing_key()) + repr(ring.token_signing_key())
    assert ring.blind_index_key().hex() not in shown
    assert all(kek.key.hex() not in shown and repr(kek.key) not in shown for kek in ring._m.keks)
