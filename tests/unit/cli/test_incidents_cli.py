"""`dataward audit touched` and `dataward incidents` as people and scripts use them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.clock import FrozenClock
from dataward.services import Vault
from dataward.settings import Settings
from support import FAST_HASHER, Ran, run_dataward

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
S1, S2, S3 = (f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 4))
WINDOW = ("--from", "2026-03-01T12:00Z", "--to", "2026-03-01T15:00+02:00")  # 12:00Z to 13:00Z


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "vault"
    assert run_dataward(tmp_path, "init", "--dir", home).code == 0
    clock = FrozenClock(START.timestamp())
    vault = Vault.build(Settings.load(home, environ={}), clock=clock, password_hasher=FAST_HASHER)
    try:
        for minutes, client, subject, fields, outcome in [
            (-1, "leaky", S3, ("profile.email",), Outcome.ALLOWED),  # before the window
            (1, "leaky", S1, ("profile.email", "health.allergies"), Outcome.ALLOWED),
            (2, "leaky", S2, ("profile.email",), Outcome.ALLOWED),
            (3, "leaky", S3, (), Outcome.DENIED),
            (4, "other", S3, ("profile.email",), Outcome.ALLOWED),
        ]:
            clock.at = (START + timedelta(minutes=minutes)).timestamp()
            action = AuditAction.RECORD_READ
            vault.audit.record_sync(
                AuditEvent(action, client, outcome, "r", subject, fields, "care", None, f"tok-{client}")
            )
    finally:
        vault.close()
    return home


def _run(home: Path, *args: str | Path) -> Ran:
    return run_dataward(home.parent, *args, "--dir", home)


def test_audit_touched_sizes_the_client_s_access_in_the_window(home: Path) -> None:
    found = _run(home, "audit", "touched", "--client", "leaky", *WINDOW, "--subjects", "--json")
    assert found.code == 0, found.err
    data = found.json()
    assert data["affected_subjects"] == 2 and data["subject_ids"] == [S1, S2]
    assert data["attempts"] == 1 and data["window_to"] == "2026-03-01T13:00:00.000000+00:00"
    fields = {f["field"]: (f["entries"], f["subjects"], f["special_category"]) for f in data["fields"]}
    assert fields == {"health.allergies": (1, 1, True), "profile.email": (2, 2, False)}

    shown = _run(home, "audit", "touched", "--client", "leaky", *WINDOW)
    assert shown.code == 0 and "2 subject(s) reached" in shown.out
    assert "health.allergies" in shown.out and "special category" in shown.out
    assert S1 not in shown.out  # ids only with --subjects


def test_audit_touched_names_what_is_wrong(home: Path) -> None:
    backwards = _run(
        home,
        "audit",
        "touched",
        "--client",
        "leaky",
        "--from",
        "2026-03-02T00:00Z",
        "--to",
        "2026-03-01T00:00Z",
    )
    assert backwards.code == 2 and "window_to: window_to is before window_from" in backwards.err
    nobody = _run(home, "audit", "touched", *WINDOW)
    assert nobody.code == 2 and "client_id: name a client_id, a token_id, or both" in nobody.err
    naive = _run(
        home, "audit", "touched", "--token", "tok", "--from", "2026-03-01T12:00", "--to", "2026-03-01T13:00Z"
    )
    assert naive.code == 2 and "--from: give a time zone" in naive.err


def test_incidents_open_show_list_and_update(home: Path) -> None:
    opened = _run(
        home, "incidents", "open", "--title", "Care token leaked", "--token", "tok-leaky", *WINDOW, "--json"
    )
    assert opened.code == 0, opened.err
    incident = opened.json()
    assert incident["sizing"]["affected_subjects"] == 2 and incident["opened_by"] == "cli"
    assert incident["clock"]["overdue"] is False and incident["clock"]["seconds_remaining"] > 71 * 3600

    shown = _run(home, "incidents", "show", incident["id"], "--subjects", "--json")
    assert shown.code == 0 and shown.json()["sizing"]["subject_ids"] == [S1, S2]
    text = _run(home, "incidents", "show", incident["id"])
    assert (
        "Care token leaked" in text.out
        and "h " in text.out
        and "m left" in text.out
        and "profile.email" in text.out
    )

    notified = datetime.now(UTC).isoformat()
    updated = _run(
        home, "incidents", "update", incident["id"], "--notified-at", notified, "--close", "--json"
    )
    assert updated.code == 0, updated.err
    assert updated.json()["status"] == "closed" and updated.json()["clock"]["seconds_remaining"] is None

    listed = _run(home, "incidents", "list", "--json")
    assert [(i["id"], i["status"]) for i in listed.json()["incidents"]] == [(incident["id"], "closed")]
    refused = _run(home, "incidents", "show", "3b1f0c2e-5d7a-4c1e-9f3b-2a6d8e4c1b7f")
    assert refused.code == 2 and "no such incident" in refused.err

    exported = _run(home, "audit", "export")
    entries = [json.loads(line) for line in exported.out.splitlines() if "incidents:incident" in line]
    assert [(e["action"], e["client_id"]) for e in entries] == [
        ("incidents:incident:open", "cli"),
        ("incidents:incident:read", "cli"),
        ("incidents:incident:read", "cli"),
        ("incidents:incident:update", "cli"),
        ("incidents:incident:read", "cli"),
    ]
    assert entries[3]["reason"] == f"incident {incident['id']}: authority notified, closed"
    assert not any(s in json.dumps(e) for e in entries for s in (S1, S2))
    assert _run(home, "audit", "verify", "--json").json()["intact"]
