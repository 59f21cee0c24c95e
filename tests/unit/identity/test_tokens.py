"""Token issue and verification against the clock: signature, algorithm, expiry, audience, issuer."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataward.clock import FrozenClock
from dataward.identity import ClientRecord, InvalidToken, TokenIssuer, TokenVerifier
from dataward.keys import LocalKeyring
from dataward.settings import Settings

CLIENT = ClientRecord(id="dw_abcdefghijklmnopqrstuv", name="billing", role="billing-service")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, database_url="sqlite://")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at=1_800_000_000.0)


def test_round_trip_and_claims(keyring: LocalKeyring, settings: Settings, clock: FrozenClock) -> None:
    issued = TokenIssuer(keyring, settings, clock).issue(CLIENT, ["billing"])
    principal = TokenVerifier(keyring, settings, clock).verify(issued.access_token)
    assert principal.client_id == CLIENT.id
    assert principal.role == "billing-service"
    assert principal.purposes == {"billing"}
    header = jwt.get_unverified_header(issued.access_token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == keyring.token_signing_key().kid
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == settings.token_ttl_seconds <= 900
    assert claims["aud"] == settings.audience and claims["iss"] == settings.issuer and claims["jti"]


def test_expiry_holds_even_for_a_cached_token(
    keyring: LocalKeyring, settings: Settings, clock: FrozenClock
) -> None:
    token = TokenIssuer(keyring, settings, clock).issue(CLIENT, ["billing"]).access_token
    verifier = TokenVerifier(keyring, settings, clock)
    verifier.verify(token)  # now cached
    clock.advance(settings.token_ttl_seconds)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)
    with pytest.raises(InvalidToken):
        TokenVerifier(keyring, settings, clock).verify(token)  # and uncached


def _forge(claims: dict[str, object], header: dict[str, object], key: object, alg: str) -> str:
    fields = {k: v for k, v in header.items() if k != "alg"}  # PyJWT lets a header's alg win
    return jwt.encode(claims, key, algorithm=alg, headers=fields)  # type: ignore[arg-type]


def test_forgeries_are_refused(keyring: LocalKeyring, settings: Settings, clock: FrozenClock) -> None:
    good = TokenIssuer(keyring, settings, clock).issue(CLIENT, ["billing"]).access_token
    claims = jwt.decode(good, options={"verify_signature": False})
    header = jwt.get_unverified_header(good)
    real = keyring.token_signing_key().private
    other = Ed25519PrivateKey.generate()
    public_bytes = base64.b64encode(json.dumps(claims).encode()).decode()
    forgeries = {
        "other key, same kid": _forge(claims, header, other, "EdDSA"),
        "wrong audience": _forge({**claims, "aud": "someone-else"}, header, real, "EdDSA"),
        "wrong issuer": _forge({**claims, "iss": "evil"}, header, real, "EdDSA"),
        "expired": _forge({**claims, "exp": int(clock.at) - 1}, header, real, "EdDSA"),
        "not yet valid": _forge({**claims, "nbf": int(clock.at) + 3600}, header, real, "EdDSA"),
        "unknown kid": _forge(claims, {**header, "kid": "tok-unknown"}, real, "EdDSA"),
        "hs256 with a guessable secret": _forge(claims, header, public_bytes, "HS256"),
        "missing purposes": _forge(
            {k: v for k, v in claims.items() if k != "purposes"}, header, real, "EdDSA"
        ),
        "alg none": _forge(claims, header, None, "none"),
        "flipped signature": good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1],
        "garbage": "not.a.token",
        "huge": "a" * 10_000,
    }
    verifier = TokenVerifier(keyring, settings, clock)
    for name, token in forgeries.items():
        with pytest.raises(InvalidToken):
            verifier.verify(token)
        assert name  # the loop names each forgery for the reader


def test_another_installation_cannot_mint_our_tokens(settings: Settings, clock: FrozenClock) -> None:
    ours, theirs = LocalKeyring.generate(), LocalKeyring.generate()
    token = TokenIssuer(theirs, settings, clock).issue(CLIENT, ["billing"]).access_token
    with pytest.raises(InvalidToken):
        TokenVerifier(ours, settings, clock).verify(token)


def test_ttl_is_capped() -> None:
    with pytest.raises(ValueError, match="token_ttl_seconds"):
        replace(Settings(home=Path(), database_url="sqlite://"), token_ttl_seconds=3600)
