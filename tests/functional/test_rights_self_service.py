"""A data subject exercises every right through `/v1/me`, signed in by a one-time code."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

from dataward.audit.query import AccessWindow, touched_by
from support import ApiClient

PROFILE = {
    "email": "ada@example.com",
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0958",
    "country": "gb",
}
OTHER = {"email": "charles@example.com", "full_name": "Charles Babbage", "country": "gb"}


def _read(api: ApiClient, sid: str, purpose: str, role: str) -> Any:
    return api.http.get(f"/v1/subjects/{sid}?purpose={purpose}", headers=api.auth(role)).json()


def test_the_report_holds_my_data_and_what_is_done_with_it(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    api.new_subject(OTHER)
    me = api.subject_auth(PROFILE["email"])
    report = api.http.get("/v1/me/report", headers=me)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["subject_id"] == sid
    assert body["data"]["profile"]["full_name"] == "Ada Lovelace"
    assert "Charles" not in report.text  # only my own data
    information = body["information"]
    assert information  # purposes, legal bases, recipients, retention, rights (see the policy tests)
    html = api.http.get("/v1/me/report?format=html", headers=me)
    assert html.headers["content-type"].startswith("text/html") and "Ada Lovelace" in html.text

    exported = api.http.get("/v1/me/export", headers=me)
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert json.loads(archive.read("data.json"))["data"]["profile"]["email"] == PROFILE["email"]
    mine = api.http.get("/v1/me/requests", headers=me).json()["requests"]
    assert sorted(r["kind"] for r in mine) == ["access", "access", "portability"]
    assert all(r["state"] == "completed" and "handler" not in r for r in mine)


def test_rectification_changes_only_the_fields_given(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    me = api.subject_auth(PROFILE["email"])
    fixed = api.http.patch("/v1/me/profile", headers=me, json={"full_name": "Augusta Ada King"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["kind"] == "rectification" and fixed.json()["details"]["fields"] == [
        "profile.full_name"
    ]
    data = _read(api, sid, "support", "support-agent")["data"]["profile"]
    assert data["full_name"] == "Augusta Ada King" and data["phone"] == "+442079460958"  # kept as stored
    bad = api.http.patch("/v1/me/profile", headers=me, json={"email": "not an address"})
    assert bad.status_code == 422
    assert "not an address" not in bad.text  # the error names the field, never echoes the value
    assert _read(api, sid, "support", "support-agent")["data"]["profile"]["email"] == PROFILE["email"]


def test_restriction_objection_and_consent(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    me = api.subject_auth(PROFILE["email"])
    given = api.http.post(
        "/v1/me/consents", headers=me, json={"purpose": "marketing", "notice_version": "2026-01"}
    )
    assert given.status_code == 201
    assert _read(api, sid, "marketing", "newsletter")["data"] != {}
    objected = api.http.post("/v1/me/objections", headers=me, json={"purpose": "marketing"})
    assert objected.json()["state"] == "completed"
    after = _read(api, sid, "marketing", "newsletter")
    assert after["data"] == {}  # an objection to direct marketing is absolute, consent or not
    assert {"field": "profile.email", "reason": "objected"} in after["withheld"]
    refused = api.http.post("/v1/me/objections", headers=me, json={"purpose": "billing"})
    assert refused.status_code == 422  # a contract: nothing to object to

    assert api.http.post("/v1/me/restriction", headers=me).json()["state"] == "completed"
    assert _read(api, sid, "billing", "billing-service")["data"] == {}
    assert _read(api, sid, "disputes", "legal")["data"] != {}
    withdrawn = api.http.delete("/v1/me/consents/marketing", headers=me)
    assert withdrawn.json()["status"] == "withdrawn"


def test_erasure_waits_for_the_privacy_team_then_my_token_finds_little(api: ApiClient) -> None:
    api.new_subject(PROFILE)
    me = api.subject_auth(PROFILE["email"])
    asked = api.http.post("/v1/me/erasure", headers=me)
    assert asked.status_code == 202
    assert asked.json()["state"] == "awaiting_approval"
    rid = asked.json()["id"]
    done = api.http.post(f"/v1/rights-requests/{rid}/approve", headers=api.auth("privacy-lead"))
    assert done.json()["state"] == "completed"
    report = api.http.get("/v1/me/report", headers=me).json()
    assert report["data"] == {"profile": {"full_name": "Ada Lovelace", "country": "GB"}}  # kept: invoicing
    again = api.http.post("/v1/me/challenges", json={"field": "profile.email", "value": PROFILE["email"]})
    assert again.status_code == 202
    assert len(api.vault.notifier.sent) == 1  # type: ignore[attr-defined]  # no code: nobody has it


def test_a_subject_token_reaches_only_its_subject(api: ApiClient) -> None:
    ada = api.new_subject(PROFILE)
    charles = api.new_subject(OTHER)
    me = api.subject_auth(PROFILE["email"])
    assert api.http.get(f"/v1/subjects/{charles}?purpose=support", headers=me).status_code == 403
    assert api.http.get(f"/v1/subjects/{ada}?purpose=support", headers=me).status_code == 403
    assert api.http.get("/v1/rights-requests", headers=me).status_code == 403
    assert api.http.get("/v1/me/report", headers=api.auth("support-agent")).status_code == 403
    forged = {"Authorization": me["Authorization"][:-4] + "AAAA"}
    assert api.http.get("/v1/me/report", headers=forged).status_code == 401
    assert api.http.get("/v1/me/report").status_code == 401


def test_what_a_stolen_subject_token_read_is_sized_like_any_other_access(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    me = api.subject_auth(PROFILE["email"])
    api.http.get("/v1/me/report", headers=me)
    api.http.patch("/v1/me/profile", headers=me, json={"full_name": "A. Lovelace"})
    [entry] = [
        e for e in api.vault.audit.entries(subject_id=sid, limit=100) if e.action == "rights:report:read"
    ]
    assert entry.token_id is not None
    now = api.vault.clock.now()
    window = AccessWindow(None, entry.token_id, now - timedelta(minutes=5), now + timedelta(minutes=5))
    with api.vault.engine.connect() as connection:
        reach = touched_by(connection, window, subject_ids=True)
    assert reach.subject_ids == (sid,)
    assert "profile.full_name" in {f.field for f in reach.fields}


def test_sign_in_fields_are_changed_by_the_team_and_an_erased_subject_changes_nothing(api: ApiClient) -> None:
    api.new_subject(PROFILE)
    me = api.subject_auth(PROFILE["email"])
    moved = api.http.patch("/v1/me/profile", headers=me, json={"email": "thief@example.net"})
    assert moved.status_code == 422
    assert moved.json()["errors"][0]["path"] == "email"
    assert "thief" not in moved.text
    rid = api.http.post("/v1/me/erasure", headers=me).json()["id"]
    api.http.post(f"/v1/rights-requests/{rid}/approve", headers=api.auth("privacy-lead"))
    consent = {"purpose": "marketing", "notice_version": "2026-01"}
    assert api.http.post("/v1/me/consents", headers=me, json=consent).status_code == 409
    assert api.http.post("/v1/me/restriction", headers=me).status_code == 409
    assert api.http.get("/v1/me/report", headers=me).status_code == 200  # what is kept, they may see


def test_the_report_lists_apart_the_purposes_my_choices_stopped(api: ApiClient) -> None:
    api.new_subject(PROFILE)
    me = api.subject_auth(PROFILE["email"])
    api.http.post("/v1/me/objections", headers=me, json={"purpose": "support"})
    information = api.http.get("/v1/me/report", headers=me).json()["information"]
    going_on = {p["purpose"] for p in information["purposes"]}
    stopped = {s["purpose"]: s["reason"] for s in information["stopped_purposes"]}
    assert stopped["support"] == "objected" and stopped["marketing"] == "no_consent"
    assert "support" not in going_on and "billing" in going_on
    html = api.http.get("/v1/me/report?format=html", headers=me).text
    assert "Not used any more" in html and "objected" in html
