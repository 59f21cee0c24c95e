"""Anomaly response through the vault's API: a client that starts reading like a thief is alerted
on, throttled, then cut off and suspended on its own, and stays so until a person reinstates it;
a burst of failed calls is throttled. Every step is audited without a subject id or a value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dataward.app import create_app
from dataward.guard.service import Guard
from dataward.policy.edge import AnomalyRules
from dataward.services import Vault
from dataward.storage.tables import audit_entries
from support import ApiClient

# A new client, still learning, is allowed 8 distinct subjects (100 records) an hour: suspended at 20.
RULES = AnomalyRules(
    learning_subjects_per_hour=8,
    learning_records_per_hour=100,
    failures_alert_per_minute=5,
    failures_throttle_per_minute=8,
    throttle_to="10/minute",
)


@pytest.fixture
def watched(vault: Vault) -> Iterator[ApiClient]:
    policy = vault.policy.model_copy(update={"anomaly": RULES})
    object.__setattr__(vault, "policy", policy)
    guard = Guard.build(vault.settings, policy, vault.clock, vault.engine, vault.audit,
                        vault.revocations, vault.clients.suspend)  # fmt: skip
    object.__setattr__(vault, "guard", guard)
    with TestClient(create_app(vault, access_log=False)) as http:
        yield ApiClient(http=http, vault=vault)


def _guard_entries(vault: Vault) -> list[tuple[str, str, str | None, str | None]]:
    with vault.engine.connect() as connection:
        rows = connection.execute(
            select(audit_entries.c.action, audit_entries.c.client_id, audit_entries.c.subject_id,
                   audit_entries.c.reason).where(audit_entries.c.action.like("guard:%")).order_by(audit_entries.c.seq)
        ).all()  # fmt: skip
    return [tuple(row) for row in rows]


def test_a_client_reading_like_a_thief_is_suspended_before_it_takes_much(watched: ApiClient) -> None:
    vault = watched.vault
    subjects = [watched.new_subject({"email": f"person{i}@example.com"}) for i in range(40)]
    thief = watched.register("support-agent")
    headers = watched.auth("support-agent")
    statuses = []
    for sid in subjects:
        answer = watched.http.get(f"/v1/subjects/{sid}", params={"purpose": "support"}, headers=headers)
        statuses.append(answer.status_code)
        if answer.status_code != 200:
            break
    taken = statuses.count(200)
    assert 8 <= taken < 30, statuses  # alerted from 8, cut off by 20 (2.5 x the allowance)
    assert statuses[-1] == 403
    assert answer.json()["type"] == "urn:dataward:problem:client-suspended"
    # its live token is dead, and it cannot get a new one until a person reinstates it
    again = watched.http.get(f"/v1/subjects/{subjects[0]}", params={"purpose": "support"}, headers=headers)
    assert again.status_code == 401
    form = {"grant_type": "client_credentials", "client_id": thief.id, "client_secret": thief.secret}
    assert watched.http.post("/oauth/token", data=form).status_code == 401
    entries = _guard_entries(vault)
    actions = [e[0] for e in entries]
    assert actions[:3] == ["guard:anomaly:alert", "guard:anomaly:throttle", "guard:anomaly:suspend"]
    assert all(client == thief.id and subject is None for _, client, subject, _ in entries)
    assert all(sid not in (reason or "") for sid in subjects for *_, reason in entries)
    assert all("example.com" not in (reason or "") for *_, reason in entries)
    metrics = watched.http.get("/metrics").text
    assert 'dataward_anomalies_total{kind="reads",level="suspend",service="vault"} 1.0' in metrics
    # a person reinstates it: it may ask for tokens again
    assert vault.clients.reinstate(thief.id)
    assert watched.http.post("/oauth/token", data=form).status_code == 200


def test_an_ordinary_client_is_left_alone(watched: ApiClient) -> None:
    subjects = [watched.new_subject({"email": f"calm{i}@example.com"}) for i in range(5)]
    headers = watched.auth("support-agent")
    for _ in range(3):
        for sid in subjects:  # the same five, again and again
            answer = watched.http.get(f"/v1/subjects/{sid}", params={"purpose": "support"}, headers=headers)
            assert answer.status_code == 200
    assert _guard_entries(watched.vault) == []


def test_a_burst_of_failures_from_an_address_is_alerted_and_throttled(watched: ApiClient) -> None:
    forged = {"Authorization": "Bearer not.a.token"}
    statuses = [watched.http.get("/v1/ropa", headers=forged).status_code for _ in range(12)]
    assert set(statuses) == {401}
    actions = [e[0] for e in _guard_entries(watched.vault)]
    assert actions == ["guard:failures:alert", "guard:failures:throttle"]
    # the address is now held to the throttle rate on calls without a token
    limited = watched.http.get("/.well-known/jwks.json")
    assert limited.headers["RateLimit-Policy"].startswith('"throttle";q=10;w=60')
