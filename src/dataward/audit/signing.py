"""Signatures over the chain: what a checkpoint or the signed head says, and how it is checked.

The head and the checkpoints sign different messages: were they the same, any checkpoint would
also be a valid head, and a log cut back to a checkpoint could pass for a whole one.
"""

from __future__ import annotations

import base64
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dataward.keys import SigningKey

__all__ = ["Role", "sign_position", "signature_holds"]

Role = Literal["head", "checkpoint"]


def _message(role: Role, seq: int, entry_hash: str, at: str) -> bytes:
    return f"dataward:audit:v2:{role}\n{seq}\n{entry_hash}\n{at}".encode()


def sign_position(key: SigningKey, role: Role, seq: int, entry_hash: str, at: str) -> str:
    return base64.b64encode(key.private.sign(_message(role, seq, entry_hash, at))).decode()


def signature_holds(
    keys: dict[str, Ed25519PublicKey],
    role: Role,
    kid: str,
    signature: str,
    *,
    seq: int,
    entry_hash: str,
    at: str,
) -> bool:
    public = keys.get(kid)
    if public is None:
        return False
    try:
        public.verify(base64.b64decode(signature), _message(role, seq, entry_hash, at))
    except (InvalidSignature, ValueError):
        return False
    return True
