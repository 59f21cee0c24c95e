"""Regions: a subject pinned to its region lives in that region's database and key store only,
under that region's keys; every route finds it there. On SQLite (two files) and PostgreSQL (two
schemas)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from dataward.app import create_app
from dataward.audit.verify import verify_log
from dataward.clock import FrozenClock
from dataward.errors import DatawardError
from dataward.identity.notifiers import MemoryNotifier
from dataward.keys import KeyringError, LocalKeyring
from dataward.keys.subject_keys import KeySlot
from dataward.policy import Policy, PolicyError, parse_policy
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate
from dataward.storage.tables import blind_indexes, consent_events, field_values, subject_regions, subjects
from dataward.subjects.regions import region_keyring_path
from support import FAST_HASHER, ApiClient

CH_URL = "DATAWARD_TEST_DB_CH"
ADA = {"email": "ada@example.com", "full_name": "Ada Lovelace", "country": "gb"}
HEIDI = {"email": "heidi@example.ch", "full_name": "Heidi Weber", "country": "ch"}


def _with_switzerland(policy: Policy) -> Policy:
    document = policy.model_dump(mode="json")
    document["regions"]["ch"] = {"description": "Zurich", "database_url_env": CH_URL}
    return Policy.model_validate(document)


@pytest.fixture
def regional(
    database_url: str, second_database_url: str, tmp_path: Path, policy: Policy, clock: FrozenClock
) -> Iterator[ApiClient]:
    settings = Settings(home=tmp_path, database_url=database_url)
    LocalKeyring.generate(region_keyring_path(settings, "ch"))
    for url in (database_url, second_database_url):
        engine = create_database_engine(url)
        migrate(engine)
        engine.dispose()
    vault = Vault.build(
        settings, policy=_with_switzerland(policy), keyring=LocalKeyring.generate(settings.keyring_path),
        clock=clock, password_hasher=FAST_HASHER, notifier=MemoryNotifier(),
        environ={CH_URL: second_database_url},
    )  # fmt: skip
    with TestClient(create_app(vault, access_log=False)) as http:
        yield ApiClient(http=http, vault=vault)


def _subject_in(api: ApiClient, region: str, profile: dict[str, str]) -> str:
    headers = api.auth("signup")
    created = api.http.post("/v1/subjects", headers=headers, json={"region": region})
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    assert api.http.put(f"/v1/subjects/{sid}/profile", headers=headers, json=profile).status_code == 200
    return sid


def _rows(engine: Engine, sid: str) -> int:
    """Every row of the subject's data in one database: the subject, its values, indexes, consent."""
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).where(subjects.c.id == sid)).scalar_one()
        for table in (blind_indexes, consent_events):
            count += connection.execute(select(func.count()).where(table.c.subject_id == sid)).scalar_one()
        records = subjects.metadata.tables["records"]
        owned = select(records.c.id).where(records.c.subject_id == sid)
        count += connection.execute(
            select(func.count()).where(field_values.c.record_id.in_(owned))
        ).scalar_one()
    return int(count)


def test_a_subject_lives_only_in_its_regions_store(regional: ApiClient) -> None:
    api = regional
    central, zurich = api.vault.engine, api.vault.regions.store("ch").engine
    heidi, ada = _subject_in(api, "ch", HEIDI), _subject_in(api, "eu", ADA)
    consent = {"purpose": "marketing", "notice_version": "2026-01", "source": "signup-form"}
    assert (
        api.http.post(f"/v1/subjects/{heidi}/consents", headers=api.auth("signup"), json=consent).status_code
        == 201
    )

    assert _rows(zurich, heidi) == 1 + 3 + 1 + 1  # subject, 3 values, e-mail index, consent
    assert _rows(central, heidi) == 0  # nothing of hers in the vault's own database ...
    with central.connect() as connection:  # ... but the directory entry (an id and a region name)
        assert (
            connection.execute(
                select(subject_regions.c.region).where(subject_regions.c.subject_id == heidi)
            ).scalar()
            == "ch"
        )
    assert _rows(central, ada) == 1 + 3 + 1 and _rows(zurich, ada) == 0

    read = api.http.get(f"/v1/subjects/{heidi}?purpose=billing", headers=api.auth("billing-service")).json()
    assert read["data"]["profile"]["full_name"] == "Heidi Weber"
    found = api.http.post(
        "/v1/subjects/lookup",
        headers=api.auth("support-agent"),
        json={"field": "profile.email", "value": "heidi@example.ch", "purpose": "support"},
    ).json()
    assert found["ids"] == [heidi]


def test_a_regions_data_keys_are_wrapped_by_that_regions_key(regional: ApiClient) -> None:
    api = regional
    heidi = _subject_in(api, "ch", HEIDI)
    zurich = api.vault.regions.store("ch")
    wrapped = zurich.key_store.keys(heidi).wrapped[KeySlot.DATA]
    context = f"{heidi}\x000".encode()
    assert len(zurich.keyring.unwrap(wrapped, context)) == 32  # the region's own key opens it
    with pytest.raises(KeyringError):  # the vault's own keys do not open a Swiss subject's key
        api.vault.keyring.unwrap(wrapped, context)
    assert api.vault.key_store.keys(heidi).wrapped == {}  # and the default key store holds none of it


def test_rights_work_in_a_region_and_erasure_destroys_its_key_there(regional: ApiClient) -> None:
    api = regional
    heidi = _subject_in(api, "ch", HEIDI)
    me = api.subject_auth(HEIDI["email"])  # the code's challenge lives in the Swiss database
    report = api.http.get("/v1/me/report", headers=me).json()
    assert report["subject_id"] == heidi and report["data"]["profile"]["email"] == HEIDI["email"]
    assert api.http.post("/v1/me/restriction", headers=me).json()["state"] == "completed"
    assert (
        api.http.get(f"/v1/subjects/{heidi}?purpose=support", headers=api.auth("support-agent")).json()[
            "data"
        ]
        == {}
    )

    rid = api.http.post("/v1/me/erasure", headers=me).json()["id"]
    done = api.http.post(f"/v1/rights-requests/{rid}/approve", headers=api.auth("privacy-lead")).json()
    assert done["state"] == "completed" and done["details"]["kept"] == [
        "profile.country",
        "profile.full_name",
    ]
    zurich = api.vault.regions.store("ch")
    assert not zurich.key_store.keys(heidi).has(KeySlot.DATA)
    assert verify_log(api.vault.engine, api.vault.keyring.audit_verification_keys()).intact


def test_a_region_without_its_database_is_named(tmp_path: Path, policy: Policy, database_url: str) -> None:
    settings = Settings(home=tmp_path, database_url=database_url)
    LocalKeyring.generate(region_keyring_path(settings, "ch"))
    with pytest.raises(DatawardError) as missing:
        Vault.build(settings, policy=_with_switzerland(policy), keyring=LocalKeyring.generate(), environ={})
    assert CH_URL in missing.value.detail
    with pytest.raises(DatawardError) as shared:  # the vault's own database is not a region of its own
        Vault.build(
            settings, policy=_with_switzerland(policy), keyring=LocalKeyring.generate(),
            environ={CH_URL: database_url},
        )  # fmt: skip
    assert "another region's" in shared.value.detail
    document = policy.model_dump(mode="json")
    document["regions"]["ch"] = {"description": "Zurich"}
    with pytest.raises(PolicyError) as unnamed:
        parse_policy(yaml.safe_dump(document))
    assert any("database_url_env" in str(p) for p in unnamed.value.problems)


def test_retention_sweeps_every_region(regional: ApiClient, clock: FrozenClock) -> None:
    api = regional
    heidi, ada = _subject_in(api, "ch", HEIDI), _subject_in(api, "eu", ADA)
    clock.advance(11 * 366 * 86_400.0)  # past every purpose's retention
    report = api.vault.sweep_retention("test")
    assert report.removed["profile.email"] == 2  # one in each region
    assert report.subjects == 2
    assert _rows(api.vault.regions.store("ch").engine, heidi) == 1  # the subject row alone is left
    assert _rows(api.vault.engine, ada) == 1


def test_an_erasure_cut_short_after_the_region_committed_is_finished_by_approving_again(
    regional: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The region's rows went, then the vault's own transaction failed (here: writing the notices):
    approving again finishes the request, with the fields the processors must hear of."""
    api = regional
    heidi = _subject_in(api, "ch", {"email": HEIDI["email"]})  # nothing an obligation keeps
    me = api.subject_auth(HEIDI["email"])
    rid = api.http.post("/v1/me/erasure", headers=me).json()["id"]
    real = api.vault.outbox.enqueue
    calls: list[int] = []

    def fail_once(*args: object, **kwargs: object) -> list[str]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the vault's database went away")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(api.vault.outbox, "enqueue", fail_once)
    lead = api.auth("privacy-lead")
    failed = api.http.post(f"/v1/rights-requests/{rid}/approve", headers=lead)
    assert failed.status_code == 500 and "went away" not in failed.text
    with api.vault.regions.store("ch").engine.connect() as connection:  # the region committed
        assert connection.execute(select(func.count()).where(subjects.c.id == heidi)).scalar_one() == 0
    done = api.http.post(f"/v1/rights-requests/{rid}/approve", headers=lead)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "completed"
    assert done.json()["details"]["removed"] == ["profile.email"]
