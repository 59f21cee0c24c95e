"""Sign-in with an OpenID Connect ID token, against a JWKS served from a real 127.0.0.1 server with
keys made here. Attacks: forged signatures, another issuer or audience, expired tokens, `alg: none`,
HS256 "signed" with the public key, a key of one type named by a token of another, unverified
e-mail, an unknown key id (refetching at most once), and no subject or several."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from sqlalchemy import select

from dataward.app import create_app
from dataward.clock import FrozenClock
from dataward.identity.errors import IdentityProviderUnavailable, SubjectNotVerified
from dataward.identity.notifiers import MemoryNotifier
from dataward.identity.oidc import OidcVerifier
from dataward.keys import LocalKeyring
from dataward.policy import Policy
from dataward.services import Vault
from dataward.settings import OidcSettings, Settings
from dataward.storage import create_database_engine, migrate
from dataward.storage.tables import audit_entries
from support import FAST_HASHER, ApiClient

ISSUER = "https://idp.example.com/"
AUDIENCE = "dataward-self-service"
NOW = 1_800_000_000
EMAIL = "ada@example.com"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class Keys:
    rsa: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    ec: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    ed: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {**RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"},
                {**ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True), "kid": "ec-1", "alg": "ES256"},
                {**OKPAlgorithm.to_jwk(self.ed.public_key(), as_dict=True), "kid": "ed-1", "use": "sig"},
            ]
        }


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@dataclass
class Provider:
    """The identity provider's JWKS endpoint, on 127.0.0.1."""

    url: str
    fetches: list[str]
    down: list[bool]


@pytest.fixture
def provider(keys: Keys) -> Iterator[Provider]:
    fetches: list[str] = []
    down = [False]
    document = json.dumps(keys.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            if down[0]:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_address[1]}/jwks.json", fetches, down)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def oidc_settings(provider: Provider) -> OidcSettings:
    return OidcSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=provider.url)


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "idp-user-1",
        "iat": NOW - 10,
        "exp": NOW + 300,
        "email": EMAIL,
        "email_verified": True,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: PrivateKey, alg: str, kid: str, body: dict[str, Any] | None = None) -> str:
    return jwt.encode(body or claims(), key, algorithm=alg, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(body: dict[str, Any], kid: str, secret: bytes) -> str:
    """An HS256 token made by hand: PyJWT refuses to use a public key as an HMAC secret."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(body).encode())
    signature = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{b64(signature)}"


@pytest.fixture
def verifier(provider: Provider, policy: Policy) -> OidcVerifier:
    return OidcVerifier(oidc_settings(provider), policy, FrozenClock(at=NOW))


# -- the token --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alg", "kid"), [("RS256", "rsa-1"), ("ES256", "ec-1"), ("EdDSA", "ed-1")])
def test_a_valid_id_token_gives_its_email(verifier: OidcVerifier, keys: Keys, alg: str, kid: str) -> None:
    by_kid: dict[str, PrivateKey] = {"rsa-1": keys.rsa, "ec-1": keys.ec, "ed-1": keys.ed}
    key = by_kid[kid]
    assert verifier.verified_claim(sign(key, alg, kid)) == EMAIL


def test_the_keys_are_fetched_once_and_cached(verifier: OidcVerifier, keys: Keys, provider: Provider) -> None:
    for _ in range(3):
        verifier.verified_claim(sign(keys.rsa, "RS256", "rsa-1"))
        verifier.verified_claim(sign(keys.ed, "EdDSA", "ed-1"))
    assert provider.fetches == ["/jwks.json"]


def test_an_unknown_key_id_refetches_at_most_once_in_a_while(
    verifier: OidcVerifier, keys: Keys, provider: Provider
) -> None:
    verifier.verified_claim(sign(keys.rsa, "RS256", "rsa-1"))
    for n in range(5):
        with pytest.raises(SubjectNotVerified, match="not accepted"):
            verifier.verified_claim(sign(keys.rsa, "RS256", f"rotated-{n}"))
    assert len(provider.fetches) <= 2  # a flood of made-up kids cannot flood the provider


def forgeries(keys: Keys) -> dict[str, str]:
    stranger = rsa.generate_private_key(65537, 2048)
    public_pem = keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rsa_jwk = json.dumps(keys.jwks()["keys"][0]).encode()
    return {
        "another key, our kid": sign(stranger, "RS256", "rsa-1"),
        "another issuer": sign(keys.rsa, "RS256", "rsa-1", claims(iss="https://evil.example.com/")),
        "another audience": sign(keys.rsa, "RS256", "rsa-1", claims(aud="another-app")),
        "expired": sign(keys.rsa, "RS256", "rsa-1", claims(exp=NOW - 60)),
        "issued in the future": sign(keys.rsa, "RS256", "rsa-1", claims(iat=NOW + 3600, exp=NOW + 7200)),
        "not valid yet": sign(keys.rsa, "RS256", "rsa-1", claims(nbf=NOW + 3600)),
        "no exp": sign(keys.rsa, "RS256", "rsa-1", claims(exp=None)),
        "no iat": sign(keys.rsa, "RS256", "rsa-1", claims(iat=None)),
        "no iss": sign(keys.rsa, "RS256", "rsa-1", claims(iss=None)),
        "no aud": sign(keys.rsa, "RS256", "rsa-1", claims(aud=None)),
        "exp not a number": sign(keys.rsa, "RS256", "rsa-1", claims(exp="tomorrow")),
        "alg none": jwt.encode(claims(), "", algorithm="none", headers={"kid": "rsa-1"}),
        "HS256 with the public key (PEM)": hs256(claims(), "rsa-1", public_pem),
        "HS256 with the public key (JWK)": hs256(claims(), "rsa-1", rsa_jwk),
        "RS384, not allowed": sign(keys.rsa, "RS384", "rsa-1"),
        "ES256 naming the RSA key": sign(keys.ec, "ES256", "rsa-1"),
        "RS256 naming the EC key": sign(keys.rsa, "RS256", "ec-1"),
        "no kid": jwt.encode(claims(), keys.rsa, algorithm="RS256"),
        "email not verified": sign(keys.rsa, "RS256", "rsa-1", claims(email_verified=False)),
        "email verification unsaid": sign(keys.rsa, "RS256", "rsa-1", claims(email_verified=None)),
        "email_verified as a string": sign(keys.rsa, "RS256", "rsa-1", claims(email_verified="true")),
        "no email": sign(keys.rsa, "RS256", "rsa-1", claims(email=None)),
        "several audiences, no azp": sign(keys.rsa, "RS256", "rsa-1", claims(aud=[AUDIENCE, "other"])),
        "several audiences, azp another": sign(
            keys.rsa, "RS256", "rsa-1", claims(aud=[AUDIENCE, "other"], azp="other")
        ),
        "flipped signature": sign(keys.rsa, "RS256", "rsa-1")[:-4] + "AAAA",
        "garbage": "not.a.token",
        "huge": "e" * 10_000,
    }


def test_forged_and_foreign_tokens_are_refused(verifier: OidcVerifier, keys: Keys) -> None:
    refused = {}
    for name, token in forgeries(keys).items():
        with pytest.raises(SubjectNotVerified) as error:
            verifier.verified_claim(token)
        refused[name] = error.value.detail
    # One answer for all: the reason is kept for the audit log only.
    assert set(refused.values()) == {"the code or identity token was not accepted"}


def test_several_audiences_pass_when_we_are_the_authorised_party(verifier: OidcVerifier, keys: Keys) -> None:
    token = sign(keys.rsa, "RS256", "rsa-1", claims(aud=[AUDIENCE, "other"], azp=AUDIENCE))
    assert verifier.verified_claim(token) == EMAIL


def test_clock_skew_is_tolerated_a_little(verifier: OidcVerifier, keys: Keys) -> None:
    assert verifier.verified_claim(sign(keys.rsa, "RS256", "rsa-1", claims(exp=NOW - 5))) == EMAIL
    assert verifier.verified_claim(sign(keys.rsa, "RS256", "rsa-1", claims(iat=NOW + 5))) == EMAIL


def test_another_claim_can_be_used(provider: Provider, policy: Policy, keys: Keys) -> None:
    settings = OidcSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=provider.url, claim="upn")
    verifier = OidcVerifier(settings, policy, FrozenClock(at=NOW))
    verified = claims(upn="ada@corp.example", upn_verified=True)
    assert verifier.verified_claim(sign(keys.ed, "EdDSA", "ed-1", verified)) == "ada@corp.example"
    for unverified in (claims(upn="ada@corp.example", upn_verified=False), claims(upn="ada@corp.example")):
        with pytest.raises(SubjectNotVerified):  # an unverified claim proves nothing, nor an unflagged one
            verifier.verified_claim(sign(keys.ed, "EdDSA", "ed-1", unverified))


def test_an_old_identity_token_or_an_access_token_is_refused(verifier: OidcVerifier, keys: Keys) -> None:
    stale = claims(iat=NOW - 3600)  # an hour old: replayed, not a fresh sign-in
    with pytest.raises(SubjectNotVerified):
        verifier.verified_claim(sign(keys.ed, "EdDSA", "ed-1", stale))
    assert verifier.verified_claim(sign(keys.ed, "EdDSA", "ed-1")) == EMAIL  # the same, fresh, is fine
    access_token = jwt.encode(claims(), keys.ed, algorithm="EdDSA", headers={"kid": "ed-1", "typ": "at+jwt"})
    with pytest.raises(SubjectNotVerified):
        verifier.verified_claim(access_token)


def test_a_provider_that_is_down_is_a_503_not_a_401(
    verifier: OidcVerifier, keys: Keys, provider: Provider
) -> None:
    provider.down[0] = True
    with pytest.raises(IdentityProviderUnavailable) as error:
        verifier.verified_claim(sign(keys.rsa, "RS256", "rsa-1"))
    assert error.value.status == 503


def test_settings(tmp_path: Path, policy: Policy) -> None:
    env = {
        "DATAWARD_OIDC_ISSUER": ISSUER,
        "DATAWARD_OIDC_AUDIENCE": AUDIENCE,
        "DATAWARD_OIDC_JWKS_URL": "https://idp.example.com/.well-known/jwks.json",
        "DATAWARD_OIDC_CLAIM": "preferred_username",
        "DATAWARD_OIDC_FIELD": "profile.email",
    }
    assert Settings.load(tmp_path, env).oidc == OidcSettings(
        ISSUER,
        AUDIENCE,
        "https://idp.example.com/.well-known/jwks.json",
        "preferred_username",
        "profile.email",
    )
    defaults = Settings.load(
        tmp_path, {k: v for k, v in env.items() if k.endswith(("ISSUER", "AUDIENCE", "URL"))}
    )
    assert defaults.oidc is not None and (defaults.oidc.claim, defaults.oidc.subject_field) == (
        "email",
        "profile.email",
    )
    assert Settings.load(tmp_path, {}).oidc is None
    with pytest.raises(ValueError, match="DATAWARD_OIDC_AUDIENCE is not set"):
        Settings.load(tmp_path, {"DATAWARD_OIDC_ISSUER": ISSUER})
    with pytest.raises(ValueError, match="https"):
        Settings.load(tmp_path, {**env, "DATAWARD_OIDC_JWKS_URL": "http://idp.example.com/jwks"})
    with pytest.raises(ValueError, match="not a searchable field"):
        OidcVerifier(
            OidcSettings(ISSUER, AUDIENCE, env["DATAWARD_OIDC_JWKS_URL"], "name", "profile.full_name"),
            policy,
            FrozenClock(0),
        )


# -- through the API --------------------------------------------------------------------------------


@pytest.fixture
def oidc_api(
    database_url: str, tmp_path: Path, policy: Policy, clock: FrozenClock, provider: Provider
) -> Iterator[ApiClient]:
    settings = Settings(home=tmp_path, database_url=database_url, oidc=oidc_settings(provider))
    keyring = LocalKeyring.generate(settings.keyring_path)
    engine = create_database_engine(database_url)
    migrate(engine)
    engine.dispose()
    vault = Vault.build(
        settings,
        policy=policy,
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


def live_claims(clock: FrozenClock, **overrides: Any) -> dict[str, Any]:
    now = int(clock.at)
    return claims(**{"iat": now - 10, "exp": now + 300, **overrides})


def reasons(vault: Vault) -> list[tuple[str | None, str, str | None]]:
    with vault.engine.connect() as connection:
        rows = connection.execute(
            select(audit_entries)
            .where(audit_entries.c.action == "identity:subject:token")
            .order_by(audit_entries.c.seq)
        )
        return [(r.subject_id, r.outcome, r.reason) for r in rows]


def test_an_id_token_signs_the_subject_in(oidc_api: ApiClient, keys: Keys, clock: FrozenClock) -> None:
    sid = oidc_api.new_subject({"email": "Ada@Example.com", "full_name": "Ada Lovelace"})
    token = sign(keys.ec, "ES256", "ec-1", live_claims(clock))
    answered = oidc_api.http.post("/v1/me/token", json={"id_token": token})
    assert answered.status_code == 200, answered.text
    principal = oidc_api.vault.verifier.verify(answered.json()["access_token"])
    assert principal.subject_id == sid and principal.purposes == frozenset()
    assert reasons(oidc_api.vault) == [(sid, "allowed", "oidc: signed in")]


def test_no_match_several_matches_and_forgeries_get_one_answer(
    oidc_api: ApiClient, keys: Keys, clock: FrozenClock
) -> None:
    oidc_api.new_subject({"email": "twin@example.com"})
    oidc_api.new_subject({"email": "Twin@example.com"})
    stranger = rsa.generate_private_key(65537, 2048)
    answers = [
        oidc_api.http.post("/v1/me/token", json={"id_token": token})
        for token in (
            sign(keys.rsa, "RS256", "rsa-1", live_claims(clock, email="nobody@example.com")),
            sign(keys.rsa, "RS256", "rsa-1", live_claims(clock, email="twin@example.com")),
            sign(keys.rsa, "RS256", "rsa-1", live_claims(clock, email="not an address")),
            sign(stranger, "RS256", "rsa-1", live_claims(clock)),
            sign(
                keys.rsa,
                "RS256",
                "rsa-1",
                live_claims(clock, iat=int(clock.at) - 7200, exp=int(clock.at) - 3600),
            ),
        )
    ]
    bodies = [{k: v for k, v in a.json().items() if k not in ("instance", "request_id")} for a in answers]
    assert {a.status_code for a in answers} == {401}
    assert all(body == bodies[0] for body in bodies)
    assert [r[2] for r in reasons(oidc_api.vault)] == [
        "oidc: no single subject matches the identity token",
        "oidc: no single subject matches the identity token",
        "oidc: no single subject matches the identity token",
        "oidc: the identity token's signature or claims are not valid",
        "oidc: the identity token has expired",
    ]
    assert "nobody@" not in json.dumps(reasons(oidc_api.vault)) and "twin@" not in json.dumps(
        reasons(oidc_api.vault)
    )


def test_a_provider_down_answers_503(
    oidc_api: ApiClient, keys: Keys, clock: FrozenClock, provider: Provider
) -> None:
    provider.down[0] = True
    answered = oidc_api.http.post(
        "/v1/me/token", json={"id_token": sign(keys.rsa, "RS256", "rsa-1", live_claims(clock))}
    )
    assert answered.status_code == 503
    assert answered.json()["type"] == "urn:dataward:problem:identity-provider-unavailable"
    assert reasons(oidc_api.vault)[-1][1] == "failed"
