"""Blind indexes: equal normalised values match, and nothing else does."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pytest

from dataward.keys import BlindIndex, LocalKeyring


def test_known_answer_hmac_sha256_over_path_and_value() -> None:
    key = bytes(range(32))
    expected = hmac.new(key, b"profile.email\x00ada@example.com", hashlib.sha256).digest()
    assert BlindIndex(key).digest("profile.email", "ada@example.com") == expected


def test_the_same_value_matches_and_other_values_keys_or_fields_do_not() -> None:
    key = secrets.token_bytes(32)
    index = BlindIndex(key)
    digest = index.digest("profile.email", "ada@example.com")
    assert index.digest("profile.email", "ada@example.com") == digest
    assert index.digest("profile.email", "bob@example.com") != digest
    assert index.digest("profile.phone", "ada@example.com") != digest  # bound to its field
    assert BlindIndex(secrets.token_bytes(32)).digest("profile.email", "ada@example.com") != digest


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="256 bits"):
        BlindIndex(b"short")


def test_the_index_key_is_none_of_the_encryption_keys() -> None:
    ring = LocalKeyring.generate()
    index_key = ring.blind_index_key()
    assert len(index_key) >= 32
    assert all(index_key != kek.key for kek in ring._m.keks)
