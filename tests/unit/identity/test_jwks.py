"""The JWKS cache against a real JWKS endpoint on 127.0.0.1 (`jwks_server`): keys fetched once and
cached, a rotation found by one fetch, a flood of made-up kids sharing one fetch per interval, an
outage ridden out on the cached keys, and every fetch bounded (time, size, number of keys)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from dataward.clock import FrozenClock
from dataward.identity.errors import IdentityProviderUnavailable
from dataward.identity.jwks import JwksCache, SigningKeys, StaticKeys, parse_key_set
from jwks_server import Provider, key_pair, public_jwk, serve_provider

T = TypeVar("T")
NOW = 1_800_000_000.0


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture
def provider() -> Iterator[Provider]:
    for provider in serve_provider("https://idp.example.com/"):
        provider.publish("rsa", "rsa-1", use="sig")
        provider.publish("ec", "ec-1", alg="ES256")
        provider.publish("ed", "ed-1")
        yield provider


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at=NOW)


@pytest.fixture
def cache(provider: Provider, clock: FrozenClock) -> JwksCache:
    return JwksCache(provider.url, clock)


async def _algorithms(keys: SigningKeys, *kids: str) -> list[str | None]:
    found = [await keys.key(kid) for kid in kids]
    return [k.algorithm_name if k else None for k in found]


# -- both implementations ---------------------------------------------------------------------------


@pytest.fixture(params=["static", "jwks"])
def signing_keys(request: pytest.FixtureRequest, provider: Provider, clock: FrozenClock) -> SigningKeys:
    if request.param == "static":
        return StaticKeys({"keys": provider.published})
    return JwksCache(provider.url, clock)


def test_each_usable_key_is_found_by_its_kid_with_its_one_algorithm(signing_keys: SigningKeys) -> None:
    kids = ("rsa-1", "ec-1", "ed-1", "nobody")
    assert run(_algorithms(signing_keys, *kids)) == ["RS256", "ES256", "EdDSA", None]
    run(signing_keys.aclose())


# -- caching ----------------------------------------------------------------------------------------


def test_the_keys_are_fetched_once_and_cached_for_their_lifespan(
    cache: JwksCache, provider: Provider, clock: FrozenClock
) -> None:
    for _ in range(3):
        assert run(_algorithms(cache, "rsa-1", "ec-1", "ed-1")) == ["RS256", "ES256", "EdDSA"]
    assert len(provider.fetches) == 1
    clock.advance(299)
    run(cache.key("rsa-1"))
    assert len(provider.fetches) == 1
    clock.advance(2)  # five minutes old: a key the provider removed is forgotten now
    provider.unpublish("rsa-1")
    assert run(cache.key("rsa-1")) is None
    assert len(provider.fetches) == 2


def test_a_rotated_key_is_found_by_one_fetch(
    cache: JwksCache, provider: Provider, clock: FrozenClock
) -> None:
    run(cache.key("rsa-1"))
    provider.publish("rsa", "rsa-2", n=1)
    clock.advance(31)
    assert run(_algorithms(cache, "rsa-2", "rsa-2", "rsa-1")) == ["RS256", "RS256", "RS256"]
    assert len(provider.fetches) == 2


def test_unknown_kids_refetch_at_most_once_per_interval(
    cache: JwksCache, provider: Provider, clock: FrozenClock
) -> None:
    run(cache.key("rsa-1"))
    assert run(cache.key("made-up-0")) is None  # fetched a moment ago: no second fetch
    assert len(provider.fetches) == 1
    for n in range(1, 5):
        clock.advance(31)
        assert run(_algorithms(cache, *(f"made-up-{n}-{i}" for i in range(20)))) == [None] * 20
        assert len(provider.fetches) == 1 + n  # one per interval, however many kids


def test_a_flood_of_concurrent_made_up_kids_shares_one_fetch(
    cache: JwksCache, provider: Provider, clock: FrozenClock
) -> None:
    provider.delay = 0.2  # every caller arrives while the fetch is under way

    async def flood(kids: list[str]) -> list[Any]:
        return await asyncio.gather(*(cache.key(kid) for kid in kids))

    first = run(flood(["rsa-1"] * 50))
    assert all(k is not None for k in first) and len(provider.fetches) == 1
    clock.advance(31)
    assert run(flood([secrets.token_hex(8) for _ in range(300)])) == [None] * 300
    assert run(flood([secrets.token_hex(8) for _ in range(300)])) == [None] * 300
    assert len(provider.fetches) == 2


def test_a_caller_that_gives_up_does_not_cancel_the_shared_fetch(
    cache: JwksCache, provider: Provider
) -> None:
    provider.delay = 0.3

    async def scenario() -> Any:
        impatient = asyncio.create_task(cache.key("rsa-1"))
        await asyncio.sleep(0.05)
        impatient.cancel()
        return await cache.key("ec-1")

    key = run(scenario())
    assert key is not None and key.algorithm_name == "ES256"
    assert len(provider.fetches) == 1


# -- outages ----------------------------------------------------------------------------------------


def test_the_cached_keys_serve_through_an_outage_until_they_are_too_old(
    cache: JwksCache, provider: Provider, clock: FrozenClock
) -> None:
    run(cache.key("rsa-1"))
    provider.answer = "down"
    clock.advance(301)
    assert run(_algorithms(cache, "rsa-1")) == ["RS256"]  # stale, the refresh failed: still served
    assert len(provider.fetches) == 2
    clock.advance(10)
    assert run(_algorithms(cache, "rsa-1", "made-up")) == ["RS256", None]
    assert len(provider.fetches) == 2  # failures are retried once per interval, not per token
    clock.advance(3600 - 311)  # an hour after the last good fetch: too old to trust
    with pytest.raises(IdentityProviderUnavailable):
        run(cache.key("rsa-1"))
    provider.answer = "ok"
    clock.advance(31)
    assert run(_algorithms(cache, "rsa-1")) == ["RS256"]


def test_with_no_keys_at_all_the_provider_is_unavailable_and_retried_once_per_interval(
    cache: JwksCache, provider: Provider, clock: FrozenClock
) -> None:
    provider.answer = "down"
    for _ in range(5):
        with pytest.raises(IdentityProviderUnavailable) as error:
            run(cache.key("rsa-1"))
        assert error.value.status == 503
    assert len(provider.fetches) == 1
    provider.answer = "ok"
    clock.advance(31)
    assert run(_algorithms(cache, "rsa-1")) == ["RS256"]
    assert len(provider.fetches) == 2


@pytest.mark.parametrize("answer", ["huge", "huge-undeclared", "redirect"])
def test_an_oversized_or_redirected_key_set_is_refused(
    cache: JwksCache, provider: Provider, clock: FrozenClock, answer: str
) -> None:
    provider.answer = answer
    with pytest.raises(IdentityProviderUnavailable):
        run(cache.key("rsa-1"))
    provider.answer = "ok"
    clock.advance(31)
    run(cache.key("rsa-1"))
    provider.answer = answer
    clock.advance(301)
    assert run(_algorithms(cache, "rsa-1")) == ["RS256"]  # the good keys are kept, not replaced


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"keys": "rsa-1"}',
        b"[]",
        b"\xff\xfe",
        json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": str(n)} for n in range(33)]}).encode(),
    ],
)
def test_a_malformed_key_set_is_refused(cache: JwksCache, provider: Provider, body: bytes) -> None:
    provider.answer, provider.raw = "raw", body
    with pytest.raises(IdentityProviderUnavailable):
        run(cache.key("rsa-1"))


def test_a_slow_provider_is_given_up_on_in_time(provider: Provider, clock: FrozenClock) -> None:
    provider.delay = 2.0
    cache = JwksCache(provider.url, clock, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(IdentityProviderUnavailable):
        run(cache.key("rsa-1"))
    assert time.monotonic() - started < 1.5


def test_the_url_is_https_or_loopback(clock: FrozenClock) -> None:
    JwksCache("https://idp.example.com/jwks.json", clock)
    JwksCache("http://localhost:8080/jwks.json", clock)
    JwksCache("http://[::1]:8080/jwks.json", clock)
    for url in ("http://idp.example.com/jwks.json", "ftp://idp.example.com/jwks", "https:///jwks"):
        with pytest.raises(ValueError, match="https"):
            JwksCache(url, clock)


def test_the_client_closes_and_a_later_loop_gets_a_new_one(
    cache: JwksCache, provider: Provider, clock: FrozenClock
) -> None:
    run(cache.key("rsa-1"))
    run(cache.aclose())
    clock.advance(301)
    assert run(_algorithms(cache, "rsa-1")) == ["RS256"]
    assert len(provider.fetches) == 2

    async def twice() -> None:
        clock.advance(301)
        await cache.key("rsa-1")
        await cache.aclose()
        await cache.aclose()

    run(twice())
    assert len(provider.fetches) == 3


# -- which keys are usable --------------------------------------------------------------------------


def _usable_and_not() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rsa_key, ec_key, ed_key = key_pair("rsa"), key_pair("ec"), key_pair("ed")
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the weak key that must be refused
    p384 = ec.generate_private_key(ec.SECP384R1())
    private_rsa = RSAAlgorithm.to_jwk(rsa_key, as_dict=True)
    usable = [
        public_jwk(rsa_key, "rsa"),
        public_jwk(rsa_key, "rsa-sig", use="sig", alg="RS256"),
        public_jwk(ec_key, "ec"),
        public_jwk(ed_key, "ed", alg="EdDSA"),
    ]
    unusable = [
        public_jwk(rsa_key, "rsa-enc", use="enc"),
        public_jwk(rsa_key, "rsa-384", alg="RS384"),
        public_jwk(rsa_key, "rsa-as-ec", alg="ES256"),
        public_jwk(rsa_key, "rsa-as-hmac", alg="HS256"),
        {**RSAAlgorithm.to_jwk(weak.public_key(), as_dict=True), "kid": "rsa-1024"},
        {**ECAlgorithm.to_jwk(p384.public_key(), as_dict=True), "kid": "ec-p384"},
        {**ECAlgorithm.to_jwk(p384.public_key(), as_dict=True), "kid": "ec-p384-as-256", "alg": "ES256"},
        {**OKPAlgorithm.to_jwk(ed448.Ed448PrivateKey.generate().public_key(), as_dict=True),
         "kid": "ed448", "alg": "EdDSA"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {**private_rsa, "kid": "private"},
        {k: v for k, v in public_jwk(ec_key, "x").items() if k != "kid"},
        {**public_jwk(ec_key, "x"), "kid": 7},
        {**public_jwk(ec_key, "x"), "kid": ""},
        {**public_jwk(ec_key, "x"), "kid": "k" * 257},
        {**public_jwk(ec_key, "x"), "kid": "no-x", "x": None},
        public_jwk(ec_key, "twin"),
        public_jwk(ed_key, "twin"),  # two keys, one name: neither
        {"kty": "RSA", "kid": "empty"},
        {"kid": "no-kty"},
    ]  # fmt: skip
    return usable, unusable


def test_only_public_signing_keys_of_the_three_algorithms_are_kept() -> None:
    usable, unusable = _usable_and_not()
    document = {"keys": [*unusable[:8], *usable, *unusable[8:], "a string", None]}
    keys = parse_key_set(json.dumps(document).encode())
    assert {kid: k.algorithm_name for kid, k in keys.items()} == {
        "rsa": "RS256",
        "rsa-sig": "RS256",
        "ec": "ES256",
        "ed": "EdDSA",
    }


def test_a_key_set_with_too_many_keys_is_refused_whole() -> None:
    many = {"keys": [public_jwk(key_pair("ed"), f"ed-{n}") for n in range(5)]}
    assert len(parse_key_set(many, max_keys=5)) == 5
    with pytest.raises(ValueError, match="more than 4 keys"):
        parse_key_set(many, max_keys=4)
    with pytest.raises(ValueError, match="more than 4 keys"):
        StaticKeys(many, max_keys=4)
