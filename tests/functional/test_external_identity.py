"""Issue 4 over HTTP, on SQLite and PostgreSQL: clients of external identity providers read through
the API with the role and purposes the policy gives their provider, while the providers' JWKS
endpoints (real servers on 127.0.0.1) rotate keys, are flooded with made-up kids, go down, or
answer with too much; and the attacks of the issue's list each get a 401 that says nothing personal.

A provider whose keys cannot be had at all is answered 503 (the token may be fine, we cannot tell
yet: the client should retry, not discard it); a token we can judge and refuse is a 401."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import select

from dataward.app import create_app
from dataward.clock import FrozenClock
from dataward.gateway.proxy import GatewayApp
from dataward.gateway.spec import load_spec
from dataward.gateway.upstream import Upstream, UpstreamSettings
from dataward.identity.notifiers import MemoryNotifier
from dataward.keys import LocalKeyring
from dataward.policy import Policy
from dataward.policy.edge import IdentityProvider
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate
from dataward.storage.tables import audit_entries
from jwks_server import Provider, hs256, key_pair, serve_provider
from support import FAST_HASHER, ApiClient, free_port, running

CORP, PARTNER = "https://login.corp.example/", "https://partner.example/"
AUDIENCE = "https://vault.example/api"
PROFILE = {"email": "Ada@Example.com", "full_name": "Ada Lovelace", "phone": "+44 20 7946 0958"}


@pytest.fixture
def corp() -> Iterator[Provider]:
    for provider in serve_provider(CORP):
        provider.publish("rsa", "rsa-1")
        provider.publish("ec", "ec-1")
        provider.publish("ed", "ed-1")
        yield provider


@pytest.fixture
def partner() -> Iterator[Provider]:
    for provider in serve_provider(PARTNER):
        provider.publish("ed", "p-ed", n=1)
        yield provider


def with_providers(policy: Policy, corp: Provider, partner: Provider) -> Policy:
    """The example policy, trusting corp's clients as billing-service and partner's as support-agent."""
    providers = {
        "corp": IdentityProvider(issuer=CORP, jwks_url=corp.url, audience=AUDIENCE, role="billing-service"),
        "partner": IdentityProvider(
            issuer=PARTNER, jwks_url=partner.url, audience=AUDIENCE, role="support-agent"
        ),
    }
    return policy.model_copy(update={"identity_providers": providers})


@pytest.fixture
def idp_api(
    database_url: str, tmp_path: Path, policy: Policy, clock: FrozenClock, corp: Provider, partner: Provider
) -> Iterator[ApiClient]:
    settings = Settings(home=tmp_path, database_url=database_url)
    keyring = LocalKeyring.generate(settings.keyring_path)
    engine = create_database_engine(database_url)
    migrate(engine)
    engine.dispose()
    vault = Vault.build(
        settings,
        policy=with_providers(policy, corp, partner),
        keyring=keyring,
        clock=clock,
        password_hasher=FAST_HASHER,
        notifier=MemoryNotifier(),
    )
    try:
        with TestClient(create_app(vault, access_log=False)) as http:
            yield ApiClient(http=http, vault=vault)
    finally:
        vault.close()


def claims(clock: FrozenClock, **overrides: Any) -> dict[str, Any]:
    now = int(clock.timestamp())
    base: dict[str, Any] = {
        "iss": CORP,
        "aud": [AUDIENCE, "another-api"],
        "sub": "svc-billing",
        "client_id": "svc-billing",
        "scope": "openid billing",
        "iat": now - 5,
        "exp": now + 600,
        "jti": secrets.token_hex(8),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def read(api: ApiClient, sid: str, purpose: str, token: str) -> httpx2.Response:
    return api.http.get(f"/v1/subjects/{sid}?purpose={purpose}", headers=bearer(token))


def audited_clients(vault: Vault) -> set[str]:
    with vault.engine.connect() as connection:
        return {r.client_id for r in connection.execute(select(audit_entries.c.client_id))}


# -- reading --------------------------------------------------------------------------------------


def test_a_providers_client_reads_with_the_role_and_purposes_of_the_policy(
    idp_api: ApiClient, corp: Provider, partner: Provider, clock: FrozenClock
) -> None:
    sid = idp_api.new_subject(PROFILE)  # our own tokens work as before, next to the providers'
    # The token claims an admin role: the policy gives corp's clients billing-service, whatever it says.
    token = corp.sign(claims(clock, role="privacy-team", roles=["privacy-team"]), "rsa-1")
    billing = read(idp_api, sid, "billing", token)
    assert billing.status_code == 200, billing.text
    assert billing.json()["data"] == {"profile": {"email": "Ada@Example.com", "full_name": "Ada Lovelace"}}
    refused: dict[str, httpx2.Response] = {
        "another purpose of the policy": read(idp_api, sid, "support", token),
        "a route of the claimed role": idp_api.http.get("/v1/audit", headers=bearer(token)),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)

    support = partner.sign(claims(clock, iss=PARTNER, client_id="helpdesk", scope="support"), "p-ed")
    assert read(idp_api, sid, "support", support).status_code == 200
    assert {"corp:svc-billing", "partner:helpdesk"} <= audited_clients(idp_api.vault)
    assert len(corp.fetches) == 1 and len(partner.fetches) == 1


def test_a_scope_naming_only_purposes_the_role_lacks_is_refused(
    idp_api: ApiClient, corp: Provider, clock: FrozenClock
) -> None:
    sid = idp_api.new_subject(PROFILE)
    lacking = corp.sign(claims(clock, scope="marketing support care"), "ec-1")
    assert read(idp_api, sid, "marketing", lacking).status_code == 401
    mixed = corp.sign(claims(clock, scope="marketing billing"), "ec-1")  # marketing is ignored
    assert read(idp_api, sid, "billing", mixed).status_code == 200
    assert read(idp_api, sid, "marketing", mixed).status_code == 403


def test_an_external_client_can_be_cut_off(idp_api: ApiClient, corp: Provider, clock: FrozenClock) -> None:
    sid = idp_api.new_subject(PROFILE)
    token = corp.sign(claims(clock), "ed-1")
    assert read(idp_api, sid, "billing", token).status_code == 200
    asyncio.run(idp_api.vault.revocations.cut_off("corp:svc-billing", clock.timestamp()))
    revoked = read(idp_api, sid, "billing", token)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


# -- the providers' keys ----------------------------------------------------------------------------


def test_a_rotated_key_is_fetched_once_and_accepted(
    idp_api: ApiClient, corp: Provider, clock: FrozenClock
) -> None:
    sid = idp_api.new_subject(PROFILE)
    assert read(idp_api, sid, "billing", corp.sign(claims(clock), "rsa-1")).status_code == 200
    corp.publish("rsa", "rsa-2", n=1)
    clock.advance(31)
    for _ in range(3):
        assert read(idp_api, sid, "billing", corp.sign(claims(clock), "rsa-2")).status_code == 200
    assert len(corp.fetches) == 2


def test_a_flood_of_unknown_kids_fetches_at_most_once_per_interval(
    idp_api: ApiClient, corp: Provider, clock: FrozenClock
) -> None:
    sid = idp_api.new_subject(PROFILE)
    assert read(idp_api, sid, "billing", corp.sign(claims(clock), "rsa-1")).status_code == 200
    for interval in (1, 2):
        clock.advance(31)
        for _ in range(15):
            made_up = corp.sign(claims(clock), "rsa-1", headers={"kid": secrets.token_hex(8)})
            assert read(idp_api, sid, "billing", made_up).status_code == 401
        assert len(corp.fetches) == 1 + interval


def test_the_cached_keys_serve_while_the_provider_is_down(
    idp_api: ApiClient, corp: Provider, clock: FrozenClock
) -> None:
    sid = idp_api.new_subject(PROFILE)
    assert read(idp_api, sid, "billing", corp.sign(claims(clock), "rsa-1")).status_code == 200
    corp.answer = "down"
    clock.advance(301)  # past the key set's lifespan: a refresh is due, and fails
    for _ in range(3):
        assert read(idp_api, sid, "billing", corp.sign(claims(clock), "ec-1")).status_code == 200
    assert len(corp.fetches) == 2


@pytest.mark.parametrize("answer", ["down", "huge"])
def test_with_no_keys_at_all_the_answer_is_503(
    idp_api: ApiClient, corp: Provider, clock: FrozenClock, answer: str
) -> None:
    sid = idp_api.new_subject(PROFILE)
    corp.answer = answer
    refused = read(idp_api, sid, "billing", corp.sign(claims(clock, sub="ada@example.com"), "rsa-1"))
    assert refused.status_code == 503
    assert refused.json()["type"] == "urn:dataward:problem:identity-provider-unavailable"
    assert "ada@" not in refused.text and corp.url not in refused.text


# -- attacks ----------------------------------------------------------------------------------------


def test_the_issues_attacks_are_each_a_401_that_says_nothing_personal(
    idp_api: ApiClient, corp: Provider, partner: Provider, clock: FrozenClock
) -> None:
    sid = idp_api.new_subject(PROFILE)
    personal = claims(clock, client_id=None, sub="ada@example.com")  # a provider that names people
    rsa_pem = (
        key_pair("rsa")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    our_kid = next(iter(idp_api.vault.keyring.token_verification_keys()))
    now = int(clock.timestamp())
    attacks = {
        "alg none": jwt.encode(personal, None, algorithm="none", headers={"kid": "rsa-1"}),  # type: ignore[arg-type]
        "HS256 keyed with the RSA public key": hs256(personal, "rsa-1", rsa_pem),
        "RS256 naming the EC key": jwt.encode(
            personal, key_pair("rsa"), algorithm="RS256", headers={"kid": "ec-1"}
        ),
        "wrong issuer": corp.sign({**personal, "iss": "https://evil.example/"}, "rsa-1"),
        "corp's issuer, partner's key": partner.sign(personal, "p-ed"),
        "wrong audience": corp.sign({**personal, "aud": "another-api"}, "rsa-1"),
        "expired": corp.sign({**personal, "iat": now - 4000, "exp": now - 3600}, "rsa-1"),
        "no exp": corp.sign({k: v for k, v in personal.items() if k != "exp"}, "rsa-1"),
        "scope of purposes the role lacks": corp.sign({**personal, "scope": "care"}, "rsa-1"),
        "a kid of ours": corp.sign(personal, "rsa-1", headers={"kid": our_kid}),
        "our own issuer": corp.sign({**personal, "iss": idp_api.vault.settings.issuer}, "rsa-1"),
        "oversized": corp.sign({**personal, "padding": "p" * 10_000}, "rsa-1"),
        "a client id with personal data": corp.sign({**personal, "sub": "ada@example.com (Ada)"}, "rsa-1"),
    }
    answers = {name: read(idp_api, sid, "billing", token) for name, token in attacks.items()}
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(attacks, 401)
    for answer in answers.values():
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "ada@" not in answer.text and "Ada" not in answer.text
    assert not [c for c in audited_clients(idp_api.vault) if "ada" in c]
    assert len(corp.fetches) == 1  # the attacks cost one fetch in all


def test_the_gateway_takes_a_providers_tokens_too(
    idp_api: ApiClient, corp: Provider, partner: Provider, clock: FrozenClock, tmp_path: Path
) -> None:
    """Issue 4, the gateway: token validation by Dataward's own keys or an external JWKS."""
    example = Path(__file__).resolve().parents[2] / "examples" / "customers_api"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(example / "app.py"), "--port", str(port)]
    with running(command, {}, f"{url}/v1/health", tmp_path / "api.log"):
        app = GatewayApp(idp_api.vault, load_spec(example / "openapi.yaml"), Upstream(UpstreamSettings(url)))
        with TestClient(app) as http:
            helpdesk = partner.sign(claims(clock, iss=PARTNER, client_id="helpdesk", scope="support"), "p-ed")
            support = http.get("/v1/customers/1", headers=bearer(helpdesk))
            assert support.status_code == 200, support.text
            assert "phone" in support.json()
            billing = http.get("/v1/customers/1", headers=bearer(corp.sign(claims(clock), "rsa-1")))
            assert billing.status_code == 200, billing.text
            assert "phone" not in billing.json() and "phone" in billing.headers["X-Dataward-Removed"]
            forged = jwt.encode(claims(clock), None, algorithm="none", headers={"kid": "rsa-1"})  # type: ignore[arg-type]
            assert http.get("/v1/customers/1", headers=bearer(forged)).status_code == 401
