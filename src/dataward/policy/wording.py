"""How the policy's terms read to people: the GDPR articles behind a legal basis, an Art. 9 condition
and a transfer mechanism, and a retention period in words. Shared by the records of processing
(Art. 30) and the information given to a data subject (Art. 15), so both say the same thing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import isodate

from dataward.policy.models import LegalBasis, Processor, Purpose, TransferMechanism

__all__ = [
    "art9_condition",
    "legal_basis_article",
    "legal_basis_label",
    "retention_in_words",
    "transfer_safeguard",
]

_BASES: dict[LegalBasis, tuple[str, str]] = {
    LegalBasis.CONSENT: ("Art. 6(1)(a)", "consent of the data subject"),
    LegalBasis.CONTRACT: ("Art. 6(1)(b)", "performance of a contract with the data subject"),
    LegalBasis.LEGAL_OBLIGATION: ("Art. 6(1)(c)", "compliance with a legal obligation"),
    LegalBasis.VITAL_INTERESTS: ("Art. 6(1)(d)", "protection of vital interests"),
    LegalBasis.PUBLIC_TASK: ("Art. 6(1)(e)", "performance of a task in the public interest"),
    LegalBasis.LEGITIMATE_INTERESTS: ("Art. 6(1)(f)", "legitimate interests of the controller"),
}

_ART9: dict[str, str] = {
    "9(2)(a)": "explicit consent",
    "9(2)(b)": "employment, social security and social protection law",
    "9(2)(c)": "vital interests of a subject unable to consent",
    "9(2)(d)": "activities of a foundation, association or other not-for-profit body",
    "9(2)(e)": "data manifestly made public by the data subject",
    "9(2)(f)": "legal claims or courts acting in their judicial capacity",
    "9(2)(g)": "substantial public interest",
    "9(2)(h)": "preventive or occupational medicine, health or social care",
    "9(2)(i)": "public interest in public health",
    "9(2)(j)": "archiving, scientific or historical research, or statistics",
}

_MECHANISMS: dict[TransferMechanism, str] = {
    TransferMechanism.ADEQUACY: "adequacy decision (Art. 45)",
    TransferMechanism.SCC: "standard contractual clauses (Art. 46(2)(c))",
    TransferMechanism.BCR: "binding corporate rules (Art. 47)",
    TransferMechanism.DEROGATION: "derogation for a specific situation (Art. 49)",
}


def legal_basis_article(basis: LegalBasis) -> str:
    """The article of a lawful basis, such as `Art. 6(1)(b)`."""
    return _BASES[basis][0]


def legal_basis_label(basis: LegalBasis) -> str:
    """A lawful basis in words, such as `performance of a contract with the data subject`."""
    return _BASES[basis][1]


def art9_condition(purpose: Purpose) -> str | None:
    """The Art. 9(2) condition that lets a purpose use special-category data, in words; None when
    the purpose names none (the policy check refuses such a purpose if it uses such data)."""
    condition = purpose.art9_condition or ("9(2)(a)" if purpose.explicit_consent else None)
    return None if condition is None else f"Art. {condition}: {_ART9[condition]}"


def transfer_safeguard(processor: Processor) -> str:
    """What makes a transfer to this processor lawful (GDPR Chapter V), in words."""
    if not processor.third_country:
        return "none needed: within the EEA"
    mechanism = processor.transfer_mechanism
    if mechanism is None:
        return "none on record"
    words = _MECHANISMS[mechanism]
    if mechanism is TransferMechanism.ADEQUACY and processor.country == "US":
        words += ", for a recipient certified under the EU-US Data Privacy Framework"
    return words


_CLOCK = (("hour", 3600), ("minute", 60), ("second", 1))


def retention_in_words(iso: str) -> str:
    """An ISO 8601 duration in words: `P10Y` -> `10 years`, `P1Y6M` -> `1 year and 6 months`."""
    parsed = isodate.parse_duration(iso)
    years: Decimal | int = 0
    months: Decimal | int = 0
    rest: timedelta = parsed
    if isinstance(parsed, isodate.Duration):
        years, months, rest = parsed.years, parsed.months, parsed.tdelta
    parts = [(years, "year"), (months, "month"), (rest.days, "day")]
    seconds = rest.seconds
    for unit, size in _CLOCK:
        parts.append((seconds // size, unit))
        seconds %= size
    words = [f"{_number(n)} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n]
    if len(words) <= 1:
        return words[0] if words else "0 days"
    return ", ".join(words[:-1]) + " and " + words[-1]


def _number(value: Decimal | int) -> str:
    return str(int(value)) if value == int(value) else str(value)
