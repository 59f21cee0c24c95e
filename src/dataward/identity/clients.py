"""Registered API clients. A secret is shown once, at registration, and stored as an argon2 hash."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError

from dataward.clock import Clock
from dataward.errors import Conflict, InvalidRequest, Problem
from dataward.identity.errors import InvalidClient
from dataward.policy import Policy
from dataward.storage.tables import clients

__all__ = ["ClientRecord", "ClientRegistry", "NewClient"]

CLIENT_ID = re.compile(r"^dw_[A-Za-z0-9_-]{16,40}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: str
    name: str
    role: str


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
                row = connection.execute(
                    select(clients).where(clients.c.id == client_id, clients.c.disabled_at.is_(None))
                ).first()
        try:
            self._hasher.verify(row.secret_hash if row else self._decoy, secret)
        except (VerificationError, InvalidHashError):
            raise InvalidClient() from None
        if row is None:
            raise InvalidClient()
        return ClientRecord(id=row.id, name=row.name, role=row.role)

    def list(self) -> list[ClientRecord]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(clients).order_by(clients.c.created_at))
            return [ClientRecord(id=r.id, name=r.name, role=r.role) for r in rows]
