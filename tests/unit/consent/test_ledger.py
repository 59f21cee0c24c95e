"""The consent ledger: append-only, the latest event decides, history is kept whole."""

from __future__ import annotations

import pytest

from dataward.access import ConsentStatus
from dataward.clock import FrozenClock
from dataward.errors import InvalidRequest, NotFound
from dataward.services import Vault
from dataward.storage import write_transaction


def test_give_withdraw_give_again_keeps_every_event_in_order(vault: Vault, clock: FrozenClock) -> None:
    ledger = vault.consent
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        assert ledger.status(connection, sid, "marketing") is ConsentStatus.NEVER_GIVEN
        ledger.give(connection, sid, "marketing", notice_version="v1", source="web", client_id="c1")
        assert ledger.status(connection, sid, "marketing") is ConsentStatus.GIVEN
        clock.advance(86_400)
        ledger.withdraw(connection, sid, "marketing", client_id="c1")
        assert ledger.status(connection, sid, "marketing") is ConsentStatus.WITHDRAWN
        clock.advance(86_400)
        ledger.give(connection, sid, "marketing", notice_version="v2", source="app", client_id="c2")
        history = ledger.history(connection, sid)

    assert [(e.event, e.notice_version) for e in history] == [
        (ConsentStatus.GIVEN, "v1"),
        (ConsentStatus.WITHDRAWN, None),
        (ConsentStatus.GIVEN, "v2"),
    ]
    assert history[0].at < history[1].at < history[2].at


def test_consent_is_per_subject_and_per_purpose(vault: Vault) -> None:
    with write_transaction(vault.engine) as connection:
        ada, bob = vault.subjects.create(connection), vault.subjects.create(connection)
        vault.consent.give(connection, ada, "marketing", notice_version="v1", source="web", client_id="c")
        assert vault.consent.status(connection, bob, "marketing") is ConsentStatus.NEVER_GIVEN
        assert vault.consent.status(connection, ada, "care") is ConsentStatus.NEVER_GIVEN


@pytest.mark.parametrize("purpose", ["billing", "no-such-purpose"])
def test_consent_only_for_purposes_that_rest_on_it(vault: Vault, purpose: str) -> None:
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        with pytest.raises(InvalidRequest):
            vault.consent.give(connection, sid, purpose, notice_version="v1", source="web", client_id="c")


def test_withdrawing_what_was_never_given_is_not_found(vault: Vault) -> None:
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        with pytest.raises(NotFound):
            vault.consent.withdraw(connection, sid, "marketing", client_id="c")
