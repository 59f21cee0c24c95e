"""Access tokens of external identity providers: two providers, each with its JWKS on a real
127.0.0.1 server (`jwks_server`). A valid token maps to the provider's role and the purposes of
that role its scopes name; every forgery in the issue's list is one `InvalidToken`, none of which
echoes the token's content; and the policy, not the token, decides the role."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import api_jws as jws
from pydantic import ValidationError

from dataward.clock import FrozenClock
from dataward.identity import InvalidToken, Principal
from dataward.identity.errors import IdentityProviderUnavailable
from dataward.identity.external import ExternalTokenVerifier
from dataward.policy import Policy, PolicyError, parse_policy
from dataward.policy.edge import IdentityProvider
from jwks_server import Provider, hs256, key_pair, serve_provider

CORP, PARTNER = "https://login.corp.example/", "https://partner.example/"
AUDIENCE = "dataward-api"
NOW = 1_800_000_000
PERSONAL = "ada.lovelace@example.com"  # a value that must never reach an error
EXAMPLE_POLICY = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"


@pytest.fixture
def corp() -> Iterator[Provider]:
    for provider in serve_provider(CORP):
        provider.publish("rsa", "rsa-1")
        provider.publish("ec", "ec-1")
        provider.publish("ed", "ed-1")
        yield provider


@pytest.fixture
def partner() -> Iterator[Provider]:
    """Another provider, whose key names overlap the first's (`rsa-1`) but whose keys do not."""
    for provider in serve_provider(PARTNER):
        provider.publish("rsa", "rsa-1", n=1)
        provider.publish("ed", "p-ed", n=1)
        yield provider


def trusted(corp: Provider, partner: Provider, **corp_options: Any) -> dict[str, IdentityProvider]:
    corp_fields = {"issuer": CORP, "jwks_url": corp.url, "audience": AUDIENCE, "role": "billing-service"}
    return {
        "corp": IdentityProvider.model_validate({**corp_fields, **corp_options}),
        "partner": IdentityProvider(
            issuer=PARTNER, jwks_url=partner.url, audience=AUDIENCE, role="support-agent",
            client_claim="appid", scope_claim="scp",
        ),
    }  # fmt: skip


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at=NOW)


@pytest.fixture
def verifier(corp: Provider, partner: Provider, policy: Policy, clock: FrozenClock) -> ExternalTokenVerifier:
    return ExternalTokenVerifier(trusted(corp, partner), policy, clock, own_issuer="dataward")


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": CORP,
        "aud": AUDIENCE,
        "sub": "svc-billing",
        "client_id": "svc-billing",
        "scope": "openid billing",
        "iat": NOW - 10,
        "exp": NOW + 600,
        "jti": "tok-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def verify(verifier: ExternalTokenVerifier, token: str) -> Principal:
    return asyncio.run(verifier.verify(token))


# -- valid tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
def test_a_valid_token_maps_to_the_providers_role_and_purposes(
    verifier: ExternalTokenVerifier, corp: Provider, kid: str
) -> None:
    assert verify(verifier, corp.sign(claims(), kid)) == Principal(
        client_id="corp:svc-billing",
        role="billing-service",
        purposes=frozenset({"billing"}),
        token_id="tok-1",
        expires_at=NOW + 600,
        issued_at=NOW - 10,
    )


def test_each_provider_has_its_own_client_and_scope_claims(
    verifier: ExternalTokenVerifier, partner: Provider
) -> None:
    body = claims(iss=PARTNER, client_id=None, appid="app-7", scope=None, scp=["support", "billing"])
    principal = verify(verifier, partner.sign(body, "p-ed"))
    assert (principal.client_id, principal.role, principal.purposes) == (
        "partner:app-7",
        "support-agent",
        frozenset({"support"}),
    )


def test_the_client_falls_back_to_azp_then_sub(verifier: ExternalTokenVerifier, corp: Provider) -> None:
    with_azp = claims(client_id=None, azp="svc-azp")
    assert verify(verifier, corp.sign(with_azp, "ed-1")).client_id == "corp:svc-azp"
    only_sub = claims(client_id=None, sub="svc-sub")
    assert verify(verifier, corp.sign(only_sub, "ed-1")).client_id == "corp:svc-sub"


def test_the_token_id_is_the_jti_or_a_hash_of_the_token(
    verifier: ExternalTokenVerifier, corp: Provider
) -> None:
    for body in (claims(jti=None), claims(jti="j" * 65), claims(jti="a\nb"), claims(jti="")):
        token = corp.sign(body, "ed-1")
        assert verify(verifier, token).token_id == hashlib.sha256(token.encode()).hexdigest()


def test_the_role_is_the_policys_whatever_the_token_claims(
    verifier: ExternalTokenVerifier, corp: Provider
) -> None:
    body = claims(role="privacy-team", roles=["privacy-team", "auditor"], groups=["admins"], subject=PERSONAL)
    principal = verify(verifier, corp.sign(body, "rsa-1"))
    assert principal.role == "billing-service" and principal.subject_id is None


def test_scopes_beyond_the_role_are_ignored_and_never_widen_it(
    verifier: ExternalTokenVerifier, corp: Provider
) -> None:
    body = claims(scope="billing marketing support care profile")
    assert verify(verifier, corp.sign(body, "ec-1")).purposes == frozenset({"billing"})


def test_a_role_without_purposes_needs_no_scope(corp: Provider, partner: Provider, policy: Policy) -> None:
    providers = trusted(corp, partner, role="signup")
    verifier = ExternalTokenVerifier(providers, policy, FrozenClock(at=NOW))
    principal = verify(verifier, corp.sign(claims(scope=None), "ed-1"))
    assert (principal.role, principal.purposes) == ("signup", frozenset())


def test_a_little_clock_skew_is_tolerated(verifier: ExternalTokenVerifier, corp: Provider) -> None:
    verify(verifier, corp.sign(claims(iat=NOW - 700, exp=NOW - 20), "ed-1"))
    verify(verifier, corp.sign(claims(iat=NOW + 20, nbf=NOW + 20), "ed-1"))


def test_a_verified_token_is_cached_until_it_expires(
    verifier: ExternalTokenVerifier, corp: Provider, clock: FrozenClock
) -> None:
    token = corp.sign(claims(), "rsa-1")
    for _ in range(3):
        verify(verifier, token)
    assert len(corp.fetches) == 1
    clock.advance(600 + 30)  # past exp and the leeway
    with pytest.raises(InvalidToken, match="expired"):
        verify(verifier, token)
    with pytest.raises(InvalidToken, match="expired"):
        verify(verifier, token)


def test_an_unknown_issuer_costs_no_fetch(verifier: ExternalTokenVerifier, corp: Provider) -> None:
    with pytest.raises(InvalidToken, match="issuer"):
        verify(verifier, corp.sign(claims(iss="https://evil.example/"), "rsa-1"))
    assert corp.fetches == []


def test_a_provider_without_keys_is_a_503(verifier: ExternalTokenVerifier, corp: Provider) -> None:
    corp.answer = "down"
    with pytest.raises(IdentityProviderUnavailable) as error:
        verify(verifier, corp.sign(claims(), "rsa-1"))
    assert error.value.status == 503


def test_a_provider_may_allow_fewer_algorithms(corp: Provider, partner: Provider, policy: Policy) -> None:
    providers = trusted(corp, partner, algorithms=["EdDSA"])
    verifier = ExternalTokenVerifier(providers, policy, FrozenClock(at=NOW))
    verify(verifier, corp.sign(claims(), "ed-1"))
    with pytest.raises(InvalidToken, match="algorithm"):
        verify(verifier, corp.sign(claims(), "rsa-1"))


# -- forgeries --------------------------------------------------------------------------------------


def forgeries(corp: Provider, partner: Provider) -> dict[str, str]:
    rsa_key = key_pair("rsa")
    stranger = rsa.generate_private_key(65537, 2048)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = json.dumps(next(k for k in corp.published if k["kid"] == "rsa-1")).encode()
    sign, personal = corp.sign, claims(sub=PERSONAL, client_id=None)
    return {
        "alg none": jwt.encode(claims(), None, algorithm="none", headers={"kid": "rsa-1"}),  # type: ignore[arg-type]
        "HS256 with the RSA public key (PEM)": hs256(claims(), "rsa-1", public_pem),
        "HS256 with the RSA public key (JWK)": hs256(claims(), "rsa-1", jwk),
        "RS256 naming the EC key": jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "ec-1"}),
        "ES256 naming the RSA key": sign(claims(), "ec-1", headers={"kid": "rsa-1"}),
        "RS384, not allowed": sign(claims(), "rsa-1", alg="RS384"),
        "another key, a kid of the provider": jwt.encode(
            claims(), stranger, algorithm="RS256", headers={"kid": "rsa-1"}
        ),
        "issuer A, signed by B's key": partner.sign(claims(), "p-ed"),
        "issuer A, signed by B's key of the same kid": partner.sign(claims(), "rsa-1"),
        "issuer B, signed by A's key": sign(claims(iss=PARTNER, appid="x", scp="support"), "ed-1"),
        "unknown issuer": sign(claims(iss="https://evil.example/"), "rsa-1"),
        "our own issuer": sign(claims(iss="dataward"), "rsa-1"),
        "issuer differing in a slash": sign(claims(iss=CORP.rstrip("/")), "rsa-1"),
        "no issuer": sign(claims(iss=None), "rsa-1"),
        "issuer a list": jws.encode(
            json.dumps(claims(iss=[CORP])).encode(), rsa_key, "RS256", {"kid": "rsa-1"}
        ),
        "wrong audience": sign(claims(aud="another-api"), "rsa-1"),
        "audiences without ours": sign(claims(aud=["another-api", "a-third"]), "rsa-1"),
        "no audience": sign(claims(aud=None), "rsa-1"),
        "expired": sign(claims(exp=NOW - 60), "rsa-1"),
        "no exp": sign(claims(exp=None), "rsa-1"),
        "exp a string": sign(claims(exp="tomorrow"), "rsa-1"),
        "exp a boolean": sign(claims(exp=True, iat=0), "rsa-1"),
        "exp before iat": sign(claims(iat=NOW - 10, exp=NOW - 15), "rsa-1"),  # within the leeway
        "no iat": sign(claims(iat=None), "rsa-1"),
        "issued in the future": sign(claims(iat=NOW + 3600, exp=NOW + 7200), "rsa-1"),
        "not valid yet": sign(claims(nbf=NOW + 3600), "rsa-1"),
        "jti a number": sign(claims(jti=12), "rsa-1"),
        "no kid": jwt.encode(claims(), rsa_key, algorithm="RS256"),
        "unknown kid": sign(claims(), "rsa-1", headers={"kid": "rsa-9"}),
        "a kid too long": sign(claims(), "rsa-1", headers={"kid": "k" * 300}),
        "an ID token's typ": sign(claims(), "rsa-1", headers={"typ": "id_token+jwt"}),
        "a logout token's typ": sign(claims(), "rsa-1", headers={"typ": "logout+jwt"}),
        "a critical extension": sign(claims(), "rsa-1", headers={"crit": ["exp"], "exp": NOW}),
        "only purposes the role lacks": sign(claims(scope="marketing support openid"), "rsa-1"),
        "no scope": sign(claims(scope=None), "rsa-1"),
        "scope a number": sign(claims(scope=7), "rsa-1"),
        "client with a space": sign(claims(client_id="svc billing"), "rsa-1"),
        "client too long": sign(claims(client_id="c" * 60), "rsa-1"),
        "client a number": sign(claims(client_id=42), "rsa-1"),
        "no client at all": sign(claims(client_id=None, sub=None), "rsa-1"),
        "personal data as client, expired": sign({**personal, "exp": NOW - 3600}, "rsa-1"),
        "personal data as client": sign({**personal, "sub": f"{PERSONAL} x"}, "rsa-1"),
        "oversized": sign(claims(padding="p" * 9000), "rsa-1"),
        "flipped signature": sign(claims(), "rsa-1")[:-6] + "AAAAAA",
        "garbage": "not.a.token",
        "empty": "",
    }


def test_forged_and_foreign_tokens_are_refused(
    verifier: ExternalTokenVerifier, corp: Provider, partner: Provider
) -> None:
    refused: dict[str, str] = {}
    for name, token in forgeries(corp, partner).items():
        try:
            principal = verify(verifier, token)
        except InvalidToken as error:
            refused[name] = error.detail
        else:
            pytest.fail(f"{name}: accepted as {principal}")
    assert not [d for d in refused.values() if PERSONAL in d or "svc" in d or CORP in d]
    assert refused["oversized"] == "the access token is too long"
    assert refused["unknown issuer"] == "the access token's issuer is not trusted"


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"role": "subject"}, "identity_providers.corp.role"),
        ({"role": "no-such-role"}, "identity_providers.corp.role"),
        ({"issuer": "dataward"}, "identity_providers.corp.issuer"),
        ({"issuer": PARTNER}, "identity_providers.partner.issuer"),
    ],
)
def test_a_provider_the_vault_cannot_trust_is_refused(
    corp: Provider, partner: Provider, policy: Policy, change: dict[str, str], problem: str
) -> None:
    providers = trusted(corp, partner)
    providers["corp"] = providers["corp"].model_copy(update=change)
    with pytest.raises(PolicyError) as error:
        ExternalTokenVerifier(providers, policy, FrozenClock(at=NOW), own_issuer="dataward")
    assert [p.path for p in error.value.problems] == [problem]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jwks_url": "http://idp.example.com/jwks.json"}, "https"),
        ({"algorithms": ["HS256"]}, "RS256"),
        ({"algorithms": ["none"]}, "RS256"),
        ({"algorithms": []}, "at least 1"),
        ({"leeway_seconds": 3600}, "less than or equal to 300"),
        ({"client_claim": "client id"}, "pattern"),
        ({"audience": ""}, "at least 1"),
        ({"trust_roles_claim": True}, "Extra inputs"),
    ],
)
def test_the_provider_section_is_validated(change: dict[str, Any], message: str) -> None:
    fields = {
        "issuer": CORP,
        "jwks_url": "https://login.corp.example/jwks.json",
        "audience": AUDIENCE,
        "role": "billing-service",
    }
    IdentityProvider.model_validate(fields)
    with pytest.raises(ValidationError, match=message):
        IdentityProvider.model_validate({**fields, **change})


def test_the_policy_file_checks_the_providers_roles_names_and_issuers() -> None:
    section = """
identity_providers:
  corp:
    issuer: https://login.corp.example/
    jwks_url: https://login.corp.example/jwks.json
    audience: dataward-api
    role: billing-servce
  partner:
    issuer: https://login.corp.example/
    jwks_url: http://localhost:8080/jwks.json
    audience: dataward-api
    role: subject
  a-provider-whose-name-is-much-too-long:
    issuer: https://long.example/
    jwks_url: https://long.example/jwks.json
    audience: dataward-api
    role: support-agent
"""
    with pytest.raises(PolicyError) as error:
        parse_policy(EXAMPLE_POLICY.read_text() + section)
    assert {p.path for p in error.value.problems} == {
        "identity_providers.corp.role",
        "identity_providers.partner.role",
        "identity_providers.partner.issuer",
        "identity_providers.a-provider-whose-name-is-much-too-long",
    }
    fixed = section.replace("billing-servce", "billing-service").replace("role: subject", "role: legal")
    fixed = fixed.replace("/\n    jwks_url: http://", "/partner\n    jwks_url: http://")
    fixed = fixed.replace("a-provider-whose-name-is-much-too-long", "long")
    accepted = parse_policy(EXAMPLE_POLICY.read_text() + fixed).identity_providers
    assert {name: p.role for name, p in accepted.items()} == {
        "corp": "billing-service",
        "partner": "legal",
        "long": "support-agent",
    }


def test_a_token_living_longer_than_a_cut_off_is_remembered_is_refused() -> None:
    """A suspended client's tokens are cut off for a day (`guard.revocations`); a provider's token
    that lived longer would come back to life once the cut-off is forgotten."""
    from dataward.identity.external import MAX_EXTERNAL_TOKEN_SECONDS, _times  # noqa: PLC0415

    now = 1_800_000_000
    assert _times({"exp": now + 3600, "iat": now - 60}, now, 30) == (now + 3600, now - 60)
    with pytest.raises(InvalidToken, match="longer than a day"):
        _times({"exp": now + MAX_EXTERNAL_TOKEN_SECONDS, "iat": now - 60}, now, 30)
