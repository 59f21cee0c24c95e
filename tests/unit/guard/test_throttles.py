"""Throttles: the same behaviour in memory and in a real Redis, where every replica sees them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from dataward.clock import FrozenClock
from dataward.guard.throttles import (
    MemoryThrottles,
    RedisThrottles,
    Throttles,
    address_key,
    client_key,
    client_of,
)

MakeThrottles = Callable[[], Throttles]


@pytest.fixture(params=["memory", "redis"])
def make_throttles(request: pytest.FixtureRequest, clock: FrozenClock) -> Iterator[MakeThrottles]:
    if request.param == "memory":
        shared = MemoryThrottles(clock)
        yield lambda: shared
        return
    url: str = request.getfixturevalue("redis_server")
    prefix: str = request.getfixturevalue("redis_prefix")
    yield lambda: RedisThrottles(url, clock, prefix=prefix)


def run(make: MakeThrottles, scenario: Callable[[Throttles, Throttles], Awaitable[None]]) -> None:
    async def main() -> None:
        one, other = make(), make()
        try:
            await scenario(one, other)
        finally:
            await one.close()
            await other.close()

    asyncio.run(main())


def test_a_throttle_holds_until_it_ends(make_throttles: MakeThrottles, clock: FrozenClock) -> None:
    async def scenario(one: Throttles, other: Throttles) -> None:
        key = client_key("dw_client")
        assert await other.throttled_rate(key) is None
        await one.throttle(key, "30/minute", clock.timestamp() + 600)
        assert await other.throttled_rate(key) == "30/minute"  # seen by every replica
        assert await other.throttled_rate(address_key("192.0.2.7")) is None
        clock.advance(601)
        assert await other.throttled_rate(key) is None

    run(make_throttles, scenario)


def test_a_throttle_can_be_lifted_and_one_in_the_past_is_none(
    make_throttles: MakeThrottles, clock: FrozenClock
) -> None:
    async def scenario(one: Throttles, other: Throttles) -> None:
        key = address_key("2001:db8::1")
        await one.throttle(key, "5/minute", clock.timestamp() + 600)
        await other.lift(key)
        assert await one.throttled_rate(key) is None
        await one.throttle(key, "5/minute", clock.timestamp() - 1)
        assert await one.throttled_rate(key) is None

    run(make_throttles, scenario)


def test_keys_never_confuse_a_client_with_an_address() -> None:
    assert client_of(client_key("corp-idp:abc")) == "corp-idp:abc"  # an external client's id
    assert client_of(address_key("192.0.2.7")) is None
    assert client_key("address:192.0.2.7") != address_key("192.0.2.7")
