"""Errors of the keys domain. Every failure to open a ciphertext is one opaque `IntegrityError`."""

from __future__ import annotations

from dataward.errors import DatawardError

__all__ = ["IntegrityError", "KeyringError"]


class KeyringError(DatawardError):
    slug = "keyring-error"
    title = "Key error"


class IntegrityError(KeyringError):
    """A ciphertext did not open: it was changed, moved to another place, or its key is gone."""

    status = 500
    slug = "integrity-error"
    title = "Stored data failed its integrity check"
