"""Client suspension: a suspended client cannot authenticate (as if unknown), gets and refreshes no
token, its refresh tokens are revoked and, once cut off, its live access tokens too; reinstating
it restores issuance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from argon2 import PasswordHasher
from httpx2 import Response  # what TestClient answers with

from dataward.clock import FrozenClock
from dataward.errors import InvalidRequest
from dataward.identity import ClientRegistry, InvalidClient, NewClient
from dataward.policy import Policy, load_policy
from support import ApiClient

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"
ROLE = "billing-service"
INSPECTOR = "token-inspector"


@pytest.fixture
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["roles"][INSPECTOR] = {"actions": ["tokens.introspect"]}
    path = tmp_path_factory.mktemp("policy") / "dataward.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_policy(path)


def tokens(api: ApiClient, client: NewClient) -> Response:
    return api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client.id, client.secret)
    )


def reads(api: ApiClient, access_token: str, subject_id: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return api.http.get(f"/v1/subjects/{subject_id}?purpose=billing", headers=headers).status_code


class CountingHasher(PasswordHasher):
    """Records which hash each verification was against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified.append(str(hash))
        return super().verify(hash, password)


def test_suspension_is_recorded_listed_and_lifted(api: ApiClient, clock: FrozenClock) -> None:
    registry, client = api.vault.clients, api.register(ROLE)
    assert registry.suspend(client.id, "reads far more than usual") is True
    assert registry.suspend(client.id, "again") is False  # suspended already: the first reason stays
    found = registry.find(client.name)
    assert found is not None and found.id == client.id
    assert found.suspended_at == clock.now() and found.suspended_reason == "reads far more than usual"
    assert registry.is_suspended(client.id)
    assert [c.suspended_reason for c in registry.list() if c.id == client.id] == ["reads far more than usual"]

    assert registry.reinstate(client.id) is True
    assert registry.reinstate(client.id) is False
    again = registry.find(client.id)
    assert again is not None and again.suspended_at is None and again.suspended_reason is None
    assert not registry.is_suspended(client.id)


def test_a_reason_is_one_short_line(api: ApiClient) -> None:
    client = api.register(ROLE)
    for reason in ("", "two\nlines", "x" * 256):
        with pytest.raises(InvalidRequest):
            api.vault.clients.suspend(client.id, reason)
    assert not api.vault.clients.is_suspended(client.id)


def test_a_client_is_found_by_id_or_name(api: ApiClient) -> None:
    client = api.register(ROLE)
    by_id, by_name = api.vault.clients.find(client.id), api.vault.clients.find(client.name)
    assert by_id is not None and by_name is not None and by_id.id == by_name.id == client.id
    assert api.vault.clients.find("nobody") is None


def test_a_suspended_client_fails_authentication_exactly_as_an_unknown_one(
    api: ApiClient, policy: Policy
) -> None:
    hasher = CountingHasher()
    registry = ClientRegistry(api.vault.engine, api.vault.clock, hasher)
    client = registry.add("suspect", ROLE, policy)
    registry.suspend(client.id, "under investigation")
    assert hasher.verified == []
    with pytest.raises(InvalidClient) as suspended:
        registry.authenticate(client.id, client.secret)
    with pytest.raises(InvalidClient) as unknown:
        registry.authenticate("dw_" + "x" * 24, client.secret)
    assert str(suspended.value) == str(unknown.value)
    suspended_against, unknown_against = hasher.verified
    assert suspended_against == unknown_against  # the same decoy hash: the same work, the same time
    registry.reinstate(client.id)
    assert registry.authenticate(client.id, client.secret).id == client.id


def test_a_suspended_client_gets_no_token_refreshes_none_and_its_live_token_dies(
    api: ApiClient, clock: FrozenClock
) -> None:
    client, sid = api.register(ROLE), api.new_subject()
    issued: dict[str, Any] = tokens(api, client).json()
    assert reads(api, issued["access_token"], sid) == 200

    assert api.vault.clients.suspend(client.id, "anomaly: reads every subject")
    asyncio.run(api.vault.revocations.cut_off(client.id, clock.timestamp()))  # as the CLI does

    refused = tokens(api, client)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    refresh = api.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        auth=(client.id, client.secret),
    )
    assert refresh.status_code == 401
    assert reads(api, issued["access_token"], sid) == 401

    # Reinstated, it starts again with its secret; what the suspension revoked stays revoked.
    assert api.vault.clients.reinstate(client.id)
    clock.advance(1)  # the cut-off reaches every token issued up to its second
    fresh = tokens(api, client)
    assert fresh.status_code == 200
    assert reads(api, fresh.json()["access_token"], sid) == 200
    stale = api.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        auth=(client.id, client.secret),
    )
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_introspection_sees_a_suspension_the_revocations_never_heard_of(api: ApiClient) -> None:
    """A CLI without Redis cannot reach the server's revocations; the database still says so."""
    client, inspector = api.register(ROLE), api.register(INSPECTOR)
    issued = tokens(api, client).json()

    def active(token: str) -> bool:
        answer = api.http.post(
            "/oauth/introspect", data={"token": token}, auth=(inspector.id, inspector.secret)
        )
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["active"])

    assert active(issued["access_token"]) and active(issued["refresh_token"])
    api.vault.clients.suspend(client.id, "under investigation")
    assert not active(issued["access_token"]) and not active(issued["refresh_token"])
