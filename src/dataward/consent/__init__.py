"""The consent ledger: append-only, with its whole history kept."""

from dataward.consent.ledger import ConsentEvent, ConsentLedger

__all__ = ["ConsentEvent", "ConsentLedger"]
