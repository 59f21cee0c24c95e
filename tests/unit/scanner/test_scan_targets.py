"""The scan targets: each flaw the vulnerable Acme HR plants is really there, and the clean twin has
none of them.

Spec flaws are looked for in `create_app().openapi()` by a reference check per rule
(`scan_targets.spec_checks`, a plain reading of the rule, not the scanner's code); live flaws by a
probe per rule against the running app (`scan_targets.live_probes`). The manifest says where each
must show in the vulnerable app; the clean app must show none.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dataward.scanner.catalogue import RULES
from scan_targets import clean_api, manifest, vulnerable_api
from scan_targets.live_probes import (
    LIVE_PROBES,
    Target,
    TargetModule,
    bearer,
    forgeries,
    password_of,
    running_target,
)
from scan_targets.manifest import Planted
from scan_targets.spec_checks import PROBLEM_JSON, SPEC_CHECKS, Document, operations
from support import free_port, running

SCAN_TARGETS = Path(__file__).resolve().parents[2] / "scan_targets"


@pytest.fixture
def vulnerable() -> Iterator[Target]:
    with running_target(vulnerable_api, raise_server_exceptions=False) as target:  # it has 500s to show
        yield target


@pytest.fixture
def clean() -> Iterator[Target]:
    with running_target(clean_api, raise_server_exceptions=True) as target:  # an exception fails the test
        yield target


@pytest.fixture(scope="module")
def vulnerable_spec() -> Document:
    return vulnerable_api.create_app().openapi()


@pytest.fixture(scope="module")
def clean_spec() -> Document:
    return clean_api.create_app().openapi()


def planted_id(planted: Planted) -> str:
    return f"{planted.rule_id} {planted.method} {planted.path}"


@pytest.mark.parametrize("planted", manifest.VULNERABLE_SPEC_FLAWS, ids=planted_id)
def test_each_planted_spec_flaw_shows_in_the_vulnerable_document(
    planted: Planted, vulnerable_spec: Document
) -> None:
    assert (planted.method, planted.path) in SPEC_CHECKS[planted.rule_id](vulnerable_spec)


@pytest.mark.parametrize("rule_id", sorted(SPEC_CHECKS))
def test_the_clean_document_has_no_spec_flaw(rule_id: str, clean_spec: Document) -> None:
    assert SPEC_CHECKS[rule_id](clean_spec) == set()


def test_the_clean_document_declares_what_a_careful_team_would(clean_spec: Document) -> None:
    scheme = clean_spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["x-token-lifetime"] == 900
    assert [s["url"] for s in clean_spec["servers"]] == ["https://api.acme.example"]
    sick_leave = clean_spec["paths"]["/employees/{employee_id}/sick-leave"]["post"]
    assert sick_leave["x-dataward-purpose"] == "sick-leave"
    export = clean_spec["paths"]["/admin/employees/export"]["get"]
    assert export["security"] == [{"bearerAuth": ["admin"]}]
    limit = next(p for p in export["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100
    callback_url = clean_spec["components"]["schemas"]["WebhookIn"]["properties"]["callback_url"]
    assert callback_url["pattern"].startswith(r"^https://hooks\.acme\.example/")


# -- the manifest itself --------------------------------------------------------------------------


def test_the_manifest_names_real_rules_and_real_operations(vulnerable_spec: Document) -> None:
    documented = {(m, p) for m, p, _ in operations(vulnerable_spec)}
    for planted in (*manifest.VULNERABLE_SPEC_FLAWS, *manifest.VULNERABLE_LIVE_FLAWS):
        assert planted.rule_id in RULES, planted
        assert (planted.method is None) == (planted.path is None), planted
        if planted.method is None:
            continue
        assert planted.method == planted.method.upper()
        shadow = planted.rule_id == "API9-SHADOW-ENDPOINT"
        assert ((planted.method, planted.path) in documented) != shadow, planted
    assert manifest.CLEAN_SPEC_FLAWS == manifest.CLEAN_LIVE_FLAWS == ()


def test_every_rule_but_two_is_planted_and_checked_here() -> None:
    spec_rules = {p.rule_id for p in manifest.VULNERABLE_SPEC_FLAWS}
    live_rules = {p.rule_id for p in manifest.VULNERABLE_LIVE_FLAWS}
    assert spec_rules | live_rules == set(RULES) - {"API9-NO-SERVERS", "SPEC-UNRESOLVED-REF"}
    assert spec_rules | {"API9-NO-SERVERS", "SPEC-UNRESOLVED-REF"} == set(SPEC_CHECKS)
    assert live_rules == set(LIVE_PROBES)


def test_the_plants_comments_and_the_manifest_agree() -> None:
    def rule_ids(prefix: str) -> set[str]:
        found: set[str] = set()
        for module in SCAN_TARGETS.glob(f"{prefix}*.py"):
            for line in module.read_text().splitlines():
                if "plants:" in line:
                    found |= set(re.findall(r"\b(?:API\d|GDPR)-[A-Z0-9-]+[A-Z0-9]", line.split("plants:")[1]))
        return found

    planted = {p.rule_id for p in (*manifest.VULNERABLE_SPEC_FLAWS, *manifest.VULNERABLE_LIVE_FLAWS)}
    assert rule_ids("vulnerable_api") | rule_ids("_vulnerable_") == planted
    assert rule_ids("clean_api") | rule_ids("_clean_") == set()


@pytest.mark.parametrize("rule_id", sorted(LIVE_PROBES))
def test_each_planted_live_flaw_is_there_in_the_vulnerable_app(rule_id: str, vulnerable: Target) -> None:
    planted = {(p.method, p.path) for p in manifest.VULNERABLE_LIVE_FLAWS if p.rule_id == rule_id}
    assert planted <= LIVE_PROBES[rule_id](vulnerable)


@pytest.mark.parametrize("rule_id", sorted(LIVE_PROBES))
def test_the_clean_app_shows_no_live_flaw(rule_id: str, clean: Target) -> None:
    assert LIVE_PROBES[rule_id](clean) == set()


# -- details the probes do not look at ------------------------------------------------------------


def test_vulnerable_neighbouring_ids_are_readable(vulnerable: Target) -> None:
    bob = vulnerable.auth("bob")
    alices = vulnerable.http.get("/documents/1", headers=bob)
    assert alices.status_code == 200
    assert alices.json()["owner"] == "alice"


@pytest.mark.parametrize("forgery", ["alg none", "weak secret", "expired", "altered signature"])
def test_each_forgery_passes_the_vulnerable_app_and_no_clean_route(
    forgery: str, vulnerable: Target, clean: Target
) -> None:
    vulnerable_path = "/users/me" if forgery == "altered signature" else "/documents"
    token = forgeries(vulnerable, vulnerable.login("alice"))[forgery]
    assert vulnerable.http.get(vulnerable_path, headers=bearer(token)).status_code == 200
    token = forgeries(clean, clean.login("alice"))[forgery]
    for path in ("/documents", "/users/me"):
        answer = clean.http.get(path, headers=bearer(token))
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"


def test_vulnerable_cors_lets_any_site_read_with_credentials(vulnerable: Target) -> None:
    answer = vulnerable.http.get("/health", headers={"Origin": "https://evil.example"})
    assert answer.headers["access-control-allow-origin"] == "https://evil.example"
    assert answer.headers["access-control-allow-credentials"] == "true"


def test_clean_cors_allows_its_own_site_only(clean: Target) -> None:
    assert (
        "access-control-allow-origin"
        not in clean.http.get("/health", headers={"Origin": "https://evil.example"}).headers
    )
    own = clean.http.get("/health", headers={"Origin": "https://hr.acme.example"})
    assert own.headers["access-control-allow-origin"] == "https://hr.acme.example"


def test_clean_errors_are_problems(clean: Target) -> None:
    alice = clean.auth("alice")
    for answer, status in (
        (clean.http.get("/reports/salary-bands", params={"bands": 0}, headers=alice), 422),
        (clean.http.patch("/users/me", json={"display_name": "A", "is_admin": True}, headers=alice), 422),
        (clean.http.get("/documents"), 401),
        (clean.http.get("/admin/users", headers=alice), 403),
        (clean.http.get("/documents/00000000-0000-4000-8000-000000000000", headers=alice), 404),
        (clean.http.get("/debug/config"), 404),
    ):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == PROBLEM_JSON
        assert answer.json()["status"] == status


def test_clean_rate_limit_answers_429_with_retry_after(clean: Target) -> None:
    login = {"username": "bob", "password": password_of("bob")}
    answers = [clean.http.post("/auth/login", json=login) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert int(answers[-1].headers["retry-after"]) > 0
    assert "ratelimit" in answers[-1].headers


def test_clean_objects_of_others_are_not_found_and_admins_pass(clean: Target) -> None:
    alice, bob, admin = clean.auth("alice"), clean.auth("bob"), clean.auth("admin")
    alices_employee_id = clean.http.get("/users/me", headers=alice).json()["employee_id"]
    assert clean.http.get(f"/employees/{alices_employee_id}", headers=alice).status_code == 200
    assert clean.http.get(f"/employees/{alices_employee_id}", headers=bob).status_code == 404
    assert clean.http.get(f"/employees/{alices_employee_id}", headers=admin).status_code == 200
    assert clean.http.get("/admin/users", headers=admin).status_code == 200


@pytest.mark.parametrize("module", [vulnerable_api, clean_api], ids=["vulnerable", "clean"])
def test_tokens_from_issue_token_and_from_login_both_work(module: TargetModule) -> None:
    with running_target(module, raise_server_exceptions=True) as target:
        for username in ("alice", "bob", "admin"):
            answer = target.http.get("/users/me", headers=bearer(module.issue_token(username)))
            assert answer.status_code == 200
            assert answer.json()["username"] == username
        assert target.http.get("/users/me", headers=target.auth("bob")).json()["username"] == "bob"
    with pytest.raises(ValueError, match="no demo account"):
        module.issue_token("mallory")


@pytest.mark.parametrize("name", ["vulnerable_api", "clean_api"])
def test_each_app_serves_itself_on_localhost(name: str, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, str(SCAN_TARGETS / f"{name}.py"), "--port", str(port)]
    with running(command, dict(os.environ), f"http://127.0.0.1:{port}/health", tmp_path / "server.log"):
        document = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
    assert document["info"]["title"] == "Acme HR"
    assert ("/v1/directory" in document["paths"]) == (name == "vulnerable_api")
