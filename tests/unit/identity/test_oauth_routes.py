"""`POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from httpx2 import Response  # what TestClient answers with

from dataward.audit import AuditAction
from dataward.clock import FrozenClock
from dataward.identity import NewClient
from dataward.identity.exchange import ACCESS_TOKEN_TYPE, GRANT_TYPE
from dataward.policy import Policy, load_policy
from support import ApiClient

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"
DESK = "desk"  # read and write, for billing and support
INSPECTOR = "token-inspector"  # tokens.introspect, nothing else
ADA = {"email": "ada@example.com", "full_name": "Ada Lovelace"}


@pytest.fixture
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["roles"][DESK] = {"actions": ["read", "write"], "purposes": ["billing", "support"]}
    document["roles"][INSPECTOR] = {"actions": ["tokens.introspect"]}
    path = tmp_path_factory.mktemp("policy") / "dataward.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_policy(path)


def tokens(api: ApiClient, client: NewClient) -> dict[str, Any]:
    response = api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client.id, client.secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(api: ApiClient, client: NewClient, refresh_token: str) -> Response:
    return api.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(client.id, client.secret),
    )


def exchange(api: ApiClient, client: NewClient, parent: str, **form: str) -> str:
    data = {"grant_type": GRANT_TYPE, "subject_token": parent, "subject_token_type": ACCESS_TOKEN_TYPE}
    response = api.http.post("/oauth/token", data={**data, **form}, auth=(client.id, client.secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def revoke(api: ApiClient, client: NewClient, token: str, **form: str) -> Response:
    return api.http.post("/oauth/revoke", data={"token": token, **form}, auth=(client.id, client.secret))


def introspect(api: ApiClient, client: NewClient, token: str, **form: str) -> dict[str, Any]:
    response = api.http.post(
        "/oauth/introspect", data={"token": token, **form}, auth=(client.id, client.secret)
    )
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]
    body: dict[str, Any] = response.json()
    return body


def reads(api: ApiClient, token: str, subject_id: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return api.http.get(f"/v1/subjects/{subject_id}?purpose=support", headers=headers).status_code


# -- revocation ----------------------------------------------------------------------------------


def test_a_revoked_access_token_is_refused_at_once_with_what_was_exchanged_from_it(api: ApiClient) -> None:
    desk, sid = api.register(DESK), api.new_subject(ADA)
    issued = tokens(api, desk)
    access = issued["access_token"]
    child = exchange(api, desk, access, scope="support")
    assert reads(api, access, sid) == reads(api, child, sid) == 200

    response = revoke(api, desk, access)
    assert response.status_code == 200 and response.content == b""
    assert reads(api, access, sid) == 401
    assert reads(api, child, sid) == 401
    # It came straight from its grant, so the grant went with it (RFC 7009 section 2.1).
    assert refresh(api, desk, issued["refresh_token"]).json()["error"] == "invalid_grant"
    assert revoke(api, desk, access).status_code == 200  # again: nothing left to do, still 200

    entries = [e for e in api.vault.audit.entries(limit=1000) if e.action == AuditAction.TOKEN_REVOKE]
    assert (
        entries[0].outcome == "allowed"
        and entries[0].token_id == jwt.decode(access, options={"verify_signature": False})["jti"]
    )
    assert not any(access in str(e) for e in entries)


def test_revoking_an_exchanged_token_leaves_its_parent_alive(api: ApiClient) -> None:
    desk, sid = api.register(DESK), api.new_subject(ADA)
    parent = tokens(api, desk)["access_token"]
    child = exchange(api, desk, parent, data_subject=sid)
    assert revoke(api, desk, child).status_code == 200
    assert reads(api, child, sid) == 401
    assert reads(api, parent, sid) == 200


def test_a_revoked_refresh_token_takes_its_whole_family_with_it(api: ApiClient) -> None:
    desk, sid = api.register(DESK), api.new_subject(ADA)
    first = tokens(api, desk)
    second = refresh(api, desk, first["refresh_token"]).json()
    unrelated = tokens(api, desk)

    # A wrong hint changes nothing: the token's form says what it is.
    assert revoke(api, desk, second["refresh_token"], token_type_hint="access_token").status_code == 200
    assert refresh(api, desk, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert reads(api, first["access_token"], sid) == reads(api, second["access_token"], sid) == 401
    assert reads(api, unrelated["access_token"], sid) == 200
    assert refresh(api, desk, unrelated["refresh_token"]).status_code == 200


def test_another_clients_token_is_refused_and_nothing_is_revoked(api: ApiClient) -> None:
    owner, other, sid = api.register(DESK), api.register(DESK), api.new_subject(ADA)
    issued = tokens(api, owner)
    subject_token = api.subject_auth(ADA["email"])["Authorization"].removeprefix("Bearer ")
    for token in (issued["access_token"], issued["refresh_token"], subject_token):
        response = revoke(api, other, token, token_type_hint="refresh_token")
        assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    assert reads(api, issued["access_token"], sid) == 200
    assert refresh(api, owner, issued["refresh_token"]).status_code == 200
    assert (
        api.http.get("/v1/me/requests", headers={"Authorization": f"Bearer {subject_token}"}).status_code
        == 200
    )
    denied = [
        e
        for e in api.vault.audit.entries(limit=1000)
        if e.action == AuditAction.TOKEN_REVOKE and e.outcome == "denied"
    ]
    assert len(denied) == 3 and all(e.client_id == other.id for e in denied)


def test_unknown_malformed_and_expired_tokens_are_answered_200(api: ApiClient, clock: FrozenClock) -> None:
    desk = api.register(DESK)
    expired = tokens(api, desk)["access_token"]
    clock.advance(api.vault.settings.token_ttl_seconds)
    for token in ("nonsense", "dwr_" + "x" * 43, "eyJhbGciOiJub25lIn0.e30.", expired):
        assert revoke(api, desk, token).status_code == 200, token


def test_revocation_needs_the_clients_credentials_and_a_token(api: ApiClient) -> None:
    desk, sid = api.register(DESK), api.new_subject(ADA)
    access = tokens(api, desk)["access_token"]
    anonymous = api.http.post("/oauth/revoke", data={"token": access})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    bearer = api.http.post(
        "/oauth/revoke", data={"token": access}, headers={"Authorization": f"Bearer {access}"}
    )
    assert bearer.status_code == 401
    assert reads(api, access, sid) == 200
    missing = api.http.post("/oauth/revoke", data={}, auth=(desk.id, desk.secret))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


# -- introspection -------------------------------------------------------------------------------


def test_an_active_access_token_is_described(api: ApiClient) -> None:
    desk, sid = api.register(DESK), api.new_subject(ADA)
    parent = tokens(api, desk)["access_token"]
    child = exchange(api, desk, parent, scope="support", data_subject=sid)
    answer = introspect(api, desk, child, token_type_hint="refresh_token")
    claims = jwt.decode(child, options={"verify_signature": False})
    assert answer == {
        "active": True,
        "token_type": "access_token",
        "scope": "support",
        "client_id": desk.id,
        "sub": desk.id,
        "aud": api.vault.settings.audience,
        "iss": api.vault.settings.issuer,
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "jti": claims["jti"],
        "role": DESK,
        "purposes": ["support"],
        "only_subject": sid,
    }
    assert "only_subject" not in introspect(api, desk, parent)


def test_an_active_refresh_token_is_described_and_a_spent_one_is_not(api: ApiClient) -> None:
    desk = api.register(DESK)
    first = tokens(api, desk)["refresh_token"]
    answer = introspect(api, desk, first)
    assert answer["active"] is True and answer["token_type"] == "refresh_token"
    assert answer["client_id"] == desk.id and answer["role"] == DESK
    assert answer["scope"] == "billing support" and answer["exp"] > answer["iat"]
    assert refresh(api, desk, first).status_code == 200
    assert introspect(api, desk, first) == {"active": False}


def test_invalid_expired_revoked_and_foreign_tokens_are_inactive(api: ApiClient, clock: FrozenClock) -> None:
    desk, other = api.register(DESK), api.register(DESK)
    mine, theirs = tokens(api, desk), tokens(api, other)
    revoked = tokens(api, desk)
    assert revoke(api, desk, revoked["refresh_token"]).status_code == 200  # the family, access token too
    for token in ("garbage", theirs["access_token"], theirs["refresh_token"], revoked["access_token"]):
        assert introspect(api, desk, token) == {"active": False}, token
    assert introspect(api, desk, mine["access_token"])["active"] is True

    clock.advance(api.vault.settings.token_ttl_seconds)
    assert introspect(api, desk, mine["access_token"]) == {"active": False}
    inactive = [
        e
        for e in api.vault.audit.entries(limit=1000)
        if e.action == AuditAction.TOKEN_INTROSPECT and e.reason == "inactive"
    ]
    assert len(inactive) == 5


def test_a_role_with_tokens_introspect_may_introspect_any_token(api: ApiClient) -> None:
    desk, inspector, sid = api.register(DESK), api.register(INSPECTOR), api.new_subject(ADA)
    issued = tokens(api, desk)
    access = introspect(api, inspector, issued["access_token"])
    assert access["active"] is True and access["client_id"] == desk.id and access["role"] == DESK
    assert introspect(api, inspector, issued["refresh_token"])["client_id"] == desk.id
    subject_token = api.subject_auth(ADA["email"])["Authorization"].removeprefix("Bearer ")
    subject = introspect(api, inspector, subject_token)
    assert subject["active"] is True and subject["sub"] == sid and subject["role"] == "subject"
    # Only what is live, still.
    assert revoke(api, desk, issued["access_token"]).status_code == 200
    assert introspect(api, inspector, issued["access_token"]) == {"active": False}
    # A role without the action sees only its own.
    assert introspect(api, api.register(DESK), tokens(api, inspector)["access_token"]) == {"active": False}


def test_introspection_needs_the_clients_credentials(api: ApiClient) -> None:
    desk = api.register(DESK)
    access = tokens(api, desk)["access_token"]
    anonymous = api.http.post("/oauth/introspect", data={"token": access})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
