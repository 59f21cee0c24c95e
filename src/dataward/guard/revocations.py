"""Revoked access tokens, token families and clients cut off, shared by every replica.

An access token is remembered as revoked until it would have expired anyway; a client's cut-off
("every token issued to it up to now") for a day, the longest an accepted token may live (ours at
most `MAX_TOKEN_TTL_SECONDS`, an identity provider's at most a day). Refresh tokens and
suspensions live in the database, which every replica shares already; this list is what makes an
access token die at once instead of at its expiry.

Two implementations behind one interface, with the same conformance tests: `MemoryRevocations`
(one process) and `RedisRevocations` (`DATAWARD_REDIS_URL`: every replica sees a revocation on its
next request; one round trip per request, a single MGET).
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from dataward.clock import Clock
from dataward.guard.redis_client import LazyRedis
from dataward.identity.tokens import Principal
from dataward.settings import MAX_TOKEN_TTL_SECONDS

__all__ = ["MemoryRevocations", "RedisRevocations", "Revocations", "family_lifetime"]

# A cut-off outlives every token it could reach: ours live at most MAX_TOKEN_TTL_SECONDS, an
# identity provider's at most a day (`identity.external` refuses longer-lived ones).
_CUT_OFF_KEPT = 86_400 + 60


def family_lifetime(now: float) -> float:
    """Until when a refresh family's revocation must be kept: past every access token of it, even
    one issued (by a concurrent refresh that won the race) a moment after the family was revoked."""
    return now + MAX_TOKEN_TTL_SECONDS + 60


class Revocations(Protocol):
    async def revoke_token(self, token_id: str, expires_at: float) -> None:
        """The access token `token_id` is dead from now until it expires anyway."""

    async def revoke_family(self, family_id: str, expires_at: float) -> None:
        """Every access token of the family (see `Principal.family_id`) is dead until `expires_at`
        (`family_lifetime` from now reaches every token of it that may still live)."""

    async def cut_off(self, client_id: str, issued_up_to: float) -> None:
        """Every access token issued to the client at or before `issued_up_to` is dead."""

    async def is_revoked(self, principal: Principal) -> bool: ...

    async def close(self) -> None: ...


class MemoryRevocations:
    """Revocations in this process only: for one server, or tests."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._families: dict[str, float] = {}
        self._cut_offs: dict[str, tuple[float, float]] = {}  # client -> (issued up to, kept until)

    async def revoke_token(self, token_id: str, expires_at: float) -> None:
        self._prune()
        self._tokens[token_id] = expires_at

    async def revoke_family(self, family_id: str, expires_at: float) -> None:
        self._prune()
        self._families[family_id] = max(expires_at, self._families.get(family_id, 0.0))

    async def cut_off(self, client_id: str, issued_up_to: float) -> None:
        self._prune()
        self._cut_offs[client_id] = (issued_up_to, self._clock.timestamp() + _CUT_OFF_KEPT)

    async def is_revoked(self, principal: Principal) -> bool:
        if principal.token_id in self._tokens:
            return True
        if principal.family_id is not None and principal.family_id in self._families:
            return True
        cut = self._cut_offs.get(principal.client_id)
        return cut is not None and principal.issued_at <= cut[0]

    async def close(self) -> None:
        return None

    def _prune(self) -> None:
        now = self._clock.timestamp()
        for table in (self._tokens, self._families):
            for key in [k for k, until in table.items() if until <= now]:
                del table[key]
        for key in [k for k, (_, until) in self._cut_offs.items() if until <= now]:
            del self._cut_offs[key]


class RedisRevocations:
    """Revocations in Redis, seen by every replica. Keys expire with what they revoke."""

    def __init__(self, url: str, clock: Clock, *, prefix: str = "dataward") -> None:
        self._clock = clock
        self._prefix = prefix
        self._connection = LazyRedis(url)

    @property
    def _redis(self) -> Redis:
        return self._connection.client

    async def revoke_token(self, token_id: str, expires_at: float) -> None:
        await self._set(f"{self._prefix}:revoked:token:{token_id}", b"1", expires_at)

    async def revoke_family(self, family_id: str, expires_at: float) -> None:
        await self._set(f"{self._prefix}:revoked:family:{family_id}", b"1", expires_at)

    async def cut_off(self, client_id: str, issued_up_to: float) -> None:
        until = self._clock.timestamp() + _CUT_OFF_KEPT
        await self._set(f"{self._prefix}:revoked:client:{client_id}", repr(issued_up_to).encode(), until)

    async def is_revoked(self, principal: Principal) -> bool:
        keys = [
            f"{self._prefix}:revoked:token:{principal.token_id}",
            f"{self._prefix}:revoked:client:{principal.client_id}",
        ]
        if principal.family_id is not None:
            keys.append(f"{self._prefix}:revoked:family:{principal.family_id}")
        token, cut, *family = await self._redis.mget(keys)
        if token is not None or any(value is not None for value in family):
            return True
        return cut is not None and principal.issued_at <= float(cut)

    async def close(self) -> None:
        await self._connection.close()

    async def _set(self, key: str, value: bytes, until: float) -> None:
        ttl_ms = int((until - self._clock.timestamp()) * 1000)
        if ttl_ms > 0:
            await self._redis.set(key, value, px=ttl_ms)
