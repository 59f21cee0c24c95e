"""Signatures over the chain: what a checkpoint or the signed head says, and how it is checked."""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dataward.keys import SigningKey

__all__ = ["sign_position", "signature_holds"]


def _message(seq: int, entry_hash: str, at: str) -> bytes:
    return f"dataward:audit:v1\n{seq}\n{entry_hash}\n{at}".encode()


def sign_position(key: SigningKey, seq: int, entry_hash: str, at: str) -> str:
    return base64.b64encode(key.private.sign(_message(seq, entry_hash, at))).decode()


def signature_holds(
    keys: dict[str, Ed25519PublicKey], kid: str, signature: str, *, seq: int, entry_hash: str, at: str
) -> bool:
    public = keys.get(kid)
    if public is None:
        return False
    try:
        public.verify(base64.b64decode(signature), _message(seq, entry_hash, at))
    except (InvalidSignature, ValueError):
        return False
    return True
