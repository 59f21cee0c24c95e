"""The gateway in front of the example customer API (a real process on 127.0.0.1): what it refuses
before the upstream sees it, what it removes from answers, what it records, and the attacks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dataward.gateway.inventory_report import EndpointClass, build_inventory, load_endpoint_rows
from dataward.gateway.proxy import GatewayApp
from dataward.gateway.spec import load_spec
from dataward.gateway.upstream import Upstream, UpstreamSettings
from dataward.guard.ratelimit import RateLimiter, storage_for
from dataward.identity import ClientRecord
from dataward.policy.edge import RateLimits
from dataward.services import Vault
from dataward.storage.tables import audit_entries
from support import certificate_authority, free_port, running

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "customers_api"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example API, started as the README starts it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("upstream") / "api.log"
    command = [sys.executable, str(EXAMPLE / "app.py"), "--port", str(port)]
    with running(command, {}, f"{url}/v1/health", log):
        yield url


@dataclass
class Gateway:
    http: TestClient
    vault: Vault
    app: GatewayApp

    def auth(self, role: str, purposes: list[str] | None = None) -> dict[str, str]:
        client = self.vault.clients.add(f"{role}-{len(self.vault.clients.list())}", role, self.vault.policy)
        record = ClientRecord(client.id, client.name, client.role)
        role_purposes = self.vault.policy.roles[role].purposes
        token = self.vault.issuer.issue(record, purposes if purposes is not None else list(role_purposes))
        return {"Authorization": f"Bearer {token.access_token}"}


@pytest.fixture
def gateway(vault: Vault, upstream: str) -> Iterator[Gateway]:
    app = GatewayApp(vault, load_spec(EXAMPLE / "openapi.yaml"), Upstream(UpstreamSettings(upstream)))
    with TestClient(app) as http:
        yield Gateway(http, vault, app)


def test_a_field_the_purpose_may_not_see_is_removed_and_said(gateway: Gateway, upstream: str) -> None:
    direct = httpx.get(f"{upstream}/v1/customers/1").json()
    assert direct["phone"] and direct["date_of_birth"]  # the API itself tells everything
    billing = gateway.http.get("/v1/customers/1", headers=gateway.auth("billing-service"))
    assert billing.status_code == 200
    body = billing.json()
    assert "phone" not in body and "date_of_birth" not in body
    assert body["email"] == direct["email"]
    assert set(billing.headers["X-Dataward-Removed"].split(", ")) == {"phone", "date_of_birth"}
    support = gateway.http.get("/v1/customers/1", headers=gateway.auth("support-agent"))
    assert support.json()["phone"] == direct["phone"]
    assert "X-Dataward-Removed" not in support.headers
    for answer in (billing, support):
        assert float(answer.headers["X-Dataward-Proxy-Latency"]) >= 0
        assert float(answer.headers["X-Dataward-Upstream-Latency"]) > 0
        assert answer.headers["RateLimit-Policy"].startswith('"client";')


def test_answers_with_personal_data_are_audited_by_field_name_only(gateway: Gateway, upstream: str) -> None:
    direct = httpx.get(f"{upstream}/v1/customers/2").json()
    gateway.http.get("/v1/customers/2", headers=gateway.auth("billing-service"))
    with gateway.vault.engine.connect() as connection:
        rows = connection.execute(
            select(audit_entries).where(audit_entries.c.action == "gateway:response:personal_data")
        ).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.purpose == "billing" and row.outcome == "allowed"
    assert "profile.email" in row.fields and "profile.phone" not in row.fields
    flattened = " ".join(str(value) for value in row)
    for value in (direct["email"], direct["name"], direct["phone"]):
        assert value not in flattened


def test_a_shadow_endpoint_is_refused_and_inventoried(gateway: Gateway, upstream: str) -> None:
    assert httpx.get(f"{upstream}/internal/debug/customers").status_code == 200  # it exists upstream
    headers = gateway.auth("support-agent")
    refused = gateway.http.get("/internal/debug/customers", headers=headers)
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:dataward:problem:shadow-endpoint"
    assert "example.com" not in refused.text
    # a method the spec does not declare on a known path is a shadow too
    assert gateway.http.delete("/v1/customers/3", headers=headers).status_code == 404
    assert gateway.http.get("/v1/customers/3", headers=headers).status_code == 200
    assert gateway.http.get("/v1/customers/3/legacy", headers=headers).status_code == 200
    # ids in shadow paths are collapsed, never stored
    gateway.http.get("/internal/debug/customers/12345", headers=headers)
    gateway.app.inventory.flush(gateway.vault.engine)
    report = build_inventory(gateway.app.spec, load_endpoint_rows(gateway.vault.engine),
                             generated_at=gateway.vault.clock.now())  # fmt: skip
    kinds = {(e.method, e.path): e.kind for e in report.entries}
    assert kinds[("GET", "/internal/debug/customers")] is EndpointClass.SHADOW
    assert kinds[("DELETE", "/v1/customers/{customer_id}")] is EndpointClass.SHADOW
    assert kinds[("GET", "/v1/customers/{customer_id}/legacy")] is EndpointClass.ZOMBIE
    assert kinds[("GET", "/v1/customers/{customer_id}")] is EndpointClass.DOCUMENTED
    assert kinds[("PATCH", "/v1/customers/{customer_id}")] is EndpointClass.ORPHAN
    assert not any("12345" in path for _, path in kinds)


def test_a_body_that_does_not_match_the_spec_never_reaches_the_upstream(
    gateway: Gateway, upstream: str
) -> None:
    before = httpx.get(f"{upstream}/v1/customers", params={"limit": 1}).json()["total"]
    headers = gateway.auth("support-agent")
    planted = "leaky.person@example.com"
    bad = {"name": "X", "email": planted, "is_admin": True}  # mass assignment: not in the schema
    refused = gateway.http.post("/v1/customers", headers=headers, json=bad)
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert any(e["path"].startswith("body") for e in refused.json()["errors"])
    assert planted not in refused.text
    wrong_type = gateway.http.get("/v1/customers", headers=headers, params={"limit": "many"})
    assert wrong_type.status_code == 400
    assert httpx.get(f"{upstream}/v1/customers", params={"limit": 1}).json()["total"] == before
    created = gateway.http.post(
        "/v1/customers", headers=headers, json={"name": "New Person", "email": planted}
    )
    assert created.status_code == 201, created.text
    assert httpx.get(f"{upstream}/v1/customers", params={"limit": 1}).json()["total"] == before + 1


def test_tokens_scopes_and_purposes_are_enforced(gateway: Gateway) -> None:
    assert gateway.http.get("/v1/health").status_code == 200  # public in the spec
    missing = gateway.http.get("/v1/customers/1")
    assert missing.status_code == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
    forged = gateway.http.get("/v1/customers/1", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401
    # marketing may list customers but not read one: no requirement of that operation is met
    newsletter = gateway.auth("newsletter")
    assert gateway.http.get("/v1/customers/1", headers=newsletter).status_code == 403
    listed = gateway.http.get("/v1/customers", headers=newsletter)
    assert listed.status_code == 200
    assert all("phone" not in item for item in listed.json()["items"])
    # a purpose named in the header must be the operation's and the token's
    support = gateway.auth("support-agent")
    asked = gateway.http.get("/v1/customers/1", headers={**support, "X-Dataward-Purpose": "billing"})
    assert asked.status_code == 403


def test_revoked_tokens_and_rate_limits_apply(gateway: Gateway) -> None:
    import asyncio  # noqa: PLC0415

    vault = gateway.vault
    vault.guard.limiter = RateLimiter(
        RateLimits(routes={"GET /v1/customers/{customer_id}": "2/minute"}), storage_for(None, "-")
    )
    headers = gateway.auth("support-agent")
    assert [gateway.http.get("/v1/customers/1", headers=headers).status_code for _ in range(3)] == [
        200, 200, 429,
    ]  # fmt: skip
    limited = gateway.http.get("/v1/customers/1", headers=headers)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["type"] == "urn:dataward:problem:rate-limited"
    other = gateway.auth("support-agent")
    principal = vault.verifier.verify(other["Authorization"].split()[1])
    asyncio.run(vault.revocations.revoke_token(principal.token_id, principal.expires_at))
    assert gateway.http.get("/v1/customers/2", headers=other).status_code == 401
    metrics = gateway.http.get("/metrics").text
    assert 'reason="rate-limited"' in metrics and 'reason="invalid-token"' in metrics


_TLS_UPSTREAM = """
import ssl, sys, uvicorn
sys.path.insert(0, {folder!r})
from app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port={port}, ssl_certfile={cert!r}, ssl_keyfile={key!r},
            ssl_ca_certs={ca!r}, ssl_cert_reqs=ssl.CERT_REQUIRED, log_level="warning")
"""


def test_mutual_tls_to_the_upstream(vault: Vault, tmp_path: Path) -> None:
    """The upstream takes only clients with a certificate its authority signed: the gateway with
    one gets through; without one, or trusting another authority, it answers 502 and leaks nothing."""
    pki = certificate_authority(tmp_path)
    port = free_port()
    script = _TLS_UPSTREAM.format(folder=str(EXAMPLE), port=port, cert=str(pki["server"]),
                                  key=str(pki["server_key"]), ca=str(pki["ca"]))  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    spec = load_spec(EXAMPLE / "openapi.yaml")
    with running([sys.executable, "-c", script], {}, url, tmp_path / "tls.log"):
        mutual = UpstreamSettings(url, pki["ca"], pki["client"], pki["client_key"])
        with TestClient(GatewayApp(vault, spec, Upstream(mutual))) as http:
            assert http.get("/v1/health").status_code == 200
        without = UpstreamSettings(url, pki["ca"])
        with TestClient(GatewayApp(vault, spec, Upstream(without))) as http:
            refused = http.get("/v1/health")
            assert refused.status_code == 502
            assert refused.json()["type"] == "urn:dataward:problem:bad-gateway"
        untrusted = UpstreamSettings(url)  # the system's authorities: not ours
        with TestClient(GatewayApp(vault, spec, Upstream(untrusted))) as http:
            assert http.get("/v1/health").status_code == 502


def test_upstream_settings_refuse_plain_http_off_this_machine() -> None:
    with pytest.raises(ValueError, match="https"):
        UpstreamSettings("http://api.example.com")
    with pytest.raises(ValueError, match="both"):
        UpstreamSettings("https://api.example.com", client_cert=Path("c.pem"))


_COOKIE_UPSTREAM = """
import json, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    seen = dict(scope["headers"])
    body = json.dumps({"status": "ok", **{k.decode(): v.decode() for k, v in seen.items()}}).encode()
    headers = [(b"content-type", b"application/json"), (b"set-cookie", b"session=alice-secret; Path=/")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
"""


def test_a_cookie_the_upstream_sets_for_one_caller_never_reaches_another(
    vault: Vault, tmp_path: Path
) -> None:
    """SECURITY: the gateway's upstream connections are shared by every caller; a cookie jar on them
    would hand one caller's session to the next."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(
        [sys.executable, "-c", _COOKIE_UPSTREAM.replace("PORT", str(port))], {}, url, tmp_path / "up.log"
    ):
        # By name: cookie jars refuse cookies from bare IP addresses, which would hide a shared jar.
        named = f"http://localhost:{port}"
        app = GatewayApp(vault, load_spec(EXAMPLE / "openapi.yaml"), Upstream(UpstreamSettings(named)))
        with TestClient(app) as http:
            first = http.get("/v1/health")  # Alice
            assert "alice-secret" in first.headers["set-cookie"]  # passed back to the one it was for
            http.cookies.clear()  # Bob: another caller, who never had it
            second = http.get("/v1/health")
            assert "cookie" not in second.json()


def test_the_upstream_hears_who_called_from_the_gateway_alone(vault: Vault, tmp_path: Path) -> None:
    """SECURITY: a caller cannot speak for the gateway (`X-Dataward-Client: someone-else`), and the
    bearer token the gateway checked is not handed to the upstream, which could replay it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(
        [sys.executable, "-c", _COOKIE_UPSTREAM.replace("PORT", str(port))], {}, url, tmp_path / "up.log"
    ):
        app = GatewayApp(vault, load_spec(EXAMPLE / "openapi.yaml"), Upstream(UpstreamSettings(url)))
        with TestClient(app) as http:
            gateway = Gateway(http, vault, app)
            forged = {"X-Dataward-Client": "dw_someone_else", "X-Forwarded-For": "10.9.9.9"}
            headers = {**gateway.auth("support-agent"), **forged}
            seen = http.get("/v1/health", headers=headers).json()
            principal = vault.verifier.verify(headers["Authorization"].split()[1])
            assert seen["x-dataward-client"] == principal.client_id
            assert "authorization" not in seen
            assert seen["x-forwarded-for"] == "testclient"
            anonymous = http.get("/v1/health", headers={"X-Dataward-Client": "dw_someone_else"}).json()
            assert "x-dataward-client" not in anonymous


def test_a_failure_inside_the_gateway_is_a_500_that_tells_nothing(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("while minimising ada@example.com")  # a message that may hold personal data

    monkeypatch.setattr(gateway.app.minimiser, "plan", broken)
    answer = gateway.http.get("/v1/customers/1", headers=gateway.auth("support-agent"))
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "example.com" not in answer.text and "Traceback" not in answer.text
    assert answer.json()["request_id"] == answer.headers["x-request-id"]


def test_head_is_answered_as_the_get_it_stands_for(gateway: Gateway) -> None:
    headers = gateway.auth("billing-service")
    head = gateway.http.head("/v1/customers/1", headers=headers)
    assert head.status_code == 200 and head.content == b""
    assert gateway.http.head("/v1/customers/1").status_code == 401  # the same checks as GET
    assert gateway.http.head("/internal/debug/customers", headers=headers).status_code == 404
    gateway.app.inventory.flush(gateway.vault.engine)
    rows = {(row.method, row.path) for row in load_endpoint_rows(gateway.vault.engine)}
    assert ("GET", "/v1/customers/{customer_id}") in rows
    assert ("HEAD", "/v1/customers/{customer_id}") not in rows
