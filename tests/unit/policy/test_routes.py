"""`GET /v1/ropa`: the records of processing over HTTP, for `records.read` only, and audited."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from dataward.audit import AuditAction
from dataward.policy import Policy, load_policy
from support import ApiClient

POLICY = Path(__file__).resolve().parent / "data" / "records.yaml"
KEEPER = "records-keeper"  # the test policy's role with records.read and nothing else
PURPOSES = ["billing", "marketing", "support", "care"]  # the test policy's, in file order


@pytest.fixture
def policy() -> Policy:
    """The vault behind `api` runs on the test policy, not on the (growing) example."""
    return load_policy(POLICY)


def _ropa_entries(api: ApiClient) -> list[Any]:
    return [e for e in api.vault.audit.entries(limit=1000) if e.action == AuditAction.RECORDS_READ]


def test_the_records_come_as_json_by_default_and_the_read_is_audited(api: ApiClient) -> None:
    headers = api.auth(KEEPER)
    response = api.http.get("/v1/ropa", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["controller"]["dpo_contact"] == "dpo@example.com"
    assert [a["purpose"] for a in data["processing_activities"]] == PURPOSES

    (entry,) = _ropa_entries(api)
    assert entry.outcome == "allowed" and entry.client_id == api.credentials[KEEPER].id
    assert entry.action == "policy:records:read"


def test_markdown_and_csv_have_their_media_types(api: ApiClient) -> None:
    headers = api.auth(KEEPER)
    markdown = api.http.get("/v1/ropa", params={"format": "md"}, headers=headers)
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Records of processing activities")

    table = api.http.get("/v1/ropa", params={"format": "csv"}, headers=headers)
    assert table.status_code == 200
    assert table.headers["content-type"].startswith("text/csv")
    assert "attachment" in table.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["purpose"] for r in rows] == PURPOSES
    assert len(_ropa_entries(api)) == 2


def test_a_caller_without_records_read_is_refused_and_the_refusal_audited(api: ApiClient) -> None:
    response = api.http.get("/v1/ropa", headers=api.auth("support-agent"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 403
    assert "Invoice customers" not in response.text
    (entry,) = _ropa_entries(api)
    assert entry.outcome == "denied"


def test_an_unknown_format_is_a_422_problem(api: ApiClient) -> None:
    response = api.http.get("/v1/ropa", params={"format": "xml"}, headers=api.auth(KEEPER))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert _ropa_entries(api) == []


def test_an_anonymous_caller_is_refused(api: ApiClient) -> None:
    response = api.http.get("/v1/ropa")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
