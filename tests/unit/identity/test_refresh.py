"""Refresh tokens in the database: rotation, reuse detection, expiry, and two concurrent uses of one
token on a real PostgreSQL, of which exactly one wins."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from dataward.clock import FrozenClock
from dataward.identity.errors import OAuthError
from dataward.identity.refresh import (
    NewRefresh,
    RefreshTokens,
    Reused,
    hash_token,
    prune_expired,
    revoke_client_families,
)
from dataward.storage import create_database_engine, migrate, read_connection, write_transaction
from dataward.storage.tables import refresh_tokens

CLIENT, OTHER = "dw_aaaaaaaaaaaaaaaaaaaaaa", "dw_bbbbbbbbbbbbbbbbbbbbbb"
TTL = 3_600


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at=1_800_000_000.0)


@pytest.fixture
def store(clock: FrozenClock) -> RefreshTokens:
    return RefreshTokens(clock, TTL)


def _start(engine: Engine, store: RefreshTokens, client_id: str = CLIENT) -> NewRefresh:
    with write_transaction(engine) as connection:
        return store.start(connection, client_id, ["billing", "support"])


def _spend(engine: Engine, store: RefreshTokens, token: str, client_id: str = CLIENT) -> NewRefresh | Reused:
    with write_transaction(engine) as connection:
        return store.spend(connection, token, client_id)


def _usable(engine: Engine, store: RefreshTokens, clock: FrozenClock, token: str) -> bool:
    with read_connection(engine) as connection:
        record = store.find(connection, token)
    return record is not None and record.usable_at(clock.now())


def test_spending_hands_out_the_next_token_of_the_family(
    engine: Engine, store: RefreshTokens, clock: FrozenClock
) -> None:
    first = _start(engine, store)
    assert first.token.startswith("dwr_") and first.purposes == ("billing", "support")
    with read_connection(engine) as connection:
        stored = connection.execute(select(refresh_tokens)).one()
    assert stored.token_hash == hash_token(first.token) != first.token  # only the hash is kept
    assert first.token not in (stored.family_id, stored.purposes)

    second = _spend(engine, store, first.token)
    assert isinstance(second, NewRefresh)
    assert second.family_id == first.family_id and second.token != first.token
    assert second.purposes == first.purposes
    assert not _usable(engine, store, clock, first.token) and _usable(engine, store, clock, second.token)


def test_a_spent_token_presented_again_revokes_its_whole_family(
    engine: Engine, store: RefreshTokens, clock: FrozenClock
) -> None:
    first = _start(engine, store)
    second = _spend(engine, store, first.token)
    assert isinstance(second, NewRefresh)
    unrelated = _start(engine, store)

    assert _spend(engine, store, first.token) == Reused(first.family_id)
    assert not _usable(engine, store, clock, second.token)  # the thief's or the owner's: both dead
    assert _spend(engine, store, second.token) == Reused(first.family_id)  # revoked counts as reuse
    assert _usable(engine, store, clock, unrelated.token)  # other families live on


def test_unknown_foreign_and_expired_tokens_are_invalid_grants(
    engine: Engine, store: RefreshTokens, clock: FrozenClock
) -> None:
    first = _start(engine, store)
    for token in ("dwr_" + "A" * 43, "not-a-refresh-token", ""):
        with pytest.raises(OAuthError) as unknown:
            _spend(engine, store, token)
        assert unknown.value.error == "invalid_grant"
    with pytest.raises(OAuthError, match="not valid") as foreign:
        _spend(engine, store, first.token, OTHER)
    assert foreign.value.error == "invalid_grant"
    assert _usable(engine, store, clock, first.token)  # another client's attempt changes nothing

    clock.advance(TTL)
    with pytest.raises(OAuthError, match="expired"):
        _spend(engine, store, first.token)


def test_revoking_a_clients_families_reaches_every_family_of_it_only(
    engine: Engine, store: RefreshTokens, clock: FrozenClock
) -> None:
    mine = [_start(engine, store), _start(engine, store)]
    theirs = _start(engine, store, OTHER)
    with write_transaction(engine) as connection:
        assert revoke_client_families(connection, CLIENT, clock.now()) == 2
    assert not any(_usable(engine, store, clock, new.token) for new in mine)
    assert _usable(engine, store, clock, theirs.token)


def test_expired_tokens_are_pruned_and_live_ones_kept(
    engine: Engine, store: RefreshTokens, clock: FrozenClock
) -> None:
    old = _start(engine, store)
    spent = _spend(engine, store, old.token)
    assert isinstance(spent, NewRefresh)
    clock.advance(TTL - 10)
    young = _start(engine, store)
    clock.advance(20)  # the first two have expired, the young one has not
    with write_transaction(engine) as connection:
        assert prune_expired(connection, clock.now()) == 2
    with read_connection(engine) as connection:
        assert connection.execute(select(refresh_tokens.c.token_hash)).scalars().all() == [
            hash_token(young.token)
        ]
    assert _usable(engine, store, clock, young.token)


# -- concurrency, on a real PostgreSQL -----------------------------------------------------------


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_database_engine(postgres_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_a_use_waiting_on_another_finds_the_token_spent_and_counts_as_reuse(
    postgres_engine: Engine, store: RefreshTokens, clock: FrozenClock
) -> None:
    engine = postgres_engine
    first = _start(engine, store)
    outcome: dict[str, NewRefresh | Reused] = {}
    with engine.connect() as holder:
        transaction = holder.begin()
        won = store.spend(holder, first.token, CLIENT)  # holds the row's lock until it commits
        racer = threading.Thread(target=lambda: outcome.update(second=_spend(engine, store, first.token)))
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive()  # the second use waits on the first's row lock...
        transaction.commit()
    racer.join(timeout=10)
    assert not racer.is_alive()
    assert isinstance(won, NewRefresh)
    assert outcome["second"] == Reused(first.family_id)  # ...then finds it spent
    assert not _usable(engine, store, clock, won.token)  # and the winner's next token dies with it


@pytest.mark.postgres
def test_two_simultaneous_uses_of_one_token_make_exactly_one_winner(
    postgres_engine: Engine, store: RefreshTokens
) -> None:
    for _ in range(5):
        token = _start(postgres_engine, store).token
        barrier = threading.Barrier(2)
        outcomes: list[NewRefresh | Reused] = []

        def use(token: str = token, barrier: threading.Barrier = barrier, into: list[Any] = outcomes) -> None:
            barrier.wait()
            into.append(_spend(postgres_engine, store, token))  # list.append is atomic

        racers = [threading.Thread(target=use) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=10)
        assert sorted(type(o).__name__ for o in outcomes) == ["NewRefresh", "Reused"]
