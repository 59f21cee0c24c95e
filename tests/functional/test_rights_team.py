"""The privacy team answers data-subject requests through `/v1/rights-requests`, on both backends."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dataward.audit.verify import verify_log
from dataward.clock import FrozenClock
from dataward.keys import IntegrityError, field_aad
from dataward.keys.subject_keys import SubjectKeyStore
from dataward.storage import create_database_engine
from dataward.storage.tables import blind_indexes, field_values, subject_keys, subjects
from support import ApiClient

PROFILE = {
    "email": "grace@example.com",
    "full_name": "Grace Hopper",
    "phone": "+1 202 555 0143",
    "birth_date": "1906-12-09",
    "country": "us",
}
DAY = 86_400.0


def _open(api: ApiClient, kind: str, sid: str, **details: Any) -> dict[str, Any]:
    body = {"kind": kind, "subject_id": sid, "details": details}
    response = api.http.post("/v1/rights-requests", headers=api.auth("privacy-team"), json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _step(api: ApiClient, rid: str, step: str, role: str = "privacy-team", **body: Any) -> Any:
    return api.http.post(f"/v1/rights-requests/{rid}/{step}", headers=api.auth(role), json=body or None)


def _verified(api: ApiClient, kind: str, sid: str, **details: Any) -> str:
    rid: str = _open(api, kind, sid, **details)["id"]
    assert _step(api, rid, "verify").json()["state"] == "verified"
    return rid


def _read(api: ApiClient, sid: str, purpose: str, role: str) -> Any:
    return api.http.get(f"/v1/subjects/{sid}?purpose={purpose}", headers=api.auth(role))


def test_a_request_is_due_in_one_month_and_listed_when_overdue(api: ApiClient, clock: FrozenClock) -> None:
    sid = api.new_subject(PROFILE)
    opened = _open(api, "access", sid)
    assert opened["state"] == "received"
    assert opened["overdue"] is False
    received = opened["received_at"][:10]
    due = opened["due_at"][:10]
    assert (int(due[5:7]) - int(received[5:7])) % 12 == 1  # one calendar month later

    listing = api.http.get("/v1/rights-requests?state=overdue", headers=api.auth("privacy-team")).json()
    assert listing["requests"] == []
    clock.advance(32 * DAY)
    listing = api.http.get("/v1/rights-requests?state=overdue", headers=api.auth("privacy-team")).json()
    assert [r["id"] for r in listing["requests"]] == [opened["id"]]
    assert listing["requests"][0]["overdue"] is True


def test_an_extension_needs_a_reason_adds_at_most_two_months_and_only_in_time(
    api: ApiClient, clock: FrozenClock
) -> None:
    rid = _verified(api, "access", api.new_subject(PROFILE))
    assert _step(api, rid, "start").status_code == 200
    assert _step(api, rid, "extend", months=2).status_code == 422  # no reason
    extended = _step(api, rid, "extend", reason="many requests this month", months=2)
    assert extended.status_code == 200, extended.text
    assert extended.json()["state"] == "extended"
    again = _step(api, rid, "extend", reason="still busy", months=1)
    assert again.status_code == 422  # two further months at most, in all
    assert "two further months" in again.json()["detail"]

    topped = _verified(api, "access", api.new_subject(PROFILE))
    _step(api, topped, "start")
    assert _step(api, topped, "extend", reason="busy", months=1).status_code == 200
    assert _step(api, topped, "extend", reason="busier", months=1).status_code == 200

    late = _verified(api, "access", api.new_subject(PROFILE))
    _step(api, late, "start")
    clock.advance(40 * DAY)
    refused = _step(api, late, "extend", reason="too late", months=1)
    assert refused.status_code == 409
    assert "due date has passed" in refused.json()["detail"]


def test_erasure_waits_for_a_second_person_then_leaves_nothing_readable(
    api: ApiClient, tmp_path: Path
) -> None:
    sid = api.new_subject(PROFILE)
    other = api.new_subject({**PROFILE, "email": "someone@example.com"})
    engine = api.vault.engine
    backup = None
    if engine.dialect.name == "sqlite":  # the database file as a backup would copy it
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        backup = tmp_path / "backup.db"
        shutil.copy(engine.url.database or "", backup)
        data_key = api.vault.key_store.keys(sid).open_key(0)
        assert data_key is not None
        for ciphertext, aad in _sealed_in(backup, sid):  # before: the copy opens with the key
            assert json.loads(data_key.open_(ciphertext, aad))

    rid = _verified(api, "erasure", sid)
    waiting = _step(api, rid, "complete")
    assert waiting.json()["state"] == "awaiting_approval"
    assert _read(api, sid, "support", "support-agent").json()["data"] != {}  # nothing erased yet
    assert _step(api, rid, "approve").status_code == 403  # the handler cannot approve

    approved = _step(api, rid, "approve", role="privacy-lead")
    assert approved.status_code == 200, approved.text
    done = approved.json()
    assert done["state"] == "completed"
    assert done["approver"] != done["handler"]
    # invoicing (a legal obligation) keeps the name and country, restricted to that purpose
    assert done["details"]["kept"] == ["profile.country", "profile.full_name"]
    assert done["details"]["kept_for"] == ["invoicing"]
    assert set(done["details"]["removed"]) == {"profile.email", "profile.phone", "profile.birth_date"}

    support = _read(api, sid, "support", "support-agent").json()
    assert support["data"] == {}
    assert {"field": "profile.full_name", "reason": "erased"} in support["withheld"]
    kept = _read(api, sid, "invoicing", "accounting").json()
    assert kept["data"] == {"profile": {"full_name": "Grace Hopper", "country": "US"}}
    lookup = api.http.post(
        "/v1/subjects/lookup",
        headers=api.auth("support-agent"),
        json={"field": "profile.email", "value": PROFILE["email"], "purpose": "support"},
    )
    assert lookup.json()["ids"] == []
    with engine.connect() as connection:
        assert connection.execute(select(blind_indexes).where(blind_indexes.c.subject_id == sid)).all() == []
    assert _read(api, other, "support", "support-agent").json()["data"]["profile"]["email"] == (
        "someone@example.com"
    )  # the other subject is untouched

    if backup is not None:
        _backup_is_unreadable_for(api, backup, sid)
    assert verify_log(engine, api.vault.keyring.audit_verification_keys()).intact


def _sealed_in(backup: Path, sid: str) -> list[tuple[bytes, bytes]]:
    """(ciphertext, associated data) of the subject's erasable values in a copy of the database."""
    records = subjects.metadata.tables["records"]
    copy = create_database_engine(f"sqlite:///{backup}")
    with copy.connect() as connection:
        rows = connection.execute(
            select(field_values.c.ciphertext, field_values.c.field, records.c.id, records.c.collection)
            .select_from(field_values.join(records))
            .where(records.c.subject_id == sid, field_values.c.key_slot == 0)
        ).all()
    copy.dispose()
    return [(bytes(r.ciphertext), field_aad(sid, r.collection, r.field, r.id)) for r in rows]


def _backup_is_unreadable_for(api: ApiClient, backup: Path, sid: str) -> None:
    """The copy taken before the erasure still holds the ciphertext, but no key opens it any more."""
    sealed = _sealed_in(backup, sid)
    assert len(sealed) == 3  # email, phone, birth date were in the copy
    store: SubjectKeyStore = api.vault.key_store
    assert store.keys(sid).open_key(0) is None  # the key that sealed them is gone
    for other_sid in _all_subject_ids(store):  # ... and no key left in the store opens them
        for slot in (0, 1):
            key = store.keys(other_sid).open_key(slot)
            if key is None:
                continue
            for ciphertext, aad in sealed:
                with pytest.raises(IntegrityError):
                    key.open_(ciphertext, aad)
    raw = backup.read_bytes()
    assert PROFILE["email"].encode() not in raw and b"Grace" not in raw


def _all_subject_ids(store: SubjectKeyStore) -> list[str]:
    with store.engine.connect() as connection:
        return sorted(set(connection.execute(select(subject_keys.c.subject_id)).scalars()))


def test_erasing_a_subject_with_nothing_kept_removes_the_subject(api: ApiClient) -> None:
    sid = api.new_subject()
    api.http.put(f"/v1/subjects/{sid}/health", headers=api.auth("signup"), json={"allergies": "peanuts"})
    rid = _verified(api, "erasure", sid)
    _step(api, rid, "complete")
    done = _step(api, rid, "approve", role="privacy-lead").json()
    assert done["details"]["kept"] == []
    assert _read(api, sid, "support", "support-agent").status_code == 404
    with api.vault.key_store.engine.connect() as connection:
        assert connection.execute(select(subject_keys).where(subject_keys.c.subject_id == sid)).all() == []
    again = _step(api, rid, "approve", role="privacy-lead")
    assert again.status_code == 409  # a completed request is not carried out twice


def test_restriction_keeps_data_for_legal_claims_only(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    rid = _verified(api, "restriction", sid)
    assert _step(api, rid, "complete").json()["state"] == "completed"
    support = _read(api, sid, "support", "support-agent").json()
    assert support["data"] == {}
    assert {"field": "profile.email", "reason": "restricted"} in support["withheld"]
    claims = _read(api, sid, "disputes", "legal").json()
    assert claims["data"]["profile"]["email"] == PROFILE["email"]


def test_objection_stops_a_legitimate_interest_and_marketing(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    bad = _open_raw(api, "objection", sid, purposes=["billing"])  # a contract: no right to object
    assert bad.status_code == 422
    assert "billing" in json.dumps(bad.json()["errors"])
    rid = _verified(api, "objection", sid, purposes=["support", "marketing"])
    assert _step(api, rid, "complete").json()["state"] == "completed"
    support = _read(api, sid, "support", "support-agent").json()
    assert {"field": "profile.email", "reason": "objected"} in support["withheld"]
    assert _read(api, sid, "billing", "billing-service").json()["data"] != {}  # other purposes go on


def _open_raw(api: ApiClient, kind: str, sid: str, **details: Any) -> Any:
    body = {"kind": kind, "subject_id": sid, "details": details}
    return api.http.post("/v1/rights-requests", headers=api.auth("privacy-team"), json=body)


def test_access_report_and_export_hold_the_data_and_the_information(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    rid = _open(api, "access", sid)["id"]
    early = api.http.get(f"/v1/rights-requests/{rid}/report", headers=api.auth("privacy-team"))
    assert early.status_code == 409  # not verified yet
    _step(api, rid, "verify")
    report = api.http.get(f"/v1/rights-requests/{rid}/report", headers=api.auth("privacy-team")).json()
    assert report["data"]["profile"]["email"] == PROFILE["email"]
    assert report["information"]  # purposes, recipients, retention, rights: see the policy tests
    html = api.http.get(f"/v1/rights-requests/{rid}/report?format=html", headers=api.auth("privacy-team"))
    assert html.headers["content-type"].startswith("text/html")
    assert "Grace Hopper" in html.text

    pid = _verified(api, "portability", sid)
    exported = api.http.get(f"/v1/rights-requests/{pid}/export", headers=api.auth("privacy-team"))
    assert exported.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert sorted(archive.namelist()) == ["data.json", "profile.csv"]
        assert json.loads(archive.read("data.json"))["data"]["profile"]["full_name"] == "Grace Hopper"
        assert "grace@example.com" in archive.read("profile.csv").decode()
    wrong = api.http.get(f"/v1/rights-requests/{rid}/export", headers=api.auth("privacy-team"))
    assert wrong.status_code == 409  # an access request has a report, not an export


def test_only_the_privacy_team_handles_requests(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    body = {"kind": "access", "subject_id": sid}
    refused = api.http.post("/v1/rights-requests", headers=api.auth("support-agent"), json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    unknown = {"kind": "access", "subject_id": "00000000-0000-4000-8000-000000000000"}
    assert (
        api.http.post("/v1/rights-requests", headers=api.auth("privacy-team"), json=unknown).status_code
        == 404
    )
    bad_kind = api.http.post(
        "/v1/rights-requests", headers=api.auth("privacy-team"), json={"kind": "forget", "subject_id": sid}
    )
    assert bad_kind.status_code == 422
    missing = api.http.get("/v1/rights-requests/not-an-id", headers=api.auth("privacy-team"))
    assert missing.status_code == 404


def test_every_state_change_is_audited(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    rid = _verified(api, "restriction", sid)
    _step(api, rid, "complete")
    entries = api.vault.audit.entries(subject_id=sid, limit=1000)
    actions = [e.action for e in entries]
    assert actions.count("rights:request:open") == 1
    assert actions.count("rights:request:move") == 1  # verified
    assert actions.count("rights:request:carry_out") == 1
    detail = api.http.get(f"/v1/rights-requests/{rid}", headers=api.auth("privacy-team")).json()
    assert [h["state"] for h in detail["history"]] == ["received", "verified", "completed"]
    for entry in entries:
        assert PROFILE["email"] not in json.dumps(entry.as_dict())


def test_a_request_that_arrived_earlier_is_due_a_month_after_it_arrived(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    arrived = "2026-01-31T09:00:00+00:00"  # a letter, entered in the tool later
    body = {"kind": "access", "subject_id": sid, "received_at": arrived}
    opened = api.http.post("/v1/rights-requests", headers=api.auth("privacy-team"), json=body).json()
    read = api.http.get(f"/v1/rights-requests/{opened['id']}", headers=api.auth("privacy-team")).json()
    assert read["received_at"] == opened["received_at"] == arrived
    assert read["due_at"] == "2026-02-28T09:00:00+00:00"
    future = {**body, "received_at": "2999-01-01T00:00:00+00:00"}
    assert (
        api.http.post("/v1/rights-requests", headers=api.auth("privacy-team"), json=future).status_code == 422
    )


def test_a_restriction_is_lifted_with_a_reason_and_reads_resume(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    rid = _verified(api, "restriction", sid)
    _step(api, rid, "complete")
    assert _read(api, sid, "support", "support-agent").json()["data"] == {}
    assert _step(api, rid, "lift").status_code == 422  # say why (and tell the subject first)
    lifted = _step(api, rid, "lift", reason="accuracy verified; subject told on 2026-11-26")
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["details"]["lift_reason"].startswith("accuracy verified")
    assert _read(api, sid, "support", "support-agent").json()["data"]["profile"]["email"] == PROFILE["email"]
    assert _step(api, rid, "lift", reason="again").status_code == 409
    access = _verified(api, "access", sid)
    assert _step(api, access, "lift", reason="wrong kind").status_code == 409
