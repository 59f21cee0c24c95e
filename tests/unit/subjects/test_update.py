"""A rectification changes only the fields it names, under the subject's lock."""

from __future__ import annotations

import pytest

from dataward.errors import NotFound
from dataward.services import Vault
from dataward.storage import read_connection, write_transaction

PROFILE = {"email": "ada@example.com", "full_name": "Ada Lovelace", "country": "gb"}
ORDER = {"product": "Difference Engine", "amount_cents": 100, "ordered_on": "1822-06-14"}


def test_an_update_keeps_the_fields_it_does_not_name(vault: Vault) -> None:
    check = vault.subjects.check_collection
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        vault.subjects.write(connection, sid, "profile", check("profile", PROFILE))
        vault.subjects.update(connection, sid, "profile", check("profile", {"full_name": "A. Lovelace"}))
        vault.subjects.update(connection, sid, "profile", check("profile", {"country": "fr"}))
    with read_connection(vault.engine) as connection:
        values = vault.subjects.read(connection, sid, vault.policy.field_paths()).values_of("profile")
    assert values == {"email": "ada@example.com", "full_name": "A. Lovelace", "country": "FR"}


def test_an_update_of_another_subjects_record_finds_nothing(vault: Vault) -> None:
    check = vault.subjects.check_collection
    with write_transaction(vault.engine) as connection:
        ada, bob = vault.subjects.create(connection), vault.subjects.create(connection)
        bobs_order = vault.subjects.write(connection, bob, "orders", check("orders", ORDER))
        with pytest.raises(NotFound):
            vault.subjects.update(connection, ada, "orders", check("orders", {"amount_cents": 1}), bobs_order)
    with read_connection(vault.engine) as connection:
        orders = vault.subjects.read(connection, bob, vault.policy.field_paths()).many["orders"]
    assert orders[bobs_order]["amount_cents"] == 100
