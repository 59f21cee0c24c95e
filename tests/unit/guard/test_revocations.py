"""Revocations: the same behaviour in memory and in a real Redis (what replicas share)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from dataward.clock import FrozenClock
from dataward.guard.revocations import MemoryRevocations, RedisRevocations, Revocations
from dataward.identity import Principal

MakeRevocations = Callable[[FrozenClock], Revocations]


@pytest.fixture
def make(shared_redis: tuple[str, str] | None) -> Iterator[MakeRevocations]:
    if shared_redis is None:
        yield MemoryRevocations
        return
    url, prefix = shared_redis
    yield lambda clock: RedisRevocations(url, clock, prefix=prefix)


def _principal(clock: FrozenClock, token: str, client: str = "dw_c", family: str | None = None) -> Principal:
    now = clock.timestamp()
    return Principal(client, "support-agent", frozenset({"support"}), token, now + 600, None, now, family)


def test_tokens_families_and_clients_are_revoked(make: MakeRevocations, clock: FrozenClock) -> None:
    async def scenario() -> None:
        revocations = make(clock)
        try:
            alive, token, kin = (
                _principal(clock, "t1"),
                _principal(clock, "t2"),
                _principal(clock, "t3", family="f"),
            )
            await revocations.revoke_token("t2", token.expires_at)
            await revocations.revoke_family("f", kin.expires_at)
            assert [await revocations.is_revoked(p) for p in (alive, token, kin)] == [False, True, True]
            # a client cut off: every token issued up to now dies, a later one lives
            await revocations.cut_off("dw_c", clock.timestamp())
            assert await revocations.is_revoked(alive)
            clock.advance(seconds=2)
            assert not await revocations.is_revoked(_principal(clock, "t4"))
            assert not await revocations.is_revoked(_principal(clock, "t5", client="dw_other"))
        finally:
            await revocations.close()

    asyncio.run(scenario())


def test_a_revocation_is_forgotten_once_the_token_would_have_expired(clock: FrozenClock) -> None:
    async def scenario() -> None:
        revocations = MemoryRevocations(clock)
        token = _principal(clock, "t1")
        await revocations.revoke_token("t1", token.expires_at)
        clock.advance(seconds=601)
        await revocations.revoke_token("t9", clock.timestamp() + 10)  # prunes what expired
        assert "t1" not in revocations._tokens  # the point: memory does not grow

    asyncio.run(scenario())
