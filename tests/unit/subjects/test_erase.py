"""Erasure in the subject service: what stays is what the current policy's obligations keep."""

from __future__ import annotations

from dataward.keys.subject_keys import KeySlot
from dataward.policy import Policy
from dataward.services import Vault
from dataward.storage import read_connection, write_transaction
from dataward.subjects import SubjectService

PROFILE = {"email": "ada@example.com", "full_name": "Ada Lovelace", "country": "gb"}


def test_a_field_no_obligation_keeps_any_more_goes_with_the_erasure(vault: Vault) -> None:
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        vault.subjects.write(connection, sid, "profile", vault.subjects.check_collection("profile", PROFILE))
    # the policy changes: invoicing keeps the country only, no longer the name
    document = vault.policy.model_dump(mode="json")
    document["purposes"]["invoicing"]["fields"] = ["profile.country"]
    policy = Policy.model_validate(document)
    changed = SubjectService(vault.engine, vault.key_store, vault.keyring, policy, vault.clock)
    with write_transaction(vault.engine) as connection:
        erasure = changed.erase(connection, sid)
    assert erasure.kept == ["profile.country"]
    assert sorted(erasure.removed) == ["profile.email", "profile.full_name"]
    with read_connection(vault.engine) as connection:
        assert changed.held(connection, sid) == ["profile.country"]
        assert changed.read(connection, sid, ["profile.country"]).values == {"profile.country": "GB"}


def test_erasing_twice_finishes_what_the_first_left(vault: Vault) -> None:
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        vault.subjects.write(connection, sid, "profile", vault.subjects.check_collection("profile", PROFILE))
    vault.key_store.destroy(sid, [KeySlot.DATA])  # a first erasure died after destroying the key
    with write_transaction(vault.engine) as connection:
        erasure = vault.subjects.erase(connection, sid)
    assert erasure.kept == ["profile.country", "profile.full_name"]
    with read_connection(vault.engine) as connection:
        assert vault.subjects.held(connection, sid) == ["profile.country", "profile.full_name"]
        assert vault.subjects.state(connection, sid).erased
