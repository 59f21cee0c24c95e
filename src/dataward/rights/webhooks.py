"""Signed webhooks to processors (Art. 19), in the style of Stripe's: the signature covers a timestamp
and the body, so a receiver can check who sent a notice and refuse one replayed later.

    Dataward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, b"<t>." + body)>

A receiver calls `verify_signature` (or does the same in its own language) with the raw body as
received, and uses `Idempotency-Key` to do nothing twice: every attempt at one event carries the same
key and body, with a fresh signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum

__all__ = [
    "EVENT_HEADER",
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "EventKind",
    "sign",
    "verify_signature",
    "webhook_headers",
]

SIGNATURE_HEADER = "Dataward-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "Dataward-Event"

_SCHEME = "v1"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class EventKind(StrEnum):
    """What a processor is told: Art. 19 names rectification, erasure and restriction."""

    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    RESTRICTION_LIFTED = "restriction_lifted"


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The `Dataward-Signature` value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},{_SCHEME}={_digest(secret, timestamp, body)}"


def webhook_headers(
    *, event_id: str, kind: str, secret: bytes, body: bytes, timestamp: int
) -> dict[str, str]:
    """Every header of one delivery attempt (`kind`: an `EventKind`, or another signed event's name)."""
    return {
        "Content-Type": "application/json",
        IDEMPOTENCY_HEADER: event_id,
        EVENT_HEADER: str(kind),
        SIGNATURE_HEADER: sign(secret, body, timestamp),
    }


def verify_signature(secret: bytes, header: str, body: bytes, now: float, tolerance: int = 300) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance` seconds of `now`.

    Any `v1` entry may match (a sender rotating its secret sends one per secret). A malformed header
    is simply not valid: this never raises on what a stranger sends.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                return False
            timestamp = int(value)
        elif key == _SCHEME and _DIGEST.fullmatch(value):
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body).encode()
    # Compare every candidate, so the time taken says nothing about which one matched.
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in candidates]
    return any(matches)
