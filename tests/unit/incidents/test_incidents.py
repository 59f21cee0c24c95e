"""The breach register over HTTP: opening an incident sizes the breach from the audit log, the
72-hour clock runs on the injected clock, only roles with `incidents` may use it, every call is
audited without naming the breach's subjects, and bad input is a problem that says what is wrong."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

import pytest

from dataward.audit import AuditEntry
from dataward.clock import FrozenClock
from dataward.policy import Action, Policy, Role
from dataward.services import Vault
from support import ApiClient

HOURS_72 = 72 * 3600
PROFILE = {"email": "ada@example.org", "full_name": "Ada Example", "country": "DE"}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="session")
def policy(policy: Policy) -> Policy:
    """The example policy plus a privacy-team role that may run the breach register."""
    dpo = Role(description="The privacy team", actions=[Action.INCIDENTS])
    return policy.model_copy(update={"roles": {**policy.roles, "dpo": dpo}})


class Response(Protocol):
    """What these tests read from a TestClient response (whichever httpx package it is built on)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    jti: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    return jti


def _read(api: ApiClient, token: str, subject_id: str, purpose: str = "support") -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return api.http.get(
        f"/v1/subjects/{subject_id}", params={"purpose": purpose}, headers=headers
    ).status_code


def _open(api: ApiClient, clock: FrozenClock, **body: Any) -> Response:
    body.setdefault("title", "Support token leaked in a log file")
    body.setdefault("window_from", _iso(clock.now() - timedelta(hours=1)))
    body.setdefault("window_to", _iso(clock.now()))
    response: Response = api.http.post("/v1/incidents", json=body, headers=api.auth("dpo"))
    return response


def _incident_entries(vault: Vault) -> list[AuditEntry]:
    return [e for e in vault.audit.entries(limit=1000) if e.action.startswith("incidents:")]


def _fields(sizing: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {f["field"]: (f["entries"], f["subjects"]) for f in sizing["fields"]}


def test_opening_sizes_what_the_token_touched_and_starts_the_clock(
    api: ApiClient, clock: FrozenClock
) -> None:
    s1, s2, s3 = (api.new_subject(PROFILE) for _ in range(3))
    clock.advance(60)
    start = clock.now()
    leaked = api.token("support-agent")
    clock.advance(1)
    assert _read(api, leaked, s1) == 200 and _read(api, leaked, s2) == 200
    assert _read(api, leaked, s1) == 200  # one subject read twice
    assert _read(api, leaked, s3, purpose="marketing") == 403  # refused: an attempt, not a touch
    assert _read(api, api.token("billing-service"), s3, purpose="billing") == 200  # another client
    clock.advance(1)
    end = clock.now()
    clock.advance(60)
    assert _read(api, leaked, s3) == 200  # after the window

    opened = _open(api, clock, token_id=_jti(leaked), window_from=_iso(start), window_to=_iso(end))

    assert opened.status_code == 201, opened.text
    incident = opened.json()
    sizing = incident["sizing"]
    assert sizing["affected_subjects"] == 2
    assert _fields(sizing) == {f"profile.{name}": (3, 2) for name in PROFILE}
    email = next(f for f in sizing["fields"] if f["field"] == "profile.email")
    assert email["category"] == "user.contact.email" and email["special_category"] is False
    assert sizing["entries"] == 3 and sizing["attempts"] == 1
    assert sizing["subject_ids"] is None  # ids only when asked for
    assert incident["status"] == "open" and incident["token_id"] == _jti(leaked)
    now = clock.now()
    assert _moment(incident["aware_at"]) == now
    assert _moment(incident["clock"]["deadline"]) == now + timedelta(hours=72)
    assert incident["clock"]["seconds_remaining"] == HOURS_72 and incident["clock"]["overdue"] is False


def test_a_look_recomputes_the_size_and_can_list_the_subjects(api: ApiClient, clock: FrozenClock) -> None:
    s1, s2, s3 = (api.new_subject(PROFILE) for _ in range(3))
    support = api.register("support-agent")
    clock.advance(1)
    assert _read(api, api.token("support-agent"), s1) == 200
    opened = _open(api, clock, client_id=support.id, window_to=_iso(clock.now() + timedelta(hours=1)))
    assert opened.json()["sizing"]["affected_subjects"] == 1
    incident_id = opened.json()["id"]

    clock.advance(60)  # still inside the window: the breach goes on
    assert _read(api, api.token("support-agent"), s2) == 200
    assert _read(api, api.token("billing-service"), s3, purpose="billing") == 200  # another client

    shown = api.http.get(f"/v1/incidents/{incident_id}", headers=api.auth("dpo"))
    assert shown.status_code == 200 and shown.json()["sizing"]["affected_subjects"] == 2
    assert shown.json()["sizing"]["subject_ids"] is None
    listed = api.http.get(
        f"/v1/incidents/{incident_id}", params={"subject_ids": "true"}, headers=api.auth("dpo")
    )
    assert listed.json()["sizing"]["subject_ids"] == sorted([s1, s2])


def test_the_clock_counts_down_on_the_injected_clock_and_turns_overdue_after_72_hours(
    api: ApiClient, clock: FrozenClock
) -> None:
    incident_id = _open(api, clock, client_id="dw_someone").json()["id"]

    def clock_now() -> dict[str, Any]:
        shown = api.http.get(f"/v1/incidents/{incident_id}", headers=api.auth("dpo"))
        assert shown.status_code == 200, shown.text
        return dict(shown.json()["clock"])

    clock.advance(3600)
    assert (clock_now()["seconds_remaining"], clock_now()["overdue"]) == (HOURS_72 - 3600, False)
    clock.advance(HOURS_72 - 3600 - 1)
    assert (clock_now()["seconds_remaining"], clock_now()["overdue"]) == (1, False)
    clock.advance(1)  # exactly 72 hours: due now, not yet late
    assert (clock_now()["seconds_remaining"], clock_now()["overdue"]) == (0, False)
    clock.advance(1)
    assert (clock_now()["seconds_remaining"], clock_now()["overdue"]) == (0, True)

    listed = api.http.get("/v1/incidents", headers=api.auth("dpo")).json()["incidents"]
    assert [(i["id"], i["clock"]["overdue"]) for i in listed] == [(incident_id, True)]


def test_notifying_the_authority_stops_the_clock(api: ApiClient, clock: FrozenClock) -> None:
    on_time = _open(api, clock, client_id="dw_a").json()["id"]
    late = _open(api, clock, client_id="dw_b").json()["id"]
    clock.advance(3600)
    told = clock.now()
    patched = api.http.patch(
        f"/v1/incidents/{on_time}", json={"notified_at": _iso(told)}, headers=api.auth("dpo")
    )
    assert patched.status_code == 200, patched.text
    assert _moment(patched.json()["notified_at"]) == told
    assert patched.json()["clock"]["seconds_remaining"] is None

    clock.advance(HOURS_72)
    again = api.http.patch(
        f"/v1/incidents/{on_time}", json={"notified_at": _iso(told)}, headers=api.auth("dpo")
    )
    assert again.status_code == 200  # saying it again changes nothing
    shown = api.http.get(f"/v1/incidents/{on_time}", headers=api.auth("dpo")).json()
    assert shown["clock"]["overdue"] is False and _moment(shown["clock"]["stopped_at"]) == told

    late_told = api.http.patch(
        f"/v1/incidents/{late}", json={"notified_at": _iso(clock.now())}, headers=api.auth("dpo")
    )
    assert late_told.json()["clock"]["overdue"] is True  # told after the deadline

    moved = api.http.patch(
        f"/v1/incidents/{on_time}",
        json={"notified_at": _iso(told + timedelta(minutes=5))},
        headers=api.auth("dpo"),
    )
    assert moved.status_code == 409 and moved.headers["content-type"] == PROBLEM


def test_the_list_shows_open_incidents_first_nearest_deadline_first(
    api: ApiClient, clock: FrozenClock
) -> None:
    now = clock.now()
    later = _open(api, clock, client_id="dw_a", aware_at=_iso(now - timedelta(hours=1))).json()["id"]
    sooner = _open(api, clock, client_id="dw_b", aware_at=_iso(now - timedelta(hours=5))).json()["id"]
    done = _open(api, clock, client_id="dw_c", aware_at=_iso(now - timedelta(hours=9))).json()["id"]
    closed = api.http.patch(f"/v1/incidents/{done}", json={"closed": True}, headers=api.auth("dpo"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    listed = api.http.get("/v1/incidents", headers=api.auth("dpo"))
    assert listed.status_code == 200
    assert [(i["id"], i["status"]) for i in listed.json()["incidents"]] == [
        (sooner, "open"),
        (later, "open"),
        (done, "closed"),
    ]
    assert all("sizing" not in i or i["sizing"] is None for i in listed.json()["incidents"])

    reopened = api.http.patch(f"/v1/incidents/{done}", json={"closed": False}, headers=api.auth("dpo"))
    assert reopened.json()["status"] == "open" and reopened.json()["closed_at"] is None
    listed = api.http.get("/v1/incidents", headers=api.auth("dpo")).json()["incidents"]
    assert [i["id"] for i in listed] == [done, sooner, later]


def test_times_in_any_zone_are_kept_as_the_same_moment(api: ApiClient, clock: FrozenClock) -> None:
    clock.at = float(int(clock.at))
    cest = timezone(timedelta(hours=2))
    aware = (clock.now() - timedelta(hours=2)).astimezone(cest)
    opened = _open(api, clock, client_id="dw_a", aware_at=aware.isoformat())
    assert opened.status_code == 201, opened.text

    shown = api.http.get(f"/v1/incidents/{opened.json()['id']}", headers=api.auth("dpo")).json()
    assert _moment(shown["aware_at"]) == aware  # read back from the database: the same moment
    assert _moment(shown["clock"]["deadline"]).astimezone(UTC) == aware + timedelta(hours=72)
    assert shown["clock"]["seconds_remaining"] == HOURS_72 - 2 * 3600


def test_a_role_without_incidents_is_refused_and_the_refusal_is_audited(
    api: ApiClient, vault: Vault, clock: FrozenClock
) -> None:
    incident_id = _open(api, clock, client_id="dw_a").json()["id"]
    support = api.register("support-agent")
    headers = api.auth("support-agent")
    body = {
        "title": "x",
        "client_id": "dw_a",
        "window_from": _iso(clock.now()),
        "window_to": _iso(clock.now()),
    }
    refused = [
        api.http.post("/v1/incidents", json=body, headers=headers),
        api.http.get("/v1/incidents", headers=headers),
        api.http.get(f"/v1/incidents/{incident_id}", headers=headers),
        api.http.patch(f"/v1/incidents/{incident_id}", json={"closed": True}, headers=headers),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"] == "urn:dataward:problem:forbidden"

    denied = [(e.action, e.reason) for e in _incident_entries(vault) if e.client_id == support.id]
    assert denied == [
        ("incidents:incident:open", "role support-agent may not incidents"),
        ("incidents:incident:read", "role support-agent may not incidents"),
        ("incidents:incident:read", "role support-agent may not incidents"),
        ("incidents:incident:update", "role support-agent may not incidents"),
    ]
    assert {e.outcome for e in _incident_entries(vault) if e.client_id == support.id} == {"denied"}
    assert api.http.get(f"/v1/incidents/{incident_id}", headers=api.auth("dpo")).json()["status"] == "open"


def test_incident_calls_are_audited_naming_the_incident_never_the_subjects(
    api: ApiClient, vault: Vault, clock: FrozenClock
) -> None:
    subjects = [api.new_subject(PROFILE) for _ in range(2)]
    leaked = api.token("support-agent")
    for subject_id in subjects:
        assert _read(api, leaked, subject_id) == 200
    incident_id = _open(api, clock, token_id=_jti(leaked)).json()["id"]
    shown = api.http.get(f"/v1/incidents/{incident_id}", params={"subject_ids": "1"}, headers=api.auth("dpo"))
    assert sorted(shown.json()["sizing"]["subject_ids"]) == sorted(subjects)
    api.http.patch(f"/v1/incidents/{incident_id}", json={"closed": True}, headers=api.auth("dpo"))
    api.http.get("/v1/incidents", headers=api.auth("dpo"))

    entries = _incident_entries(vault)
    dpo = api.credentials["dpo"].id
    assert [(e.action, e.outcome, e.client_id) for e in entries] == [
        ("incidents:incident:open", "allowed", dpo),
        ("incidents:incident:read", "allowed", dpo),
        ("incidents:incident:update", "allowed", dpo),
        ("incidents:incident:read", "allowed", dpo),
    ]
    assert [e.reason for e in entries[:3]] == [
        f"incident {incident_id}",
        f"incident {incident_id} with subject ids",
        f"incident {incident_id}: closed",
    ]
    for entry in entries:
        assert entry.subject_id is None and entry.token_id is not None
        assert not any(s in json.dumps(entry.as_dict()) for s in subjects)


def _problem(response: Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return [p["path"] for p in response.json().get("errors", [])]


def test_bad_input_is_a_problem_naming_what_is_wrong(api: ApiClient, clock: FrozenClock) -> None:
    now = clock.now()
    backwards = _open(api, clock, client_id="dw_a", window_from=_iso(now), window_to=_iso(now - timedelta(1)))
    assert _problem(backwards, 422) == ["window_to"]
    assert "window_to is before window_from" in backwards.text
    assert _problem(_open(api, clock), 422) == ["client_id"]  # neither client nor token
    assert _problem(_open(api, clock, client_id="dw_a", window_from="2026-03-01T12:00:00"), 422) == [
        "body.window_from"  # no time zone: which moment is it?
    ]
    assert _problem(_open(api, clock, client_id="dw_a", window_to="last tuesday"), 422) == ["body.window_to"]
    future = _iso(now + timedelta(hours=1))
    assert _problem(_open(api, clock, client_id="dw_a", aware_at=future), 422) == ["aware_at"]
    assert _problem(_open(api, clock, client_id="dw_a", extra="x"), 422) == ["body.extra"]

    dpo = api.auth("dpo")
    for unknown in ("3b1f0c2e-5d7a-4c1e-9f3b-2a6d8e4c1b7f", "not-an-id"):
        assert _problem(api.http.get(f"/v1/incidents/{unknown}", headers=dpo), 404) == []
        assert (
            _problem(api.http.patch(f"/v1/incidents/{unknown}", json={"closed": True}, headers=dpo), 404)
            == []
        )

    incident = _open(api, clock, client_id="dw_a", aware_at=_iso(now - timedelta(hours=1))).json()["id"]
    assert _problem(api.http.patch(f"/v1/incidents/{incident}", json={}, headers=dpo), 422) == [""]
    early = {"notified_at": _iso(now - timedelta(hours=2))}
    assert _problem(api.http.patch(f"/v1/incidents/{incident}", json=early, headers=dpo), 422) == [
        "notified_at"
    ]
