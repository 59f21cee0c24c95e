"""Blind indexes: equality lookups over encrypted fields without storing plaintext.

A keyed HMAC-SHA256 over the field's path and its normalised value. The key is separate from every
encryption key, so the index reveals nothing to someone who holds only the database.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["BlindIndex"]


class BlindIndex:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a blind index key needs at least 256 bits")
        self._key = key

    def digest(self, field_path: str, normalised_value: str) -> bytes:
        message = f"{field_path}\x00{normalised_value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()
