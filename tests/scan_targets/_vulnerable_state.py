"""What one vulnerable Acme HR instance remembers, and how it signs its tokens.

Accounts, documents and webhooks live in memory; the staff in an SQLite table opened with the app.
The token code is home-made on purpose (PyJWT would refuse half of these shortcuts, and warns
about a six-byte key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from scan_targets._people import STAFF, StaffTable, StaffTableHolder, store_of

__all__ = [
    "TOKEN_LIFETIME",
    "WEAK_SECRET",
    "Record",
    "VulnerableStore",
    "get_store",
    "hash_password",
    "issue_claims",
    "read_token",
    "sign_token",
]

Record = dict[str, Any]  # an account or a document, as stored, every field of it

WEAK_SECRET = b"secret"  # plants: API2-FORGED-TOKEN-ACCEPTED (the first entry of every word list)
TOKEN_LIFETIME = 3600


def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()  # unsalted, and fast to guess


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(claims: Mapping[str, object]) -> str:
    """An HS256 JWT signed with `WEAK_SECRET`."""
    header = _encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _encode(json.dumps(dict(claims)).encode())
    signature = hmac.new(WEAK_SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_encode(signature)}"


def read_token(token: str, *, check_signature: bool = True) -> Record | None:
    """The token's claims, or None; `exp` is never looked at."""
    try:
        header_part, payload_part, signature_part = token.split(".")
        header, claims = json.loads(_decode(header_part)), json.loads(_decode(payload_part))
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    # plants: API2-FORGED-TOKEN-ACCEPTED (whatever algorithm the token names, "none" included)
    if str(header.get("alg", "")).lower() == "none" or not check_signature:
        return claims
    expected = hmac.new(WEAK_SECRET, f"{header_part}.{payload_part}".encode(), hashlib.sha256).digest()
    if _encode(expected) != signature_part:
        return None
    return claims  # plants: API2-FORGED-TOKEN-ACCEPTED (expired tokens too)


def issue_claims(username: str, *, issued_at: float | None = None) -> dict[str, object]:
    now = int(time.time() if issued_at is None else issued_at)
    return {"sub": username, "scope": "hr", "iat": now, "exp": now + TOKEN_LIFETIME}


def _accounts() -> dict[str, Record]:
    return {
        m.username: {
            "username": m.username,
            "password_hash": hash_password(m.password),
            "display_name": m.full_name,
            "email": m.email,
            "role": m.role,
            "is_admin": m.role == "admin",
            "ssn": m.national_id,
            "employee_id": number,
        }
        for number, m in enumerate(STAFF, start=1)
        if m.username and m.password
    }


def _documents() -> dict[int, Record]:
    return {
        1: {"id": 1, "owner": "alice", "title": "Employment contract", "tags": ["contract"],
            "body": "Fictional employment contract of Alice Example."},
        2: {"id": 2, "owner": "bob", "title": "Expense report", "tags": ["expenses"],
            "body": "Fictional travel expenses of Bob Example."},
    }  # fmt: skip


@dataclass
class VulnerableStore(StaffTableHolder):
    """All of one app instance's state."""

    accounts: dict[str, Record] = field(default_factory=_accounts)
    documents: dict[int, Record] = field(default_factory=_documents)
    document_ids: Iterator[int] = field(default_factory=lambda: itertools.count(3))
    webhooks: list[Record] = field(default_factory=list)
    sick_leave: list[Record] = field(default_factory=list)
    staff: StaffTable | None = None  # open while the app runs

    def staff_ids(self) -> Sequence[int | str]:
        return range(1, len(STAFF) + 1)


def get_store(request: Request) -> VulnerableStore:
    return store_of(request, VulnerableStore)
