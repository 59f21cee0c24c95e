"""Throttles: the same behaviour in memory and in a real Redis, where every replica sees them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
from support import run_on_two

MakeThrottles = Callable[[], Throttles]


@pytest.fixture
def make_throttles(shared_redis: tuple[str, str] | None, clock: FrozenClock) -> Iterator[MakeThrottles]:
    if shared_redis is None:
        shared = MemoryThrottles(clock)
        yield lambda: shared
        return
    url, prefix = shared_redis
    yield lambda: RedisThrottles(url, clock, prefix=prefix)


def test_a_throttle_holds_until_it_ends(make_throttles: MakeThrottles, clock: FrozenClock) -> None:
    async def scenario(one: Throttles, other: Throttles) -> None:
        key = client_key("dw_client")
        assert await other.throttled_rate(key) is None
        await one.throttle(key, "30/minute", clock.timestamp() + 600)
        assert await other.throttled_rate(key) == "30/minute"  # seen by every replica
        assert await other.throttled_rate(address_key("192.0.2.7")) is None
        clock.advance(601)
        assert await other.throttled_rate(key) is None

    run_on_two(make_throttles, scenario)


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

    run_on_two(make_throttles, scenario)


def test_keys_never_confuse_a_client_with_an_address() -> None:
    assert client_of(client_key("corp-idp:abc")) == "corp-idp:abc"  # an external client's id
    assert client_of(address_key("192.0.2.7")) is None
    assert client_key("address:192.0.2.7") != address_key("192.0.2.7")
