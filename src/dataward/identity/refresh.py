"""Refresh tokens: opaque, rotated on every use, and grouped in families that die together.

A client gets a refresh token with its access token (`start`, a new family). Presenting it
(`spend`) uses it up and hands out the next one of the same family. A spent or revoked token
presented again means two parties hold the family (a leak, or a replay), so the whole family is
revoked and the caller hears `Reused` (RFC 9700 section 4.14.2: refresh-token rotation with reuse
detection). Only a SHA-256 of each token is stored: a copy of the table lets no one refresh.

Spending is one conditional UPDATE (`... WHERE used_at IS NULL AND revoked_at IS NULL`) whose row
count says who won. Of two concurrent uses of one token on PostgreSQL, the second waits on the
first's row lock, then finds the row spent and counts as reuse; on SQLite, writers take turns.

Every method works in the caller's transaction, so a reuse's revocation commits before anyone hears
of it. The access tokens of a family (their `fam` claim) are the caller's to kill, through
`dataward.guard.revocations`: this module only knows the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from dataward.clock import Clock, as_utc
from dataward.identity.errors import OAuthError
from dataward.storage.tables import refresh_tokens

__all__ = ["NewRefresh", "RefreshRecord", "RefreshTokens", "Reused", "hash_token", "revoke_client_families"]

_PREFIX = "dwr_"
_FORMAT = re.compile(r"^dwr_[A-Za-z0-9_-]{43}$")  # the prefix and secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """A stored refresh token (never the token itself)."""

    family_id: str
    client_id: str
    purposes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None

    def usable_at(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class NewRefresh:
    """A refresh token just issued: `token` is shown to the client once, and never stored."""

    token: str
    family_id: str
    purposes: tuple[str, ...]  # what the family was granted; a refresh may ask for less


@dataclass(frozen=True, slots=True)
class Reused:
    """A spent or revoked token was presented: its family is revoked in the database now."""

    family_id: str


class RefreshTokens:
    def __init__(self, clock: Clock, ttl_seconds: int) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)

    def start(self, connection: Connection, client_id: str, purposes: list[str]) -> NewRefresh:
        """The first refresh token of a new family, for what the client was just granted."""
        family_id = f"rf_{secrets.token_urlsafe(16)}"
        return self._issue(connection, family_id, client_id, tuple(purposes), self._clock.now())

    def spend(self, connection: Connection, token: str, client_id: str) -> NewRefresh | Reused:
        """Use `token` up and return the next of its family; `Reused` (the family revoked) when it
        was spent or revoked already. `invalid_grant` when it is unknown, expired, or not this
        client's: one message for the first and the last, so that neither tells the other apart."""
        record = self.find(connection, token)
        if record is None or record.client_id != client_id:
            raise OAuthError("invalid_grant", "the refresh token is not valid")
        now = self._clock.now()
        if record.used_at is not None or record.revoked_at is not None:
            self.revoke_family(connection, record.family_id)
            return Reused(record.family_id)
        if record.expires_at <= now:
            raise OAuthError("invalid_grant", "the refresh token has expired")
        spent = connection.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.token_hash == hash_token(token),
                refresh_tokens.c.used_at.is_(None),
                refresh_tokens.c.revoked_at.is_(None),
            )
            .values(used_at=now)
        )
        if spent.rowcount != 1:  # a concurrent use got there first: that is reuse too
            self.revoke_family(connection, record.family_id)
            return Reused(record.family_id)
        return self._issue(connection, record.family_id, client_id, record.purposes, now)

    def find(self, connection: Connection, token: str) -> RefreshRecord | None:
        """The stored record of `token`, whatever its state; None for anything we never issued."""
        if not _FORMAT.match(token):
            return None
        row = connection.execute(
            select(refresh_tokens).where(refresh_tokens.c.token_hash == hash_token(token))
        ).first()
        if row is None:
            return None
        return RefreshRecord(
            family_id=row.family_id,
            client_id=row.client_id,
            purposes=tuple(row.purposes.split()),
            issued_at=as_utc(row.issued_at),
            expires_at=as_utc(row.expires_at),
            used_at=as_utc(row.used_at) if row.used_at is not None else None,
            revoked_at=as_utc(row.revoked_at) if row.revoked_at is not None else None,
        )

    def revoke_family(self, connection: Connection, family_id: str) -> int:
        """Revoke every refresh token of the family not revoked yet; how many were."""
        revoked = connection.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=self._clock.now())
        )
        return revoked.rowcount

    def _issue(
        self, connection: Connection, family_id: str, client_id: str, purposes: tuple[str, ...], now: datetime
    ) -> NewRefresh:
        token = _PREFIX + secrets.token_urlsafe(32)
        connection.execute(
            insert(refresh_tokens).values(
                token_hash=hash_token(token),
                family_id=family_id,
                client_id=client_id,
                purposes=" ".join(purposes),
                issued_at=now,
                expires_at=now + self._ttl,
            )
        )
        return NewRefresh(token=token, family_id=family_id, purposes=purposes)


def hash_token(token: str) -> str:
    """What is stored of a refresh token: its SHA-256, in hex. The token holds 256 random bits,
    so a fast hash is enough (there is nothing to guess, unlike a password)."""
    return hashlib.sha256(token.encode()).hexdigest()


def revoke_client_families(connection: Connection, client_id: str, at: datetime) -> int:
    """Revoke every refresh token of the client (all its families), as suspension does."""
    revoked = connection.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.client_id == client_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return revoked.rowcount


def prune_expired(connection: Connection, now: datetime) -> int:
    """Forget refresh tokens past their expiry, spent or not: an expired token is refused as
    expired whether or not its row remains, so its row only grows the table. How many went."""
    pruned = connection.execute(delete(refresh_tokens).where(refresh_tokens.c.expires_at <= now))
    return pruned.rowcount
