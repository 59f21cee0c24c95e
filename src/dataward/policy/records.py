"""The records of processing activities (GDPR Art. 30(1)), derived from the policy file.

One processing activity per purpose, in the file's order, so the same policy always gives the same
records. `build_records` makes the typed records; `records_as_dict`, `records_as_markdown` and
`records_as_csv` render them for a script, a reader and a spreadsheet; `render_records` picks one by
its `RecordsFormat`, for the command line and the API alike.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from dataward.policy.models import Policy, Processor, Purpose
from dataward.policy.wording import (
    art9_condition,
    legal_basis_article,
    legal_basis_label,
    retention_in_words,
    transfer_safeguard,
)
from dataward.spreadsheet import safe_cell

__all__ = [
    "CSV_COLUMNS",
    "ControllerDetails",
    "DataCategory",
    "ProcessingActivity",
    "Recipient",
    "RecordsFormat",
    "RecordsOfProcessing",
    "build_records",
    "category_as_dict",
    "data_categories_of",
    "recipient",
    "recipient_as_dict",
    "recipients_of",
    "records_as_csv",
    "records_as_dict",
    "records_as_markdown",
    "render_records",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ControllerDetails:
    """Art. 30(1)(a): the controller, its representative in the Union and its DPO."""

    name: str
    contact: str
    dpo_contact: str
    eu_representative: str | None


@dataclass(frozen=True, slots=True)
class DataCategory:
    """A fideslang data category and the fields that hold it; special categories carry the Art. 9(2)
    condition that allows their processing."""

    category: str
    fields: tuple[str, ...]
    special_category: bool
    art9_condition: str | None


@dataclass(frozen=True, slots=True)
class Recipient:
    """A processor that receives the data, and what makes a transfer to it lawful."""

    processor: str
    name: str
    country: str
    third_country: bool
    transfer_mechanism: str | None
    safeguard: str
    dpa: str


@dataclass(frozen=True, slots=True)
class ProcessingActivity:
    purpose: str
    description: str
    legal_basis: str
    legal_basis_article: str
    legal_basis_label: str
    data_use: str
    data_subjects: tuple[str, ...]
    data_categories: tuple[DataCategory, ...]
    recipients: tuple[Recipient, ...]
    retention: str
    retention_in_words: str
    source: str
    automated_decision: str | None

    @property
    def transfers(self) -> tuple[Recipient, ...]:
        """Art. 30(1)(e): the recipients in a third country."""
        return tuple(r for r in self.recipients if r.third_country)


@dataclass(frozen=True, slots=True)
class RecordsOfProcessing:
    controller: ControllerDetails
    activities: tuple[ProcessingActivity, ...]
    security_measures: tuple[str, ...]


def build_records(policy: Policy) -> RecordsOfProcessing:
    c = policy.controller
    return RecordsOfProcessing(
        controller=ControllerDetails(c.name, c.contact, c.dpo_contact, c.eu_representative),
        activities=tuple(_activity(policy, name, purpose) for name, purpose in policy.purposes.items()),
        security_measures=tuple(policy.security_measures),
    )


def recipient(key: str, processor: Processor) -> Recipient:
    mechanism = processor.transfer_mechanism
    return Recipient(
        processor=key,
        name=processor.name,
        country=processor.country,
        third_country=processor.third_country,
        transfer_mechanism=mechanism.value if mechanism else None,
        safeguard=transfer_safeguard(processor),
        dpa=processor.dpa,
    )


def recipients_of(policy: Policy, purpose: str) -> tuple[Recipient, ...]:
    """The processors that serve `purpose`, in file order."""
    return tuple(recipient(key, p) for key, p in policy.processors.items() if purpose in p.purposes)


def data_categories_of(policy: Policy, purpose: Purpose, fields: list[str]) -> tuple[DataCategory, ...]:
    """The data categories of `fields` (used under `purpose`), grouped by category in field order."""
    grouped: dict[str, list[str]] = {}
    special: set[str] = set()
    for path in fields:
        spec = policy.field(path)
        if spec is None:
            continue
        grouped.setdefault(spec.category, []).append(path)
        if spec.special_category:
            special.add(spec.category)
    return tuple(
        DataCategory(category, tuple(paths), category in special,
                     art9_condition(purpose) if category in special else None)
        for category, paths in grouped.items()
    )  # fmt: skip


def _activity(policy: Policy, name: str, purpose: Purpose) -> ProcessingActivity:
    fields = policy.expand(purpose.fields)
    collections = {path.partition(".")[0] for path in fields}
    subjects: list[str] = []
    for collection_name, collection in policy.collections.items():
        if collection_name in collections:
            subjects += [s for s in collection.data_subjects if s not in subjects]
    return ProcessingActivity(
        purpose=name,
        description=purpose.description,
        legal_basis=purpose.legal_basis.value,
        legal_basis_article=legal_basis_article(purpose.legal_basis),
        legal_basis_label=legal_basis_label(purpose.legal_basis),
        data_use=purpose.data_use,
        data_subjects=tuple(subjects),
        data_categories=data_categories_of(policy, purpose, fields),
        recipients=recipients_of(policy, name),
        retention=purpose.retention,
        retention_in_words=retention_in_words(purpose.retention),
        source=purpose.source,
        automated_decision=purpose.automated_decision,
    )


# -- JSON ------------------------------------------------------------------------------------------


def recipient_as_dict(r: Recipient) -> dict[str, Any]:
    return {
        "processor": r.processor,
        "name": r.name,
        "country": r.country,
        "third_country": r.third_country,
        "transfer_mechanism": r.transfer_mechanism,
        "safeguard": r.safeguard,
        "dpa": r.dpa,
    }


def category_as_dict(c: DataCategory) -> dict[str, Any]:
    return {
        "category": c.category,
        "fields": list(c.fields),
        "special_category": c.special_category,
        "art9_condition": c.art9_condition,
    }


def records_as_dict(records: RecordsOfProcessing) -> dict[str, Any]:
    c = records.controller
    return {
        "controller": {
            "name": c.name,
            "contact": c.contact,
            "eu_representative": c.eu_representative,
            "dpo_contact": c.dpo_contact,
        },
        "processing_activities": [
            {
                "purpose": a.purpose,
                "description": a.description,
                "legal_basis": a.legal_basis,
                "legal_basis_article": a.legal_basis_article,
                "legal_basis_label": a.legal_basis_label,
                "data_use": a.data_use,
                "data_subjects": list(a.data_subjects),
                "data_categories": [category_as_dict(d) for d in a.data_categories],
                "recipients": [recipient_as_dict(r) for r in a.recipients],
                "third_country_transfers": [recipient_as_dict(r) for r in a.transfers],
                "retention": a.retention,
                "retention_in_words": a.retention_in_words,
                "source": a.source,
                "automated_decision": a.automated_decision,
            }
            for a in records.activities
        ],
        "security_measures": list(records.security_measures),
    }


# -- text renderings -------------------------------------------------------------------------------


def _category_text(c: DataCategory) -> str:
    text = f"{c.category} ({', '.join(c.fields)})"
    if c.special_category:
        text += f", special category under {c.art9_condition or 'no Art. 9(2) condition'}"
    return text


def _recipient_text(r: Recipient) -> str:
    return f"{r.name} ({r.country}), DPA {r.dpa}"


def _transfer_text(r: Recipient) -> str:
    return f"{r.name} to {r.country}: {r.safeguard}"


def _retention_text(a: ProcessingActivity) -> str:
    return f"{a.retention} ({a.retention_in_words})"


def _inline(text: str) -> str:
    """Text that stays on one Markdown line and inside one table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def records_as_markdown(records: RecordsOfProcessing) -> str:
    c = records.controller
    lines = [
        "# Records of processing activities",
        "",
        f"Kept under GDPR Art. 30(1) by {_inline(c.name)}, derived from its Dataward policy.",
        "",
        "## Controller (Art. 30(1)(a))",
        "",
        "| | |",
        "|---|---|",
        f"| Controller | {_inline(c.name)} |",
        f"| Contact | {_inline(c.contact)} |",
        f"| Representative in the Union (Art. 27) | {_inline(c.eu_representative or 'none')} |",
        f"| Data protection officer | {_inline(c.dpo_contact)} |",
    ]
    for a in records.activities:
        items = [
            ("Purpose (Art. 30(1)(b))", a.description),
            ("Legal basis", f"{a.legal_basis_article}: {a.legal_basis_label}"),
            ("Data use", a.data_use),
            ("Categories of data subjects (Art. 30(1)(c))", "; ".join(a.data_subjects)),
            ("Categories of personal data (Art. 30(1)(c))", _joined(_category_text, a.data_categories)),
            ("Recipients (Art. 30(1)(d))", _joined(_recipient_text, a.recipients)),
            ("Transfers to third countries (Art. 30(1)(e))", _joined(_transfer_text, a.transfers)),
            ("Time limit for erasure (Art. 30(1)(f))", _retention_text(a)),
            ("Source of the data", a.source),
            ("Automated decision-making (Art. 22)", a.automated_decision or "none"),
        ]
        lines += ["", f"## Processing activity: {a.purpose}", ""]
        lines += [f"- **{label}**: {_inline(value)}" for label, value in items]
    lines += ["", "## Technical and organisational security measures (Art. 30(1)(g), 32)", ""]
    lines += [f"- {_inline(m)}" for m in records.security_measures]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "purpose", "description", "legal_basis", "legal_basis_article", "data_use", "data_subjects",
    "data_categories", "special_categories", "recipients", "third_country_transfers", "retention",
    "retention_in_words", "source", "automated_decision", "controller", "controller_contact",
    "eu_representative", "dpo_contact", "security_measures",
)  # fmt: skip


def records_as_csv(records: RecordsOfProcessing) -> str:
    """One row per processing activity, each a complete Art. 30(1) record; lists joined with "; "."""
    c = records.controller
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for a in records.activities:
        row = (
            a.purpose, a.description, a.legal_basis, a.legal_basis_article, a.data_use,
            "; ".join(a.data_subjects),
            "; ".join(d.category for d in a.data_categories),
            _joined(_category_text, tuple(d for d in a.data_categories if d.special_category)),
            _joined(_recipient_text, a.recipients), _joined(_transfer_text, a.transfers),
            a.retention, a.retention_in_words, a.source, a.automated_decision or "none",
            c.name, c.contact, c.eu_representative or "none", c.dpo_contact,
            "; ".join(records.security_measures),
        )  # fmt: skip
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


def _joined(render: Callable[[_T], str], items: tuple[_T, ...]) -> str:
    return "; ".join(render(item) for item in items) or "none"


class RecordsFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "md"
    CSV = "csv"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    RecordsFormat.JSON: "application/json",
    RecordsFormat.MARKDOWN: "text/markdown; charset=utf-8",
    RecordsFormat.CSV: "text/csv; charset=utf-8",
}


def render_records(records: RecordsOfProcessing, fmt: RecordsFormat) -> str:
    if fmt is RecordsFormat.MARKDOWN:
        return records_as_markdown(records)
    if fmt is RecordsFormat.CSV:
        return records_as_csv(records)
    return json.dumps(records_as_dict(records), indent=2, ensure_ascii=False) + "\n"
