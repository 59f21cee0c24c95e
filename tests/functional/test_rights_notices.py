"""Art. 19 end to end: an erasure's notices reach a real processor that fails at first, through the
app's own background work, and the request completes only once every processor acknowledged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dataward.app import create_app
from dataward.clock import FrozenClock
from dataward.identity.notifiers import MemoryNotifier
from dataward.keys import LocalKeyring
from dataward.policy import Policy
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate
from processors import SECRETS, Receiver, with_webhooks
from support import FAST_HASHER, ApiClient


@pytest.fixture
def served(
    database_url: str,
    tmp_path: Path,
    policy: Policy,
    clock: FrozenClock,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ApiClient]:
    """The API with its background work running every 20 ms, and processors with webhooks whose
    secrets are in the environment, where a deployment puts them."""
    for name, secret in SECRETS.items():
        monkeypatch.setenv(name, secret)
    settings = Settings(home=tmp_path, database_url=database_url, outbox_interval_seconds=0.02)
    engine = create_database_engine(database_url)
    migrate(engine)
    engine.dispose()
    hooked = with_webhooks(policy, receiver)
    vault = Vault.build(
        settings, policy=hooked, keyring=LocalKeyring.generate(settings.keyring_path), clock=clock,
        password_hasher=FAST_HASHER, notifier=MemoryNotifier(),
    )  # fmt: skip
    with TestClient(create_app(vault, access_log=False, background=True)) as http:
        yield ApiClient(http=http, vault=vault)


def _request(api: ApiClient, rid: str) -> dict[str, Any]:
    answer: dict[str, Any] = api.http.get(
        f"/v1/rights-requests/{rid}", headers=api.auth("privacy-team")
    ).json()
    return answer


def test_an_erasure_completes_when_every_processor_acknowledged(
    served: ApiClient, receiver: Receiver, clock: FrozenClock
) -> None:
    api = served
    receiver.script = ["503", "drop", "ok"]  # each processor fails twice, then accepts
    sid = api.new_subject({"email": "ada@example.com", "full_name": "Ada Lovelace", "country": "gb"})
    me = api.subject_auth("ada@example.com")
    rid = api.http.post("/v1/me/erasure", headers=me).json()["id"]
    approved = api.http.post(f"/v1/rights-requests/{rid}/approve", headers=api.auth("privacy-lead")).json()
    assert approved["state"] == "notifying"

    deadline = time.monotonic() + 20  # bounded: the background runs every 20 ms
    while _request(api, rid)["state"] != "completed":
        assert time.monotonic() < deadline, _request(api, rid)
        clock.advance(3600)  # past any backoff: the outbox's time, not the test's, moves on
        time.sleep(0.05)

    done = _request(api, rid)
    assert done["recipients"] == {"mailer": "delivered", "payments": "delivered"}
    accepted = receiver.accepted()
    assert sorted(r.processor for r in accepted) == ["mailer", "payments"]  # exactly one each
    assert all(r.valid and r.event == "erasure" for r in receiver.received)  # every attempt signed
    keys = {r.processor: {x.key for x in receiver.received if x.processor == r.processor} for r in accepted}
    assert all(len(k) == 1 for k in keys.values())  # one idempotency key across the retries
    for received in accepted:
        body = json.loads(received.body)
        assert body["subject_id"] == sid and body["rights_request_id"] == rid
        assert "Ada" not in received.body.decode() and "example.com" not in received.body.decode()
    assert [h["state"] for h in done["history"]][-1] == "completed"
