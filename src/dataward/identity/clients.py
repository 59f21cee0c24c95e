"""Registered API clients. A secret is shown once, at registration, and stored as an argon2 hash.

A client may be suspended (by a person, or by anomaly response) until a person reinstates it: a
suspended client cannot authenticate, so it gets no token and refreshes none, and its refresh-token
families are revoked as it is suspended. Its live access tokens are the caller's to cut off, through
`dataward.guard.revocations` (this registry knows only the database).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError

from dataward.clock import Clock, as_utc
from dataward.errors import Conflict, InvalidRequest, Problem
from dataward.identity.errors import InvalidClient
from dataward.identity.refresh import revoke_client_families
from dataward.policy import Policy
from dataward.storage import read_connection, write_transaction
from dataward.storage.tables import clients

__all__ = ["ClientRecord", "ClientRegistry", "NewClient"]

CLIENT_ID = re.compile(r"^dw_[A-Za-z0-9_-]{16,40}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_REASON = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")  # one line, as it is shown in listings and the audit


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: str
    name: str
    role: str
    suspended_at: datetime | None = None
    suspended_reason: str | None = None


@dataclass(frozen=True, slots=True)
class NewClient:
    id: str
    name: str
    role: str
    secret: str  # shown once; only its hash is kept


class ClientRegistry:
    def __init__(self, engine: Engine, clock: Clock, hasher: PasswordHasher | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        # Verified against when the client id is unknown, so both failures take the same time.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def add(self, name: str, role: str, policy: Policy) -> NewClient:
        problems = []
        if not _NAME.match(name):
            problems.append(Problem("name", "use 1-64 lower-case letters, digits, '.', '_' or '-'"))
        if role not in policy.roles:
            problems.append(Problem("role", f"unknown role {role}; the policy has {', '.join(policy.roles)}"))
        if problems:
            raise InvalidRequest("the client cannot be registered", problems)
        client = NewClient(
            id=f"dw_{secrets.token_urlsafe(18)}", name=name, role=role, secret=secrets.token_urlsafe(32)
        )
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(clients).values(
                        id=client.id,
                        name=name,
                        role=role,
                        secret_hash=self._hasher.hash(client.secret),
                        created_at=self._clock.now(),
                    )
                )
        except DatabaseIntegrityError:
            raise Conflict(f"a client named {name} exists already") from None
        return client

    def authenticate(self, client_id: str, secret: str) -> ClientRecord:
        """The client whose id and secret these are; `InvalidClient` for anything else."""
        row = None
        if CLIENT_ID.match(client_id):
            with self._engine.connect() as connection:
                # A suspended client is looked up as an unknown one: same query, same decoy, same time.
                row = connection.execute(
                    select(clients).where(
                        clients.c.id == client_id,
                        clients.c.disabled_at.is_(None),
                        clients.c.suspended_at.is_(None),
                    )
                ).first()
        try:
            self._hasher.verify(row.secret_hash if row else self._decoy, secret)
        except (VerificationError, InvalidHashError):
            raise InvalidClient() from None
        if row is None:
            raise InvalidClient()
        return _record(row)

    def list(self) -> list[ClientRecord]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(clients).order_by(clients.c.created_at))
            return [_record(r) for r in rows]

    def find(self, name_or_id: str) -> ClientRecord | None:
        """The client with this id, else with this name (disabled ones too)."""
        with read_connection(self._engine) as connection:
            rows = sorted(
                connection.execute(
                    select(clients).where(or_(clients.c.id == name_or_id, clients.c.name == name_or_id))
                ),
                key=lambda row: row.id != name_or_id,  # an id match first
            )
        return _record(rows[0]) if rows else None

    def suspend(self, client_id: str, reason: str) -> bool:
        """Suspend the client and revoke every refresh-token family of it; True when it was not
        suspended already. `reason` is one line, kept with the client: no personal data."""
        if not _REASON.match(reason):
            raise InvalidRequest("the reason must be one line of 1-255 characters")
        now = self._clock.now()
        with write_transaction(self._engine) as connection:
            suspended = connection.execute(
                update(clients)
                .where(clients.c.id == client_id, clients.c.suspended_at.is_(None))
                .values(suspended_at=now, suspended_reason=reason)
            )
            # Also when suspended already: a family begun by a race with the first suspension dies.
            revoke_client_families(connection, client_id, now)
        return suspended.rowcount == 1

    def reinstate(self, client_id: str) -> bool:
        """Lift the client's suspension; True when it was suspended. Its revoked refresh tokens stay
        revoked: the client starts again with its secret."""
        with write_transaction(self._engine) as connection:
            lifted = connection.execute(
                update(clients)
                .where(clients.c.id == client_id, clients.c.suspended_at.is_not(None))
                .values(suspended_at=None, suspended_reason=None)
            )
        return lifted.rowcount == 1

    def is_suspended(self, client_id: str) -> bool:
        with read_connection(self._engine) as connection:
            at = connection.execute(select(clients.c.suspended_at).where(clients.c.id == client_id)).scalar()
        return at is not None


def _record(row: Row[Any]) -> ClientRecord:
    return ClientRecord(
        id=row.id,
        name=row.name,
        role=row.role,
        suspended_at=as_utc(row.suspended_at) if row.suspended_at is not None else None,
        suspended_reason=row.suspended_reason,
    )
