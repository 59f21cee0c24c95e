"""What an audit entry holds (never a value) and how it is hashed into the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dataward.audit.tags import AuditAction

__all__ = ["GENESIS", "AuditEntry", "AuditEvent", "Outcome", "chain_hash"]

GENESIS = "0" * 64


class Outcome(StrEnum):
    ALLOWED = "allowed"  # the operation went ahead (a read may still have withheld some fields)
    DENIED = "denied"  # the decision point refused
    FAILED = "failed"  # the operation went wrong (for example a ciphertext failed to open)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What a caller records: who did what to whom, which fields, for which purpose, and how it went."""

    action: AuditAction
    client_id: str
    outcome: Outcome
    request_id: str = "-"
    subject_id: str | None = None
    fields: tuple[str, ...] = ()
    purpose: str | None = None
    reason: str | None = None
    token_id: str | None = None  # the access token's id (jti), so a leaked token can be traced


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An event as stored: numbered, timed and chained to the entry before it."""

    seq: int
    at: str
    request_id: str
    client_id: str
    action: str
    subject_id: str | None
    fields: tuple[str, ...]
    purpose: str | None
    outcome: str
    reason: str | None
    token_id: str | None
    prev_hash: str
    hash: str

    @classmethod
    def chain(cls, event: AuditEvent, seq: int, at: str, prev_hash: str) -> AuditEntry:
        action, outcome = str(event.action), str(event.outcome)
        body = _body(
            seq, at, event.request_id, event.client_id, action, event.subject_id,
            event.fields, event.purpose, outcome, event.reason, event.token_id,
        )  # fmt: skip
        return cls(
            seq=seq, at=at, request_id=event.request_id, client_id=event.client_id,
            action=action, subject_id=event.subject_id, fields=event.fields,
            purpose=event.purpose, outcome=outcome, reason=event.reason,
            token_id=event.token_id, prev_hash=prev_hash, hash=chain_hash(prev_hash, body),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        return cls(
            seq=row.seq, at=row.at, request_id=row.request_id, client_id=row.client_id,
            action=row.action, subject_id=row.subject_id, fields=tuple(json.loads(row.fields)),
            purpose=row.purpose, outcome=row.outcome, reason=row.reason,
            token_id=row.token_id, prev_hash=row.prev_hash, hash=row.hash,
        )  # fmt: skip

    def expected_hash(self) -> str:
        """The hash this entry should carry, recomputed from its stored content."""
        body = _body(
            self.seq, self.at, self.request_id, self.client_id, self.action, self.subject_id,
            self.fields, self.purpose, self.outcome, self.reason, self.token_id,
        )  # fmt: skip
        return chain_hash(self.prev_hash, body)

    def row(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "at": self.at, "request_id": self.request_id,
            "client_id": self.client_id, "action": self.action, "subject_id": self.subject_id,
            "fields": json.dumps(list(self.fields)), "purpose": self.purpose,
            "outcome": self.outcome, "reason": self.reason, "token_id": self.token_id,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        doc = self.row()
        doc["fields"] = list(self.fields)
        return doc


# Compact JSON, ASCII only: the exact bytes every entry's hash covers. Built once.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def _body(
    seq: int, at: str, request_id: str, client_id: str, action: str, subject_id: str | None,
    fields: tuple[str, ...], purpose: str | None, outcome: str, reason: str | None,
    token_id: str | None,
) -> bytes:  # fmt: skip
    return _CANONICAL.encode(
        [seq, at, request_id, client_id, action, subject_id, list(fields), purpose, outcome, reason, token_id]
    ).encode()


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()
