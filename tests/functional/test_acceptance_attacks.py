"""The issue's attack list, over HTTP, on SQLite and PostgreSQL: each attack fails as it should."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text, update

from dataward.audit import verify_log
from dataward.clock import FrozenClock
from dataward.storage.tables import field_values, records
from support import ApiClient

ADA = {"email": "ada@example.com", "full_name": "Ada Lovelace", "phone": "+44 20 7946 0958", "country": "GB"}
BOB = {"email": "bob@example.org", "full_name": "Bob Builder", "phone": "+49 30 1234567", "country": "DE"}


def _problem(response: object, status: int) -> dict[str, object]:
    assert getattr(response, "status_code") == status, getattr(response, "text")  # noqa: B009
    assert getattr(response, "headers")["content-type"].startswith("application/problem+json")  # noqa: B009
    body: dict[str, object] = getattr(response, "json")()  # noqa: B009
    assert body["status"] == status and body["title"] and body["detail"] and body["request_id"]
    return body


def test_another_roles_purpose_and_a_purpose_outside_the_token(api: ApiClient) -> None:
    sid = api.new_subject(ADA)
    other_role = api.http.get(f"/v1/subjects/{sid}?purpose=marketing", headers=api.auth("billing-service"))
    assert "may not use purpose marketing" in str(_problem(other_role, 403)["detail"])
    support = api.register("support-agent")
    narrowed = api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "support"},
        auth=(support.id, support.secret),
    )
    assert narrowed.status_code == 200
    widened = api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "support billing"},
        auth=(support.id, support.secret),
    )
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_scope"


def test_forged_and_expired_tokens_are_refused(api: ApiClient, clock: FrozenClock) -> None:
    sid = api.new_subject(ADA)
    good = api.token("support-agent")
    claims = jwt.decode(good, options={"verify_signature": False})
    header = {k: v for k, v in jwt.get_unverified_header(good).items() if k != "alg"}
    real = api.vault.keyring.token_signing_key().private
    forged = {
        "wrongly signed": jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header),
        "alg none": jwt.encode(claims, None, algorithm="none", headers=header),  # type: ignore[arg-type]
        "wrong audience": jwt.encode({**claims, "aud": "other"}, real, algorithm="EdDSA", headers=header),
        "wrong issuer": jwt.encode({**claims, "iss": "other"}, real, algorithm="EdDSA", headers=header),
    }
    url = f"/v1/subjects/{sid}?purpose=support"
    for token in forged.values():
        refused = api.http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert _problem(refused, 401) and refused.headers["www-authenticate"].startswith("Bearer")
        assert "Ada" not in refused.text
    assert api.http.get(f"{url}&access_token={good}").status_code == 401  # never from the URL
    assert api.http.get(url, headers={"Authorization": f"Bearer {good}"}).status_code == 200
    clock.advance(api.vault.settings.token_ttl_seconds + 1)
    assert "expired" in str(
        _problem(api.http.get(url, headers={"Authorization": f"Bearer {good}"}), 401)["detail"]
    )


def test_a_ciphertext_moved_to_another_subject_does_not_open(api: ApiClient) -> None:
    ada, bob = api.new_subject(ADA), api.new_subject(BOB)
    engine = api.vault.engine
    with engine.begin() as connection:

        def email_row(sid: str) -> tuple[str, bytes]:
            row = connection.execute(
                select(field_values.c.record_id, field_values.c.ciphertext)
                .join(records, records.c.id == field_values.c.record_id)
                .where(records.c.subject_id == sid, field_values.c.field == "email")
            ).one()
            return row.record_id, row.ciphertext

        _, ada_cipher = email_row(ada)
        bob_record, _ = email_row(bob)
        connection.execute(
            update(field_values)
            .where(field_values.c.record_id == bob_record, field_values.c.field == "email")
            .values(ciphertext=ada_cipher)
        )
    read = api.http.get(f"/v1/subjects/{bob}?purpose=support", headers=api.auth("support-agent"))
    assert read.status_code == 200
    assert "ada@example.com" not in read.text
    assert {"field": "profile.email", "reason": "integrity_error"} in read.json()["withheld"]
    assert read.json()["data"]["profile"]["full_name"] == "Bob Builder"
    last = api.vault.audit.entries(subject_id=bob)[-1]
    assert last.outcome == "failed" and "profile.email" not in last.fields


def test_reads_without_and_after_withdrawn_consent(api: ApiClient) -> None:
    sid = api.new_subject(ADA)
    care = api.auth("care-team")
    api.http.put(f"/v1/subjects/{sid}/health", headers=api.auth("signup"), json={"allergies": "peanuts"})
    before = api.http.get(f"/v1/subjects/{sid}?purpose=care", headers=care).json()
    assert before["data"] == {} and "peanuts" not in json.dumps(before)
    consent = {"purpose": "care", "notice_version": "v1", "source": "event-form"}
    assert (
        api.http.post(f"/v1/subjects/{sid}/consents", headers=api.auth("signup"), json=consent).status_code
        == 201
    )
    during = api.http.get(f"/v1/subjects/{sid}?purpose=care", headers=care).json()
    assert during["data"]["health"] == {"allergies": "peanuts"}
    assert api.http.delete(f"/v1/subjects/{sid}/consents/care", headers=api.auth("signup")).status_code == 200
    after = api.http.get(f"/v1/subjects/{sid}?purpose=care", headers=care).json()
    assert after["data"] == {}
    assert {"field": "health.allergies", "reason": "consent_withdrawn"} in after["withheld"]


INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE subjects; --",
    '" OR 1=1 --',
    "%27%20OR%201%3D1",
    "../../etc/passwd",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_every_parameter(api: ApiClient, payload: str) -> None:
    sid = api.new_subject(ADA)
    reader, writer, auditor = api.auth("support-agent"), api.auth("signup"), api.auth("auditor")
    answers = [
        api.http.get(f"/v1/subjects/{payload}?purpose=support", headers=reader),
        api.http.get(f"/v1/subjects/{sid}", params={"purpose": payload}, headers=reader),
        api.http.put(f"/v1/subjects/{sid}/{payload}", headers=writer, json={"email": "x@example.com"}),
        api.http.put(f"/v1/subjects/{sid}/profile", headers=writer, json={payload: "x"}),
        api.http.put(f"/v1/subjects/{sid}/profile", headers=writer, json={"email": payload}),
        api.http.post(
            "/v1/subjects/lookup", headers=reader, json={"field": payload, "value": "x", "purpose": "support"}
        ),
        api.http.post(
            "/v1/subjects/lookup",
            headers=reader,
            json={"field": "profile.email", "value": payload, "purpose": "support"},
        ),
        api.http.post(
            "/v1/subjects/lookup",
            headers=reader,
            json={"field": "profile.email", "value": "x", "purpose": payload},
        ),
        api.http.post(
            f"/v1/subjects/{sid}/consents",
            headers=writer,
            json={"purpose": payload, "notice_version": "v", "source": "s"},
        ),
        api.http.delete(f"/v1/subjects/{sid}/consents/{payload}", headers=writer),
        api.http.get("/v1/audit", params={"subject_id": payload}, headers=auditor),
        api.http.get("/v1/audit", params={"after": payload}, headers=auditor),
        api.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": payload, "client_secret": payload},
        ),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "Ada Lovelace" not in answer.text
    with api.vault.engine.connect() as connection:
        assert connection.execute(text("select count(*) from subjects")).scalar_one() == 1
    still = api.http.get(f"/v1/subjects/{sid}?purpose=support", headers=reader)
    assert still.json()["data"]["profile"]["full_name"] == "Ada Lovelace"


def test_unknown_fields_in_bodies_are_refused_by_path(api: ApiClient) -> None:
    sid = api.new_subject(ADA)
    writer, reader = api.auth("signup"), api.auth("support-agent")
    cases = [
        (api.http.put(f"/v1/subjects/{sid}/profile", headers=writer, json={"emial": "a@b.de"}), "emial"),
        (api.http.post("/v1/subjects", headers=writer, json={"region": "eu", "admin": True}), "body.admin"),
        (
            api.http.post(
                "/v1/subjects/lookup",
                headers=reader,
                json={"field": "profile.email", "value": "a@b.de", "purpose": "support", "limit": 1},
            ),
            "body.limit",
        ),
        (
            api.http.post(
                f"/v1/subjects/{sid}/consents",
                headers=writer,
                json={"purpose": "marketing", "notice_version": "v", "source": "s", "forever": True},
            ),
            "body.forever",
        ),
    ]
    for answer, path in cases:
        body = _problem(answer, 422)
        assert path in [e["path"] for e in body["errors"]], body  # type: ignore[attr-defined]


def test_invalid_values_are_named_never_echoed(api: ApiClient) -> None:
    sid = api.new_subject(ADA)
    answer = api.http.put(
        f"/v1/subjects/{sid}/profile",
        headers=api.auth("signup"),
        json={"email": "marie.curie@example.com", "phone": "+49 bogus 123", "unknown": "Marie Curie"},
    )
    body = _problem(answer, 422)
    assert {e["path"] for e in body["errors"]} == {"phone", "unknown"}  # type: ignore[attr-defined]
    for value in ("marie.curie@example.com", "bogus", "Marie Curie"):
        assert value not in answer.text
    # Nothing half-written: the earlier profile is intact.
    read = api.http.get(f"/v1/subjects/{sid}?purpose=support", headers=api.auth("support-agent"))
    assert read.json()["data"]["profile"]["email"] == "ada@example.com"


def test_edited_and_deleted_audit_rows_are_caught(api: ApiClient) -> None:
    api.new_subject(ADA)
    api.new_subject(BOB)
    keys = api.vault.keyring.audit_verification_keys()
    engine = api.vault.engine
    assert verify_log(engine, keys).intact
    with engine.begin() as connection:
        connection.execute(text("update audit_entries set purpose = 'billing' where seq = 3"))
    report = verify_log(engine, keys)
    assert not report.intact and report.first_bad_seq == 3 and "entry 3 was changed" in str(report.problem)
    with engine.begin() as connection:
        connection.execute(text("update audit_entries set purpose = null where seq = 3"))
        connection.execute(text("delete from audit_entries where seq = 2"))
    report = verify_log(engine, keys)
    assert not report.intact and report.first_bad_seq == 2 and "missing" in str(report.problem)


def test_other_subjects_and_unknown_ids_answer_404(api: ApiClient) -> None:
    reader = api.auth("support-agent")
    for sid in ("3f2b8f6e-1c3a-4d7e-9b1a-0c2d4e6f8a9b", "not-a-uuid", "00000000-0000-0000-0000-000000000001"):
        _problem(api.http.get(f"/v1/subjects/{sid}?purpose=support", headers=reader), 404)


def test_body_over_the_limit_is_refused(api: ApiClient) -> None:
    sid = api.new_subject(ADA)
    big = {"full_name": "x" * (api.vault.settings.max_body_bytes + 10)}
    _problem(api.http.put(f"/v1/subjects/{sid}/profile", headers=api.auth("signup"), json=big), 413)


def test_malformed_json_is_a_problem(api: ApiClient) -> None:
    sid = api.new_subject(ADA)
    answer = api.http.put(
        f"/v1/subjects/{sid}/profile",
        headers={**api.auth("signup"), "Content-Type": "application/json"},
        content=b'{"email": "ada@example.com",',
    )
    assert 400 <= answer.status_code < 500 and "ada@example.com" not in answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
