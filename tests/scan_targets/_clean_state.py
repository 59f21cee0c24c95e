"""What one clean Acme HR instance remembers, and the authority that signs its tokens.

Accounts, documents and subscriptions live in memory; the staff in an SQLite table opened with the
app. Tokens are HS256 JWTs under a random 32-byte key, five claims required, 15 minutes long.
"""

from __future__ import annotations

import functools
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request

from scan_targets._people import STAFF, StaffTable, StaffTableHolder, store_of

__all__ = [
    "TOKEN_LIFETIME",
    "Account",
    "CleanStore",
    "StoredDocument",
    "TokenAuthority",
    "default_authority",
    "get_store",
]

TOKEN_LIFETIME = 900  # seconds, declared in the spec as `x-token-lifetime`
ISSUER = "https://api.acme.example"
AUDIENCE = "acme-hr"

# Argon2id at the lowest cost, since tests log in hundreds of times; a deployment keeps the defaults.
_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True, slots=True)
class TokenAuthority:
    key: bytes

    @classmethod
    def generate(cls) -> TokenAuthority:
        return cls(secrets.token_bytes(32))

    def issue(self, subject: str, scopes: Sequence[str], *, issued_at: float | None = None) -> str:
        now = int(time.time() if issued_at is None else issued_at)
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "scope": " ".join(scopes),
                  "iat": now, "exp": now + TOKEN_LIFETIME, "jti": secrets.token_hex(8)}  # fmt: skip
        return jwt.encode(claims, self.key, algorithm="HS256")

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a genuine, unexpired token of ours; None for anything else."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["iss", "aud", "sub", "iat", "exp"]},
            )  # fmt: skip
        except jwt.InvalidTokenError:
            return None
        return claims


@functools.cache
def default_authority() -> TokenAuthority:
    """The authority of apps created without one: one random key per process, made on first use."""
    return TokenAuthority.generate()


@dataclass
class Account:
    username: str
    display_name: str
    email: str
    role: str
    scopes: tuple[str, ...]
    password_hash: str
    employee_id: str

    def password_matches(self, password: str) -> bool:
        return _password_matches(self.password_hash, password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class StoredDocument:
    id: uuid.UUID
    owner: str
    title: str
    body: str
    tags: list[str]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class CleanStore(StaffTableHolder):
    """All of one app instance's state."""

    authority: TokenAuthority
    employee_ids: tuple[str, ...] = field(default_factory=lambda: tuple(str(uuid.uuid4()) for _ in STAFF))
    accounts: dict[str, Account] = field(default_factory=dict)
    documents: dict[uuid.UUID, StoredDocument] = field(default_factory=dict)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    sick_leave: list[dict[str, Any]] = field(default_factory=list)
    staff: StaffTable | None = None  # open while the app runs
    _decoy_hash: str = field(default_factory=lambda: _HASHER.hash(secrets.token_urlsafe(16)))

    def __post_init__(self) -> None:
        for employee_id, m in zip(self.employee_ids, STAFF, strict=True):
            if m.username and m.password:
                scopes = ("hr", "admin") if m.role == "admin" else ("hr",)
                self.accounts[m.username] = Account(
                    m.username, m.full_name, m.email, m.role, scopes, _HASHER.hash(m.password), employee_id
                )
        for owner, title, body, tag in (
            ("alice", "Employment contract", "Fictional employment contract of Alice Example.", "contract"),
            ("bob", "Expense report", "Fictional travel expenses of Bob Example.", "expenses"),
        ):
            document = StoredDocument(uuid.uuid4(), owner, title, body, [tag])
            self.documents[document.id] = document

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account, if the password is its own; as slow for unknown users as for known ones."""
        account = self.accounts.get(username)
        if account is None:
            _password_matches(self._decoy_hash, password)
            return None
        return account if account.password_matches(password) else None

    def staff_ids(self) -> Sequence[int | str]:
        return self.employee_ids


def get_store(request: Request) -> CleanStore:
    return store_of(request, CleanStore)
