"""Rate limits from the policy, counted by the `limits` library: in this process by default, in
Redis (`DATAWARD_REDIS_URL`) so that every replica shares one count.

Each call by a client counts against its client limit (its role's rate, else the default), against
the limit of its route where the policy sets one, and against a throttle that anomaly response may
have put on the client. A call without a token counts against its address. Fixed windows: Redis
counts them with one atomic INCR, so the count stays exact however many replicas hit it at once.

Every answer carries the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers): the policy
(`RateLimit-Policy: "client";q=600;w=60`) and what is left of it (`RateLimit: "client";r=599;t=42`)
for whichever limit is nearest to running out; an answer over a limit is a 429 with `Retry-After`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from dataward.errors import DatawardError
from dataward.policy.edge import RateLimits, parse_rate

__all__ = ["RateDecision", "RateLimited", "RateLimiter", "storage_for"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """One limit's state after a call: `policy` names which limit (client, route, throttle, address)."""

    allowed: bool
    policy: str
    quota: int
    window: int  # seconds
    remaining: int
    reset_after: int  # seconds until the window resets

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [
            (b"ratelimit-policy", f'"{self.policy}";q={self.quota};w={self.window}'.encode()),
            (b"ratelimit", f'"{self.policy}";r={self.remaining};t={self.reset_after}'.encode()),
        ]
        if not self.allowed:
            out.append((b"retry-after", str(max(1, self.reset_after)).encode()))
        return out


class RateLimited(DatawardError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, decision: RateDecision) -> None:
        super().__init__(
            f"the {decision.policy} limit of {decision.quota} calls per {decision.window} s is used up; "
            f"retry after {max(1, decision.reset_after)} s"
        )
        self.decision = decision


def storage_for(redis_url: str | None, prefix: str) -> Storage:
    """Counts in this process, or in Redis (redis-py, keys under `prefix`) when a URL is given."""
    if redis_url is None:
        return MemoryStorage()
    return RedisStorage(
        f"async+{redis_url}", implementation="redispy", key_prefix=f"{prefix}:ratelimit", socket_timeout=2
    )


class RateLimiter:
    def __init__(self, rules: RateLimits, storage: Storage) -> None:
        self._storage = storage
        self._default = parse_rate(rules.default)
        self._roles = {role: parse_rate(rate) for role, rate in rules.roles.items()}
        self._routes = {route: parse_rate(rate) for route, rate in rules.routes.items()}
        self._anonymous = parse_rate(rules.anonymous)
        self._throttles: dict[str, RateLimitItem] = {}

    async def admit_client(
        self, client_id: str, role: str, route: str | None, throttle: str | None = None
    ) -> RateDecision:
        """Count one call by a client to `route` (`METHOD /template`); `RateLimited` when a limit is
        used up. `throttle` is a rate that anomaly response put on the client, if any."""
        limits: list[tuple[str, RateLimitItem, tuple[str, ...]]] = []
        if throttle is not None:
            limits.append(("throttle", self._throttle(throttle), ("throttle", client_id)))
        route_rate = self._routes.get(route) if route is not None else None
        if route_rate is not None and route is not None:
            limits.append(("route", route_rate, ("route", client_id, route)))
        limits.append(("client", self._roles.get(role, self._default), ("client", client_id)))
        return await self._admit(limits)

    async def admit_address(
        self, address: str, route: str | None = None, throttle: str | None = None
    ) -> RateDecision:
        """Count one call that carries no token, by the address it came from."""
        limits: list[tuple[str, RateLimitItem, tuple[str, ...]]] = []
        if throttle is not None:
            limits.append(("throttle", self._throttle(throttle), ("address-throttle", address)))
        route_rate = self._routes.get(route) if route is not None else None
        if route_rate is not None and route is not None:
            limits.append(("route", route_rate, ("address-route", address, route)))
        limits.append(("address", self._anonymous, ("address", address)))
        return await self._admit(limits)

    async def close(self) -> None:
        """Close the Redis connections (`limits` keeps its redis-py client on its bridge)."""
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()

    def _throttle(self, rate: str) -> RateLimitItem:
        item = self._throttles.get(rate)
        if item is None:
            item = self._throttles[rate] = parse_rate(rate)
        return item

    async def _admit(self, limits: list[tuple[str, RateLimitItem, tuple[str, ...]]]) -> RateDecision:
        """Hit each limit, narrowest first, so that a call refused by a narrow limit (a route, a
        throttle) does not also use up the client's whole quota."""
        tightest: RateDecision | None = None
        for name, item, identifiers in limits:
            # What `FixedWindowRateLimiter.hit` does, keeping the count its atomic increment
            # returns: the headers need it, and asking the storage again costs a round trip.
            key = item.key_for(*identifiers)
            count = await self._storage.incr(key, item.get_expiry(), amount=1)
            reset_at = await self._storage.get_expiry(key)
            decision = RateDecision(
                allowed=count <= item.amount,
                policy=name,
                quota=item.amount,
                window=item.get_expiry(),
                remaining=max(0, item.amount - count),
                reset_after=max(0, math.ceil(reset_at - time.time())),
            )
            if not decision.allowed:
                raise RateLimited(decision)
            if tightest is None or decision.remaining < tightest.remaining:
                tightest = decision
        assert tightest is not None
        return tightest
