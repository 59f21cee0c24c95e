"""Token exchange (RFC 8693): the new token narrows purposes, life and reach (one data subject, which
every route enforces), and every attempt to widen anything, or to exchange a token that is not a
live one of the client's own, is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from httpx2 import Response  # what TestClient answers with

from dataward.audit import AuditAction
from dataward.clock import FrozenClock
from dataward.identity import ClientRecord, InvalidToken, NewClient, TokenIssuer, TokenVerifier
from dataward.identity.exchange import ACCESS_TOKEN_TYPE, GRANT_TYPE
from dataward.keys import LocalKeyring
from dataward.policy import Policy, load_policy
from dataward.settings import Settings
from support import ApiClient

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"
DESK = "desk"  # this test's role: read and write, for billing and support
ADA = {"email": "ada@example.com", "full_name": "Ada Lovelace"}
BOB = {"email": "bob@example.org", "full_name": "Bob Builder"}


@pytest.fixture
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["roles"][DESK] = {"actions": ["read", "write"], "purposes": ["billing", "support"]}
    path = tmp_path_factory.mktemp("policy") / "dataward.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_policy(path)


def client_token(api: ApiClient, client: NewClient, **form: str) -> dict[str, Any]:
    response = api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", **form}, auth=(client.id, client.secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def exchange(api: ApiClient, client: NewClient, subject_token: str, **form: str) -> Response:
    data = {
        "grant_type": GRANT_TYPE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        **form,
    }
    return api.http.post("/oauth/token", data=data, auth=(client.id, client.secret))


def exchanged(api: ApiClient, client: NewClient, subject_token: str, **form: str) -> str:
    response = exchange(api, client, subject_token, **form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def read(api: ApiClient, token: str, subject_id: str, purpose: str = "support") -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return api.http.get(f"/v1/subjects/{subject_id}?purpose={purpose}", headers=headers).status_code


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_an_exchanged_token_carries_fewer_purposes_and_a_shorter_life(
    api: ApiClient, clock: FrozenClock
) -> None:
    desk, sid = api.register(DESK), api.new_subject(ADA)
    parent = client_token(api, desk)["access_token"]
    response = exchange(api, desk, parent, scope="support", expires_in="60")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE and body["token_type"] == "Bearer"
    assert body["expires_in"] == 60 and body["scope"] == "support" and "refresh_token" not in body
    child = body["access_token"]
    assert claims(child)["role"] == DESK and claims(child)["sub"] == desk.id
    assert claims(child)["fam"] == claims(parent)["fam"]  # reuse detection on the family reaches it

    assert read(api, child, sid, "support") == 200
    assert read(api, child, sid, "billing") == 403
    clock.advance(61)
    assert read(api, child, sid) == 401
    assert read(api, parent, sid) == 200

    (entry,) = [e for e in api.vault.audit.entries(limit=1000) if e.action == AuditAction.TOKEN_EXCHANGE]
    assert entry.outcome == "allowed" and entry.token_id == claims(child)["jti"]
    assert claims(parent)["jti"] in str(entry.reason) and parent not in str(entry.reason)


def test_a_token_for_one_data_subject_reaches_that_subject_only(api: ApiClient) -> None:
    desk, ada, bob = api.register(DESK), api.new_subject(ADA), api.new_subject(BOB)
    child = exchanged(api, desk, client_token(api, desk)["access_token"], data_subject=ada)
    assert claims(child)["only_subject"] == ada
    headers = {"Authorization": f"Bearer {child}"}

    assert read(api, child, ada) == 200
    assert read(api, child, bob) == 403
    lookup = api.http.post(
        "/v1/subjects/lookup",
        json={"field": "profile.email", "value": ADA["email"], "purpose": "support"},
        headers=headers,
    )
    assert lookup.status_code == 403
    assert "ada@example.com" not in lookup.text
    assert api.http.put(f"/v1/subjects/{bob}/profile", json=BOB, headers=headers).status_code == 403
    assert api.http.put(f"/v1/subjects/{ada}/profile", json=ADA, headers=headers).status_code == 200
    assert api.http.post("/v1/subjects", headers=headers).status_code == 403  # names no subject

    denied = [e for e in api.vault.audit.entries(limit=1000) if e.outcome == "denied"]
    assert {(e.action, e.subject_id) for e in denied} >= {
        (AuditAction.RECORD_READ, bob),
        (AuditAction.SUBJECT_LOOKUP, None),
        (AuditAction.RECORD_WRITE, bob),
    }


def test_a_narrowed_token_stays_on_its_subject_through_further_exchanges(api: ApiClient) -> None:
    desk, ada, bob = api.register(DESK), api.new_subject(ADA), api.new_subject(BOB)
    narrowed = exchanged(api, desk, client_token(api, desk)["access_token"], data_subject=ada)
    inherited = exchanged(api, desk, narrowed, scope="support")
    assert claims(inherited)["only_subject"] == ada
    assert read(api, inherited, bob) == 403
    assert exchanged(api, desk, narrowed, data_subject=ada)
    other = exchange(api, desk, narrowed, data_subject=bob)
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"scope": "support marketing"}, "invalid_scope"),  # a purpose the parent does not carry
        ({"scope": "marketing"}, "invalid_scope"),
        ({"expires_in": "100000"}, "invalid_request"),  # longer than the parent has left
        ({"expires_in": "-5"}, "invalid_request"),
        ({"expires_in": "soon"}, "invalid_request"),
        ({"data_subject": "not-a-subject-id"}, "invalid_request"),
        ({"audience": "another-api"}, "invalid_target"),
        ({"resource": "https://elsewhere.example"}, "invalid_target"),
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}, "invalid_request"),
        ({"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request"),
        ({"actor_token": "x", "actor_token_type": ACCESS_TOKEN_TYPE}, "invalid_request"),
    ],
)
def test_widening_or_malformed_requests_are_refused(api: ApiClient, form: dict[str, str], error: str) -> None:
    desk = api.register(DESK)
    parent = client_token(api, desk, scope="support")["access_token"]
    response = exchange(api, desk, parent, **form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def test_a_missing_subject_token_is_an_invalid_request(api: ApiClient) -> None:
    desk = api.register(DESK)
    response = api.http.post(
        "/oauth/token",
        data={"grant_type": GRANT_TYPE, "subject_token_type": ACCESS_TOKEN_TYPE},
        auth=(desk.id, desk.secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_token_narrowed_to_one_subject_cannot_be_exchanged_for_another(api: ApiClient) -> None:
    desk, ada, bob = api.register(DESK), api.new_subject(ADA), api.new_subject(BOB)
    narrowed = exchanged(api, desk, client_token(api, desk)["access_token"], data_subject=ada)
    response = exchange(api, desk, narrowed, data_subject=bob)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"
    assert bob not in response.text and ada not in response.text


def _forged(api: ApiClient, token: str, **changes: Any) -> dict[str, str]:
    body = {**claims(token), **changes}
    header = {k: v for k, v in jwt.get_unverified_header(token).items() if k != "alg"}
    real = api.vault.keyring.token_signing_key().private
    return {
        "another key": jwt.encode(body, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header),
        "alg none": jwt.encode(body, None, algorithm="none", headers=header),  # type: ignore[arg-type]
        "widened by hand": jwt.encode(
            {**body, "purposes": ["billing", "support", "marketing"]},
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers=header,
        ),
        "ours, but for another audience": jwt.encode(
            {**body, "aud": "elsewhere"}, real, algorithm="EdDSA", headers=header
        ),
    }


def test_forged_expired_revoked_and_foreign_subject_tokens_are_invalid_grants(
    api: ApiClient, clock: FrozenClock
) -> None:
    desk, other = api.register(DESK), api.register(DESK)
    parent = client_token(api, desk)["access_token"]
    refused = dict(_forged(api, parent))
    refused["another client's"] = client_token(api, other)["access_token"]
    refused["not a token"] = "eyJhbGciOiJub25lIn0.e30."
    api.new_subject(ADA)
    refused["a data subject's"] = api.subject_auth(ADA["email"])["Authorization"].removeprefix("Bearer ")
    revoked = client_token(api, desk)["access_token"]
    assert (
        api.http.post("/oauth/revoke", data={"token": revoked}, auth=(desk.id, desk.secret)).status_code
        == 200
    )
    refused["revoked"] = revoked
    for name, token in refused.items():
        response = exchange(api, desk, token)
        assert response.status_code == 400, name
        assert response.json()["error"] == "invalid_grant", name

    clock.advance(api.vault.settings.token_ttl_seconds)
    expired = exchange(api, desk, parent)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"

    denied = [
        e
        for e in api.vault.audit.entries(limit=1000)
        if e.action == AuditAction.TOKEN_EXCHANGE and e.outcome == "denied"
    ]
    assert len(denied) == len(refused) + 1


def test_a_data_subjects_token_is_never_exchanged_even_by_its_own_name(api: ApiClient) -> None:
    """`self-service` is no client, so nothing can authenticate as the subject token's client."""
    desk = api.register(DESK)
    api.new_subject(ADA)
    subject_token = api.subject_auth(ADA["email"])["Authorization"].removeprefix("Bearer ")
    response = exchange(api, desk, subject_token)
    assert response.json()["error"] == "invalid_grant" and "data subject" in response.json()["detail"]


# -- the claims, at the verifier -----------------------------------------------------------------


CLIENT = ClientRecord(id="dw_abcdefghijklmnopqrstuv", name="desk", role=DESK)


def test_the_verifier_reads_family_and_single_subject_and_refuses_malformed_ones(
    keyring: LocalKeyring, tmp_path: Path
) -> None:
    settings, clock = Settings(home=tmp_path, database_url="sqlite://"), FrozenClock(at=1_800_000_000.0)
    issuer, verifier = TokenIssuer(keyring, settings, clock), TokenVerifier(keyring, settings, clock)
    root = verifier.verify(issuer.issue(CLIENT, ["billing", "support"], family_id="rf_family").access_token)
    assert root.family_id == "rf_family" and root.only_subject is None

    sid = "3b1f0c2e-5d7a-4c1e-9f3b-2a6d8e4c1b7f"
    child = issuer.issue_exchanged(root, ["support"], only_subject=sid, expires_at=int(root.expires_at) - 1)
    principal = verifier.verify(child.access_token)
    assert principal.family_id == "rf_family" and principal.only_subject == sid
    assert principal.purposes == frozenset({"support"})
    assert principal.expires_at < root.expires_at and principal.token_id == child.token_id

    body, header = claims(child.access_token), jwt.get_unverified_header(child.access_token)
    key = keyring.token_signing_key().private
    for bad in ({"fam": 7}, {"fam": ""}, {"only_subject": ["a", "b"]}, {"fam": "x" * 65}):
        forged = jwt.encode({**body, **bad}, key, algorithm="EdDSA", headers=header)
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    subject = claims(issuer.issue_subject(sid).access_token)
    for extra in ({"only_subject": sid}, {"fam": "rf_family"}):  # a subject's token is never narrowed
        forged = jwt.encode({**subject, **extra}, key, algorithm="EdDSA", headers=header)
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
