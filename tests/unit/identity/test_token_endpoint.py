"""`POST /oauth/token`: refresh tokens with the client-credentials grant, their rotation, reuse
detection that kills the whole family (refresh and access tokens), and scopes that never widen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from httpx2 import Response  # what TestClient answers with

from dataward.audit import AuditAction
from dataward.clock import FrozenClock
from dataward.identity import NewClient
from dataward.policy import Policy, load_policy
from support import ApiClient

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"
ROLE = "billing-service"  # the example policy's: read, for purpose billing
DESK = "desk"  # this test's: read, for billing and support


@pytest.fixture
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """The example policy with a role of two purposes; one per test, as a test may change it."""
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["roles"][DESK] = {"actions": ["read"], "purposes": ["billing", "support"]}
    path = tmp_path_factory.mktemp("policy") / "dataward.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_policy(path)


def grant(api: ApiClient, client: NewClient, **form: str) -> Response:
    return api.http.post("/oauth/token", data=form, auth=(client.id, client.secret))


def issued(api: ApiClient, client: NewClient, **form: str) -> dict[str, Any]:
    response = grant(api, client, **{"grant_type": "client_credentials", **form})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refreshed(api: ApiClient, client: NewClient, refresh_token: str, **form: str) -> Response:
    return grant(api, client, grant_type="refresh_token", refresh_token=refresh_token, **form)


def reads(api: ApiClient, access_token: str, subject_id: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return api.http.get(f"/v1/subjects/{subject_id}?purpose=billing", headers=headers).status_code


def test_client_credentials_come_with_a_refresh_token_that_rotates(api: ApiClient) -> None:
    client, sid = api.register(ROLE), api.new_subject()
    first = issued(api, client)
    assert first["refresh_token"].startswith("dwr_") and first["token_type"] == "Bearer"

    second = refreshed(api, client, first["refresh_token"])
    assert second.status_code == 200, second.text
    assert "no-store" in second.headers["cache-control"]
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"] and body["scope"] == "billing"
    assert reads(api, body["access_token"], sid) == 200

    again = refreshed(api, client, body["refresh_token"])  # the new one works in turn
    assert again.status_code == 200, again.text


def test_reusing_a_spent_refresh_token_kills_its_family(api: ApiClient) -> None:
    client, sid = api.register(ROLE), api.new_subject()
    first = issued(api, client)
    second = refreshed(api, client, first["refresh_token"]).json()
    other_family = issued(api, client)
    assert reads(api, first["access_token"], sid) == reads(api, second["access_token"], sid) == 200

    reuse = refreshed(api, client, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"

    # Every token of the family is dead: the next refresh token, and each access token from it.
    assert refreshed(api, client, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert reads(api, first["access_token"], sid) == 401
    assert reads(api, second["access_token"], sid) == 401
    # Another family of the same client lives on.
    assert reads(api, other_family["access_token"], sid) == 200
    assert refreshed(api, client, other_family["refresh_token"]).status_code == 200

    denied = [
        e
        for e in api.vault.audit.entries(limit=1000)
        if e.action == AuditAction.TOKEN_REFRESH and e.outcome == "denied"
    ]
    assert "reuse detected" in str(denied[0].reason) and denied[0].client_id == client.id
    secrets = {first["refresh_token"], second["refresh_token"], first["access_token"]}
    assert not any(s in str(e) for e in api.vault.audit.entries(limit=1000) for s in secrets)


def test_another_clients_refresh_token_is_refused_and_stays_usable(api: ApiClient) -> None:
    owner, thief = api.register(ROLE), api.register(ROLE)
    token = issued(api, owner)["refresh_token"]
    stolen = refreshed(api, thief, token)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert refreshed(api, owner, token).status_code == 200  # neither spent nor revoked by the attempt


def test_a_refresh_needs_the_clients_own_credentials(api: ApiClient) -> None:
    client = api.register(ROLE)
    token = issued(api, client)["refresh_token"]
    anonymous = api.http.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    wrong = api.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(client.id, "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert refreshed(api, client, token).status_code == 200


def test_a_refresh_may_narrow_its_scope_but_never_widen_it(api: ApiClient) -> None:
    support = api.register("support-agent")  # purpose support only
    token = issued(api, support)["refresh_token"]
    for scope in ("support billing", "billing"):
        widened = refreshed(api, support, token, scope=scope)
        assert widened.status_code == 400 and widened.json()["error"] == "invalid_scope", scope
    narrowed = refreshed(api, support, token, scope="support")  # the refusals did not spend it
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "support"


def test_a_refresh_token_never_outgrows_what_its_family_was_granted(api: ApiClient) -> None:
    desk = api.register(DESK)  # billing and support
    token = issued(api, desk, scope="support")["refresh_token"]
    widened = refreshed(api, desk, token, scope="billing")
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_scope"
    assert refreshed(api, desk, token).json()["scope"] == "support"


def test_a_refresh_rechecks_the_purposes_against_todays_policy(api: ApiClient, policy: Policy) -> None:
    desk = api.register(DESK)
    token = issued(api, desk)["refresh_token"]
    policy.roles[DESK].purposes.remove("billing")  # the policy changed since the family began
    assert refreshed(api, desk, token).json()["scope"] == "support"


def test_an_expired_refresh_token_is_an_invalid_grant(api: ApiClient, clock: FrozenClock) -> None:
    client = api.register(ROLE)
    token = issued(api, client)["refresh_token"]
    clock.advance(api.vault.settings.refresh_token_ttl_seconds)
    expired = refreshed(api, client, token)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_a_missing_refresh_token_and_an_unknown_grant_are_refused(api: ApiClient) -> None:
    client = api.register(ROLE)
    missing = grant(api, client, grant_type="refresh_token")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    unknown = grant(api, client, grant_type="password")
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"


def test_the_token_form_documents_every_grant(api: ApiClient) -> None:
    schema = api.http.get("/openapi.json").json()
    form = schema["paths"]["/oauth/token"]["post"]["requestBody"]["content"]
    properties = form["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert set(properties["grant_type"]["enum"]) == {
        "client_credentials",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
    assert {"refresh_token", "subject_token", "subject_token_type", "data_subject", "expires_in"} <= set(
        properties
    )
    for path in ("/oauth/revoke", "/oauth/introspect"):
        operation = schema["paths"][path]["post"]
        assert operation["security"] == []
        assert (
            "token"
            in operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"][
                "properties"
            ]
        )
