"""One probe per live rule: where a running scan target shows the flaw, as a set of (method,
path template), (None, None) for the whole API.

`tests/unit/scanner/test_scan_targets.py` runs them to prove what the vulnerable app plants and
the clean one avoids. They are not the scanner: each knows the Acme HR apps (their demo users,
their search and ping operations) and is simple on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response  # what TestClient answers with

from scan_targets import manifest
from scan_targets.spec_checks import (
    Document,
    Where,
    operations,
    required_parameters,
    resolve,
    response_schemas,
    secured,
)

__all__ = [
    "LIVE_PROBES",
    "Target",
    "TargetModule",
    "bearer",
    "forgeries",
    "password_of",
    "running_target",
]


class TargetModule(Protocol):
    def create_app(self) -> FastAPI: ...

    def issue_token(self, username: str, *, issued_at: float | None = None) -> str: ...


@dataclass
class Target:
    http: TestClient
    module: TargetModule
    spec: Document

    def login(self, username: str) -> str:
        answer = self.http.post("/auth/login", json={"username": username, "password": password_of(username)})
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def auth(self, username: str) -> dict[str, str]:
        return bearer(self.login(username))


def password_of(username: str) -> str:
    return manifest.DEMO_PASSWORDS[username]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def running_target(module: TargetModule, *, raise_server_exceptions: bool) -> Iterator[Target]:
    """The app of `module`, started (its lifespan run) and ready for calls."""
    app = module.create_app()
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as http:
        yield Target(http, module, app.openapi())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def forged_jwt(claims: dict[str, Any], *, key: bytes | None) -> str:
    """A JWT made by hand, apart from both apps' code (PyJWT warns of a six-byte key, and
    `filterwarnings = error` makes that a failure); `key=None` writes an `alg: none` token."""
    header = b64url(json.dumps({"alg": "HS256" if key else "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest() if key else b""
    return f"{header}.{payload}.{b64url(signature)}"


def items_in(answer: Response) -> int:
    if answer.status_code != 200:
        return 0
    body = answer.json()
    return len(body if isinstance(body, list) else body["items"])


def path_ending(target: Target, suffix: str) -> str:
    paths: list[str] = list(target.spec["paths"])
    return next(p for p in paths if p.endswith(suffix))


# -- one probe per live rule: where the running app shows the flaw --------------------------------

DOCUMENT = {"title": "Quarterly review", "body": "Fictional notes.", "tags": ["review"]}


def probe_bola(t: Target) -> set[Where]:
    alice, bob = t.auth("alice"), t.auth("bob")
    created = t.http.post("/documents", json=DOCUMENT, headers=alice)
    assert created.status_code == 201, created.text
    url, template = f"/documents/{created.json()['id']}", "/documents/{document_id}"
    assert t.http.get(url, headers=alice).status_code == 200
    found: set[Where] = set()
    if t.http.get(url, headers=bob).status_code == 200:
        found.add(("GET", template))
    if t.http.put(url, json={**DOCUMENT, "title": "Bob was here"}, headers=bob).status_code == 200:
        found.add(("PUT", template))
    if t.http.delete(url, headers=bob).status_code in {200, 204}:
        found.add(("DELETE", template))
    return found


def probe_no_token(t: Target) -> set[Where]:
    reachable = (
        (m, p)
        for m, p, op in operations(t.spec)
        if m == "GET" and secured(t.spec, op) and not required_parameters(op)
    )
    return {(m, p) for m, p in reachable if t.http.get(p).status_code < 400}


def forgeries(t: Target, genuine: str) -> dict[str, str]:
    """Tokens no careful API takes, each made from alice's `genuine` one."""
    header, payload, signature = genuine.split(".")
    claims = claims_of(genuine)
    return {
        "alg none": forged_jwt(claims, key=None),
        "weak secret": forged_jwt({**claims, "sub": "admin"}, key=b"secret"),
        "expired": t.module.issue_token("alice", issued_at=time.time() - 86_400),
        "altered signature": f"{header}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}",
    }


def probe_forged_tokens(t: Target) -> set[Where]:
    genuine = t.login("alice")
    assert t.http.get("/documents", headers=bearer(genuine)).status_code == 200
    *app_wide, altered = forgeries(t, genuine).values()
    found: set[Where] = set()
    if any(t.http.get("/documents", headers=bearer(token)).status_code == 200 for token in app_wide):
        found.add((None, None))
    for path in ("/documents", "/users/me"):
        if t.http.get(path, headers=bearer(altered)).status_code == 200:
            found.add(("GET", path))
    return found


def probe_token_in_query(t: Target) -> set[Where]:
    answer = t.http.get("/documents", params={"access_token": t.login("alice")})
    return {(None, None)} if answer.status_code == 200 else set()


def probe_user_enumeration(t: Target) -> set[Where]:
    unknown = t.http.post("/auth/login", json={"username": "nobody", "password": "not-the-password"})
    wrong = t.http.post("/auth/login", json={"username": "alice", "password": "not-the-password"})
    assert unknown.status_code >= 400 and wrong.status_code >= 400
    told_apart = (unknown.status_code, unknown.content) != (wrong.status_code, wrong.content)
    return {("POST", "/auth/login")} if told_apart else set()


def probe_mass_assignment(t: Target) -> set[Where]:
    alice = t.auth("alice")
    t.http.patch(
        "/users/me", json={"display_name": "Alice E.", "is_admin": True, "role": "admin"}, headers=alice
    )
    profile = t.http.get("/users/me", headers=alice).json()
    return (
        {("PATCH", "/users/me")} if profile.get("is_admin") is True or profile["role"] == "admin" else set()
    )


def probe_excessive_exposure(t: Target) -> set[Where]:
    alice, found = t.auth("alice"), set[Where]()
    for m, p, op in operations(t.spec):
        answer = t.http.get(p, headers=alice) if m == "GET" and not required_parameters(op) else None
        if answer is None or answer.status_code != 200 or not isinstance(answer.json(), dict):
            continue
        declared = {
            name for schema in response_schemas(op) for name in resolve(t.spec, schema).get("properties", {})
        }
        if any(
            re.search(r"password|secret|hash|ssn|national_id", key) for key in set(answer.json()) - declared
        ):
            found.add((m, p))
    return found


def probe_rate_limits(t: Target) -> set[Where]:
    found: set[Where] = set()
    login = {"username": "alice", "password": password_of("alice")}
    if all(t.http.post("/auth/login", json=login).status_code != 429 for _ in range(15)):
        found.add(("POST", "/auth/login"))
    alice = bearer(t.module.issue_token("alice"))
    if all(t.http.get("/documents", headers=alice).status_code != 429 for _ in range(15)):
        found.add(("GET", "/documents"))
    return found


def probe_admin_reachable(t: Target) -> set[Where]:
    admin_gets = (
        p
        for m, p, op in operations(t.spec)
        if m == "GET" and p.startswith("/admin/") and not required_parameters(op)
    )
    alice = t.auth("alice")
    return {("GET", p) for p in admin_gets if t.http.get(p, headers=alice).status_code == 200}


def probe_injection(t: Target) -> set[Where]:
    alice, admin, found = t.auth("alice"), t.auth("admin"), set[Where]()
    search = path_ending(t, "/employees/search")
    method = "GET" if "get" in t.spec["paths"][search] else "POST"

    def look_up(text: str) -> Response:
        if method == "GET":
            return t.http.get(search, params={"q": text}, headers=alice)
        return t.http.post(search, json={"name_contains": text}, headers=alice)

    baseline, quote, always_true = look_up("zz-nobody"), look_up("'"), look_up("zz-nobody' OR 1=1 --")
    assert baseline.status_code == 200 and items_in(baseline) == 0
    if (quote.status_code >= 500 and "sqlite3" in quote.text) or items_in(always_true) > 0:
        found.add((method, search))
    ping = path_ending(t, "/tools/ping")
    answer = t.http.get(ping, params={"host": "127.0.0.1; echo dw-$((40+2))-dw"}, headers=admin)
    if answer.status_code == 200 and "dw-42-dw" in answer.text:
        found.add(("GET", ping))
    return found


def probe_server_errors(t: Target) -> set[Where]:
    path = path_ending(t, "/reports/salary-bands")
    answer = t.http.get(path, params={"bands": 0}, headers=t.auth("alice"))
    return {("GET", path)} if answer.status_code >= 500 else set()


SHADOW_CANDIDATES = (
    "/debug/config",
    "/old/api/employees",
    "/admin/backup",
    "/debug",
    "/internal",
    "/docs",
    "/redoc",
)


def probe_shadow_endpoints(t: Target) -> set[Where]:
    undocumented = (p for p in SHADOW_CANDIDATES if p not in t.spec["paths"])
    return {("GET", p) for p in undocumented if t.http.get(p).status_code == 200}


LIVE_PROBES: dict[str, Callable[[Target], set[Where]]] = {
    "API1-BOLA": probe_bola,
    "API2-NO-TOKEN-ACCEPTED": probe_no_token,
    "API2-FORGED-TOKEN-ACCEPTED": probe_forged_tokens,
    "API2-TOKEN-IN-QUERY-ACCEPTED": probe_token_in_query,
    "API2-USER-ENUMERATION": probe_user_enumeration,
    "API3-MASS-ASSIGNMENT-ACCEPTED": probe_mass_assignment,
    "API3-EXCESSIVE-EXPOSURE": probe_excessive_exposure,
    "API4-NO-RATE-LIMIT-OBSERVED": probe_rate_limits,
    "API5-ADMIN-REACHABLE": probe_admin_reachable,
    "API8-INJECTION": probe_injection,
    "API8-SERVER-ERROR": probe_server_errors,
    "API9-SHADOW-ENDPOINT": probe_shadow_endpoints,
}
