"""Sealed values open only in their own place, under their own key, untouched."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataward.keys import DataKey, IntegrityError, field_aad, generate_data_key, open_, seal

HERE = field_aad("6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11", "profile", "email", "rec-1")


def test_a_sealed_value_opens_to_what_was_sealed() -> None:
    key = generate_data_key()
    assert open_(key, seal(key, b'"ada@example.com"', HERE), HERE) == b'"ada@example.com"'


def test_the_format_is_version_nonce_then_aes_gcm() -> None:
    """Known answer: what `seal` makes is AES-256-GCM as `cryptography` computes it, behind a version
    byte and the nonce, so any AES-GCM implementation can open it."""
    key = bytes(range(32))
    sealed = seal(key, b"value", HERE)
    version, nonce, body = sealed[:1], sealed[1:13], sealed[13:]
    assert version == b"\x01"
    assert body == AESGCM(key).encrypt(nonce, b"value", HERE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        field_aad("0b7f4e8e-9a7d-4a64-8e6e-6a2f0f2d1c11", "profile", "email", "rec-1"),  # another subject
        field_aad("6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11", "profile", "phone", "rec-1"),  # another field
        field_aad("6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11", "health", "email", "rec-1"),  # another collection
        field_aad("6f1c1c59-8a3b-4a0e-9d7e-0d3c1f0b8e11", "profile", "email", "rec-2"),  # another record
    ],
)
def test_a_ciphertext_moved_anywhere_else_does_not_open(elsewhere: bytes) -> None:
    key = generate_data_key()
    sealed = seal(key, b"secret", HERE)
    with pytest.raises(IntegrityError):
        open_(key, sealed, elsewhere)


@pytest.mark.parametrize("position", [0, 1, 12, 13, -1])  # version, nonce, body, tag
def test_any_flipped_bit_is_caught(position: int) -> None:
    key = generate_data_key()
    sealed = bytearray(seal(key, b"secret", HERE))
    sealed[position] ^= 0x01
    with pytest.raises(IntegrityError):
        open_(key, bytes(sealed), HERE)


@pytest.mark.parametrize("sealed", [b"", b"\x01", b"\x01" + b"\x00" * 27])
def test_truncated_ciphertexts_are_refused(sealed: bytes) -> None:
    with pytest.raises(IntegrityError, match="malformed"):
        open_(generate_data_key(), sealed, HERE)


def test_another_subjects_key_does_not_open_it() -> None:
    sealed = seal(generate_data_key(), b"secret", HERE)
    with pytest.raises(IntegrityError):
        open_(generate_data_key(), sealed, HERE)


def test_nonces_never_repeat_and_equal_values_look_different() -> None:
    key = DataKey(generate_data_key())
    sealed = [key.seal(b"same", HERE) for _ in range(2000)]
    assert len({s[1:13] for s in sealed}) == 2000
    assert len(set(sealed)) == 2000
