"""Where data may go: the EEA, and the countries with an EU adequacy decision (GDPR Art. 45)."""

from __future__ import annotations

from functools import cache

import phonenumbers

__all__ = ["ADEQUATE_COUNTRIES", "EEA_COUNTRIES", "is_country_code"]

EEA_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split()
)

# Art. 45 adequacy decisions in force. US adequacy covers only companies certified under the
# EU-US Data Privacy Framework, which the processor entry's DPA reference should show.
ADEQUATE_COUNTRIES = frozenset("AD AR CA CH FO GB GG IL IM JE JP KR NZ US UY".split())


@cache
def _regions() -> frozenset[str]:
    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def is_country_code(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code of a country or territory."""
    return code in _regions()
