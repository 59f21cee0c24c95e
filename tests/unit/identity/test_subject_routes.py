"""`/v1/me`: a data subject signs in with a one-time code and gets a token that reaches only
their own data. Attacks: wrong, expired, reused and foreign codes, guessing who is in the vault,
malformed bodies, and a subject's token on the client routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response  # what TestClient answers with
from sqlalchemy import select

from dataward.api.deps import SubjectCallerDep
from dataward.app import create_app
from dataward.clock import FrozenClock
from dataward.identity import InvalidToken, TokenIssuer, TokenVerifier
from dataward.identity.challenges import CODE_DIGITS
from dataward.identity.notifiers import MemoryNotifier
from dataward.identity.tokens import SELF_SERVICE, SUBJECT_ROLE
from dataward.keys import LocalKeyring
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage.tables import audit_entries
from support import ApiClient

ADA = {"email": "Ada@Example.com", "full_name": "Ada Lovelace", "country": "gb"}
GRACE = {"email": "grace@example.org", "full_name": "Grace Hopper"}
PROBLEM = "application/problem+json"


@pytest.fixture
def api(vault: Vault) -> Iterator[ApiClient]:
    """The HTTP API, plus a stand-in for the lead's /v1/me routes: who does this token say I am?"""
    app = create_app(vault, access_log=False)

    async def whoami(caller: SubjectCallerDep) -> dict[str, str]:
        return {"subject_id": caller.subject_id, "request_id": caller.request_id}

    app.add_api_route("/v1/me/whoami", whoami, methods=["GET"])
    with TestClient(app) as http:
        yield ApiClient(http=http, vault=vault)


def challenge(api: ApiClient, value: str, field: str = "profile.email") -> Response:
    return api.http.post("/v1/me/challenges", json={"field": field, "value": value})


def sign_in(api: ApiClient, sent: MemoryNotifier, value: str) -> str:
    """The whole flow: ask for a code, read it from the mailbox, exchange it for a token."""
    started = challenge(api, value)
    assert started.status_code == 202, started.text
    code = sent.sent[-1].code
    answered = api.http.post(
        "/v1/me/token", json={"challenge_id": started.json()["challenge_id"], "code": code}
    )
    assert answered.status_code == 200, answered.text
    token: str = answered.json()["access_token"]
    return token


def comparable(response: Response) -> dict[str, Any]:
    """A response without what differs on every request."""
    body = response.json()
    for key in ("challenge_id", "request_id", "instance"):
        body.pop(key, None)
    skip = {"x-request-id", "content-length", "date", "ratelimit"}  # the address's count goes down
    headers = {k: v for k, v in response.headers.items() if k.lower() not in skip}
    return {"status": response.status_code, "body": body, "headers": headers}


def audit_rows(vault: Vault, action: str) -> list[Any]:
    with vault.engine.connect() as connection:
        return list(
            connection.execute(
                select(audit_entries).where(audit_entries.c.action == action).order_by(audit_entries.c.seq)
            )
        )


def all_audit_text(vault: Vault) -> str:
    with vault.engine.connect() as connection:
        return json.dumps([list(row) for row in connection.execute(select(audit_entries))], default=str)


# -- the flow ---------------------------------------------------------------------------------------


def test_a_subject_signs_in_with_a_code_and_gets_a_token_to_their_own_data(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    sid = api.new_subject(ADA)
    started = challenge(api, "ada@example.com")
    assert started.status_code == 202
    assert set(started.json()) == {"challenge_id", "expires_in"}
    assert started.json()["expires_in"] == 600
    assert started.headers["cache-control"] == "no-store"
    assert sent.sent[-1].recipient.address == ADA["email"]  # the stored address, not the typed one

    code = sent.sent[-1].code
    answered = api.http.post(
        "/v1/me/token", json={"challenge_id": started.json()["challenge_id"], "code": code}
    )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == vault.settings.subject_token_ttl_seconds
    assert answered.headers["cache-control"] == "no-store"

    principal = vault.verifier.verify(body["access_token"])
    assert (principal.subject_id, principal.role, principal.purposes) == (sid, SUBJECT_ROLE, frozenset())
    assert principal.client_id == SELF_SERVICE
    assert audit_rows(vault, "identity:subject:token")[-1].token_id == principal.token_id
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300 < vault.settings.token_ttl_seconds

    me = api.http.get("/v1/me/whoami", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["subject_id"] == sid
    assert me.json()["request_id"] == me.headers["x-request-id"]


def test_each_step_is_audited_with_the_subject_but_never_the_value_or_the_code(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    sid = api.new_subject(ADA)
    token = sign_in(api, sent, ADA["email"])
    challenge(api, "stranger@example.net")
    bad = api.http.post(
        "/v1/me/token", json={"challenge_id": "00000000-0000-4000-8000-000000000000", "code": "1"}
    )
    assert bad.status_code == 401

    challenges = audit_rows(vault, "identity:subject:challenge")
    assert [(r.subject_id, r.outcome, r.client_id, json.loads(r.fields)) for r in challenges] == [
        (sid, "allowed", SELF_SERVICE, ["profile.email"]),
        (None, "denied", SELF_SERVICE, ["profile.email"]),
    ]
    tokens = audit_rows(vault, "identity:subject:token")
    assert [(r.subject_id, r.outcome) for r in tokens] == [(sid, "allowed"), (None, "denied")]
    assert tokens[1].reason == "code: unknown challenge"
    text = all_audit_text(vault).lower()
    for secret in ("ada@example.com", "stranger@example.net", sent.sent[0].code, token):
        assert secret.lower() not in text


# -- attacks ----------------------------------------------------------------------------------------


def test_unknown_values_get_the_same_answer_as_known_ones(api: ApiClient, sent: MemoryNotifier) -> None:
    api.new_subject(ADA)
    known = challenge(api, ADA["email"])
    unknown = challenge(api, "nobody@example.com")
    assert comparable(known) == comparable(unknown)
    assert len(known.json()["challenge_id"]) == len(unknown.json()["challenge_id"]) == 36
    assert len(sent.sent) == 1
    # Answering the unknown one fails exactly as a wrong code on the known one.
    guess = "0" * CODE_DIGITS
    wrong_known = api.http.post(
        "/v1/me/token",
        json={
            "challenge_id": known.json()["challenge_id"],
            "code": guess if guess != sent.sent[0].code else "1" * CODE_DIGITS,
        },
    )
    wrong_unknown = api.http.post(
        "/v1/me/token", json={"challenge_id": unknown.json()["challenge_id"], "code": guess}
    )
    assert wrong_known.status_code == wrong_unknown.status_code == 401
    assert comparable(wrong_known) == comparable(wrong_unknown)


def test_wrong_codes_are_counted_across_requests_until_the_challenge_dies(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    api.new_subject(ADA)
    cid = challenge(api, ADA["email"]).json()["challenge_id"]
    code = sent.sent[0].code
    wrong = f"{(int(code) + 1) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"
    for _ in range(vault.settings.challenge_max_attempts):
        refused = api.http.post("/v1/me/token", json={"challenge_id": cid, "code": wrong})
        assert refused.status_code == 401
        assert refused.headers["content-type"] == PROBLEM
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["type"] == "urn:dataward:problem:subject-not-verified"
    late = api.http.post("/v1/me/token", json={"challenge_id": cid, "code": code})
    assert late.status_code == 401  # the right code, after five wrong ones: each attempt was committed
    assert [r.reason for r in audit_rows(vault, "identity:subject:token")][-1] == "code: too many attempts"


def test_an_expired_code_is_refused(api: ApiClient, sent: MemoryNotifier, clock: FrozenClock) -> None:
    api.new_subject(ADA)
    started = challenge(api, ADA["email"]).json()
    clock.advance(started["expires_in"])
    answered = api.http.post(
        "/v1/me/token", json={"challenge_id": started["challenge_id"], "code": sent.sent[0].code}
    )
    assert answered.status_code == 401


def test_a_code_works_once(api: ApiClient, sent: MemoryNotifier) -> None:
    api.new_subject(ADA)
    cid = challenge(api, ADA["email"]).json()["challenge_id"]
    grant = {"challenge_id": cid, "code": sent.sent[0].code}
    assert api.http.post("/v1/me/token", json=grant).status_code == 200
    assert api.http.post("/v1/me/token", json=grant).status_code == 401


def test_a_code_does_not_open_another_subjects_challenge(api: ApiClient, sent: MemoryNotifier) -> None:
    api.new_subject(ADA)
    grace = api.new_subject(GRACE)
    adas = challenge(api, ADA["email"]).json()["challenge_id"]
    challenge(api, GRACE["email"])
    grace_code = sent.sent[1].code
    assert api.http.post("/v1/me/token", json={"challenge_id": adas, "code": grace_code}).status_code == 401
    token = sign_in(api, sent, GRACE["email"])
    me = api.http.get("/v1/me/whoami", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["subject_id"] == grace


def test_a_subject_token_never_passes_as_a_client_token(api: ApiClient, sent: MemoryNotifier) -> None:
    sid = api.new_subject(ADA)
    mine = {"Authorization": f"Bearer {sign_in(api, sent, ADA['email'])}"}
    attempts = [
        api.http.get(f"/v1/subjects/{sid}?purpose=billing", headers=mine),
        api.http.get(f"/v1/subjects/{sid}?purpose=support", headers=mine),
        api.http.get("/v1/audit", headers=mine),
        api.http.get(f"/v1/audit?subject_id={sid}", headers=mine),
        api.http.put(f"/v1/subjects/{sid}/profile", headers=mine, json={"email": "evil@example.com"}),
        api.http.post("/v1/subjects", headers=mine),
        api.http.post(
            "/v1/subjects/lookup",
            headers=mine,
            json={"field": "profile.email", "value": ADA["email"], "purpose": "support"},
        ),
    ]
    for response in attempts:
        assert response.status_code in (401, 403), response.request.url
        assert "Lovelace" not in response.text and "Ada@" not in response.text
    assert attempts[0].json()["detail"] == "a data subject's token reaches only /v1/me"
    # And nothing was changed: the profile still has Ada's address.
    read = api.http.get(f"/v1/subjects/{sid}?purpose=support", headers=api.auth("support-agent"))
    assert read.json()["data"]["profile"]["email"] == ADA["email"]


def test_a_client_token_never_passes_as_a_subject_token(api: ApiClient) -> None:
    for role in ("support-agent", "signup", "auditor"):
        refused = api.http.get("/v1/me/whoami", headers=api.auth(role))
        assert refused.status_code == 403
    assert api.http.get("/v1/me/whoami").status_code == 401
    assert api.http.get("/v1/me/whoami", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_half_subject_token_is_no_token(keyring: LocalKeyring, tmp_path: Path, clock: FrozenClock) -> None:
    """Signed by us, but a `subject` claim without the role (or the role without the claim, or with
    purposes) is refused: only `issue_subject` makes subject tokens."""
    settings = Settings(home=tmp_path, database_url="sqlite://")
    good = TokenIssuer(keyring, settings, clock).issue_subject("9f1c6f3e-7d7c-4c55-9f59-7a1f8b2d4e10")
    claims = jwt.decode(good.access_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(good.access_token)
    key = keyring.token_signing_key().private
    verifier = TokenVerifier(keyring, settings, clock)
    assert verifier.verify(good.access_token).subject_id == claims["subject"]
    for bad in (
        {**claims, "role": "support-agent"},
        {k: v for k, v in claims.items() if k != "subject"},
        {**claims, "purposes": ["support"]},
        {**claims, "subject": "00000000-0000-4000-8000-000000000000"},
    ):
        token = jwt.encode(bad, key, algorithm="EdDSA", headers={"kid": header["kid"], "typ": header["typ"]})
        with pytest.raises(InvalidToken):
            verifier.verify(token)


# -- malformed requests -----------------------------------------------------------------------------


SECRET = "leaky-value-0451@example.com"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/me/challenges", {"field": "profile.email"}),
        ("/v1/me/challenges", {"value": SECRET}),
        ("/v1/me/challenges", {"field": "profile.email", "value": SECRET, "extra": SECRET}),
        ("/v1/me/challenges", {"field": "profile.email", "value": [SECRET]}),
        ("/v1/me/challenges", {"field": "profile.email", "value": SECRET + "x" * 400}),
        ("/v1/me/challenges", {"field": "profile.full_name", "value": SECRET}),
        ("/v1/me/challenges", {"field": "profile.email", "value": "not an address " + SECRET[:-12]}),
        ("/v1/me/challenges", {"field": f"PROFILE.{SECRET}", "value": "a@b.cd"}),
        ("/v1/me/challenges", [SECRET]),
        ("/v1/me/token", {"challenge_id": SECRET, "code": SECRET}),
        ("/v1/me/token", {"code": SECRET}),
        ("/v1/me/token", {"id_token": SECRET, "code": SECRET}),
        ("/v1/me/token", {}),
        ("/v1/me/token", {"id_token": SECRET}),  # this vault has no OpenID provider
    ],
)
def test_a_malformed_body_is_a_4xx_problem_without_the_value(api: ApiClient, path: str, body: object) -> None:
    response = api.http.post(path, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "leaky-value" not in response.text


def test_a_body_that_is_not_json_is_a_problem_too(api: ApiClient) -> None:
    for content, content_type in [
        (b'{"field": "profile.email", "value": "leaky-value-0451@', "application/json"),
        (b"field=profile.email&value=leaky-value-0451%40example.com", "application/x-www-form-urlencoded"),
    ]:
        response = api.http.post("/v1/me/challenges", content=content, headers={"content-type": content_type})
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
        assert "leaky-value" not in response.text


def test_values_are_never_taken_from_the_url(api: ApiClient, sent: MemoryNotifier) -> None:
    api.new_subject(ADA)
    response = api.http.post(f"/v1/me/challenges?field=profile.email&value={ADA['email']}")
    assert response.status_code == 422 and sent.sent == []
    assert api.http.get(f"/v1/me/challenges?value={ADA['email']}").status_code == 405
