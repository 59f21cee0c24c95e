"""Envelope encryption recipes: a per-subject data key seals field values with AES-256-GCM.

Associated data binds every ciphertext to its place (subject, collection, field, record), so a
ciphertext copied to another row fails to open instead of revealing someone else's data.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataward.keys.errors import IntegrityError

__all__ = ["DataKey", "field_aad", "generate_data_key", "open_", "seal"]

_VERSION = b"\x01"
_NONCE_BYTES = 12


def generate_data_key() -> bytes:
    """A fresh 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def field_aad(subject_id: str, collection: str, field: str, record_id: str) -> bytes:
    """The associated data that pins a field's ciphertext to its place."""
    return f"dataward:field:v1\x00{subject_id}\x00{collection}\x00{field}\x00{record_id}".encode()


class DataKey:
    """A data key ready to seal and open many values (the cipher is set up once)."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate `plaintext`, bound to `aad`."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open_(self, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt what `seal` made; raise `IntegrityError` on any tampering, move or wrong key."""
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise IntegrityError("ciphertext is malformed")
        try:
            return self._aead.decrypt(sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :], aad)
        except (InvalidTag, ValueError):
            raise IntegrityError("ciphertext failed authentication") from None


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate `plaintext` under `key`, bound to `aad`."""
    return DataKey(key).seal(plaintext, aad)


def open_(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Decrypt what `seal` made; raise `IntegrityError` on any tampering, move or wrong key."""
    return DataKey(key).open_(sealed, aad)
