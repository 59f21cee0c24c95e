"""The records of processing (Art. 30(1)): every item the article asks for, in every format, in the
policy file's order."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from dataward.policy import Policy, parse_policy
from dataward.policy.records import (
    CSV_COLUMNS,
    RecordsFormat,
    RecordsOfProcessing,
    build_records,
    records_as_csv,
    records_as_dict,
    records_as_markdown,
    render_records,
)
from dataward.policy.wording import retention_in_words

POLICY = Path(__file__).resolve().parent / "data" / "records.yaml"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    return document


def _parse(document: dict[str, Any]) -> Policy:
    return parse_policy(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture
def records() -> RecordsOfProcessing:
    """The test policy, with a representative, staff as data subjects, a scoring purpose that decides
    automatically, and a second third-country processor under binding corporate rules."""
    document = _document()
    document["controller"]["eu_representative"] = "Rep Ltd, Dublin, rep@example.ie"
    document["collections"]["health"]["data_subjects"] = ["customers", "event staff"]
    document["purposes"]["scoring"] = {
        "description": "Score sign-ups for fraud",
        "legal_basis": "legitimate_interests",
        "data_use": "essential.service.security",
        "fields": ["profile.email", "profile.country"],
        "retention": "P1Y6M",
        "source": "our fraud-prevention partner",
        "automated_decision": "Sign-ups scoring above 0.9 are refused; a person reviews appeals",
    }
    document["processors"]["scorer"] = {
        "name": "Example Score Pvt Ltd",
        "country": "IN",
        "transfer_mechanism": "bcr",
        "purposes": ["scoring"],
        "dpa": "contracts/dpa-score.pdf",
    }
    document["security_measures"] = ["Quarterly access reviews", "Encrypted backups"]
    return build_records(_parse(document))


def _activity(records: RecordsOfProcessing, purpose: str) -> Any:
    return next(a for a in records.activities if a.purpose == purpose)


ART_30_ITEMS = [
    "Example SaaS GmbH",  # (a) the controller
    "privacy@example.com",  # (a) its contact details
    "Rep Ltd, Dublin, rep@example.ie",  # (a) its representative
    "dpo@example.com",  # (a) the data protection officer
    "Invoice customers for their subscription",  # (b) a purpose
    "Art. 6(1)(b)",  # its legal basis
    "event staff",  # (c) a category of data subjects
    "user.health_and_medical",  # (c) a category of personal data
    "Example Payments SA",  # (d) a recipient
    "standard contractual clauses (Art. 46(2)(c))",  # (e) a transfer's safeguard
    "binding corporate rules (Art. 47)",  # ... and another's
    "P10Y",  # (f) a time limit for erasure
    "10 years",  # ... in words
    "Quarterly access reviews",  # (g) the security measures
]


@pytest.mark.parametrize("fmt", list(RecordsFormat))
def test_every_art_30_item_appears_in_every_format(records: RecordsOfProcessing, fmt: RecordsFormat) -> None:
    text = render_records(records, fmt)
    missing = [item for item in ART_30_ITEMS if item not in text]
    assert not missing, f"{fmt}: {missing}"


def test_markdown_names_each_paragraph_of_art_30(records: RecordsOfProcessing) -> None:
    text = records_as_markdown(records)
    for letter in "abcdefg":
        assert f"Art. 30(1)({letter})" in text
    assert text.count("## Processing activity:") == 5
    assert "| Representative in the Union (Art. 27) | Rep Ltd, Dublin, rep@example.ie |" in text


def test_a_third_country_processor_shows_its_country_and_safeguard(records: RecordsOfProcessing) -> None:
    data = records_as_dict(records)
    activities = {a["purpose"]: a for a in data["processing_activities"]}
    (mailer,) = activities["marketing"]["third_country_transfers"]
    assert mailer["name"] == "Example Mail Inc." and mailer["country"] == "US" and mailer["third_country"]
    assert mailer["transfer_mechanism"] == "scc"
    assert mailer["safeguard"] == "standard contractual clauses (Art. 46(2)(c))"
    assert mailer["dpa"] == "contracts/dpa-example-mail-2026-03.pdf"
    (scorer,) = activities["scoring"]["third_country_transfers"]
    assert scorer["country"] == "IN" and scorer["safeguard"] == "binding corporate rules (Art. 47)"
    (payments,) = activities["billing"]["recipients"]
    assert payments["country"] == "FR" and not payments["third_country"]
    assert activities["billing"]["third_country_transfers"] == []  # France is no transfer


def test_data_subjects_come_from_the_collections_of_the_purposes_fields(records: RecordsOfProcessing) -> None:
    assert _activity(records, "care").data_subjects == ("customers", "event staff")  # profile + health
    assert _activity(records, "billing").data_subjects == ("customers",)  # profile only


def test_special_categories_carry_their_art_9_condition(records: RecordsOfProcessing) -> None:
    categories = {c.category: c for c in _activity(records, "care").data_categories}
    health = categories["user.health_and_medical"]
    assert health.special_category and health.fields == ("health.allergies",)
    assert health.art9_condition == "Art. 9(2)(a): explicit consent"
    assert not categories["user.name"].special_category and categories["user.name"].art9_condition is None

    document = _document()
    document["purposes"]["care"].update(legal_basis="vital_interests", explicit_consent=False)
    document["purposes"]["care"]["art9_condition"] = "9(2)(c)"
    (activity,) = [a for a in build_records(_parse(document)).activities if a.purpose == "care"]
    assert activity.data_categories[0].art9_condition == (
        "Art. 9(2)(c): vital interests of a subject unable to consent"
    )


def test_retention_is_given_as_iso_8601_and_in_words(records: RecordsOfProcessing) -> None:
    scoring = _activity(records, "scoring")
    assert (scoring.retention, scoring.retention_in_words) == ("P1Y6M", "1 year and 6 months")
    assert "P6M (6 months)" in records_as_markdown(records)


@pytest.mark.parametrize(
    ("iso", "words"),
    [
        ("P10Y", "10 years"),
        ("P1Y", "1 year"),
        ("P6M", "6 months"),
        ("P30D", "30 days"),
        ("P2W", "14 days"),
        ("PT36H", "1 day and 12 hours"),
        ("P1Y2M3DT4H", "1 year, 2 months, 3 days and 4 hours"),
    ],
)
def test_retention_in_words(iso: str, words: str) -> None:
    assert retention_in_words(iso) == words


def test_automated_decisions_are_recorded_where_declared(records: RecordsOfProcessing) -> None:
    assert _activity(records, "scoring").automated_decision.startswith("Sign-ups scoring above 0.9")
    assert _activity(records, "billing").automated_decision is None
    text = records_as_markdown(records)
    assert "**Automated decision-making (Art. 22)**: Sign-ups scoring above 0.9" in text
    assert _activity(records, "scoring").source == "our fraud-prevention partner"


def test_the_csv_parses_with_one_complete_row_per_processing_activity(records: RecordsOfProcessing) -> None:
    rows = list(csv.DictReader(io.StringIO(records_as_csv(records))))
    assert [r["purpose"] for r in rows] == ["billing", "marketing", "support", "care", "scoring"]
    assert tuple(rows[0]) == CSV_COLUMNS
    care = rows[3]
    assert care["data_subjects"] == "customers; event staff"  # lists joined with "; "
    assert care["data_categories"] == "user.health_and_medical; user.name"
    assert "health.allergies" in care["special_categories"] and "9(2)(a)" in care["special_categories"]
    assert rows[1]["third_country_transfers"].endswith("standard contractual clauses (Art. 46(2)(c))")
    assert rows[2]["recipients"] == "none"
    assert all(r["controller"] == "Example SaaS GmbH" and r["dpo_contact"] == "dpo@example.com" for r in rows)
    assert rows[0]["security_measures"] == "Quarterly access reviews; Encrypted backups"


def test_a_csv_cell_never_starts_a_spreadsheet_formula() -> None:
    document = _document()
    document["purposes"]["billing"]["description"] = '=HYPERLINK("http://evil.example")'
    rows = list(csv.DictReader(io.StringIO(records_as_csv(build_records(_parse(document))))))
    assert rows[0]["description"] == '\'=HYPERLINK("http://evil.example")'


def test_output_is_deterministic_and_follows_the_policy_file_order() -> None:
    document = _document()
    first = {fmt: render_records(build_records(_parse(document)), fmt) for fmt in RecordsFormat}
    again = {fmt: render_records(build_records(_parse(document)), fmt) for fmt in RecordsFormat}
    assert first == again

    document["purposes"] = dict(reversed(document["purposes"].items()))
    document["processors"] = dict(reversed(document["processors"].items()))
    document["purposes"]["billing"]["fields"] = ["profile.country", "profile.email"]
    data = json.loads(render_records(build_records(_parse(document)), RecordsFormat.JSON))
    activities = data["processing_activities"]
    assert [a["purpose"] for a in activities] == ["care", "support", "marketing", "billing"]
    billing = activities[-1]
    assert [c["category"] for c in billing["data_categories"]] == [
        "user.contact.address.country",
        "user.contact.email",
    ]


def test_the_default_security_measures_are_recorded_when_the_policy_names_none() -> None:
    policy = _parse(_document())
    data = records_as_dict(build_records(policy))
    assert any("AES-256-GCM" in m for m in data["security_measures"])
    assert data["controller"]["eu_representative"] is None
    assert "| Representative in the Union (Art. 27) | none |" in records_as_markdown(build_records(policy))


def test_markdown_keeps_each_value_on_its_line_and_in_its_cell() -> None:
    document = _document()
    document["controller"]["contact"] = "privacy@example.com |\n| Injected | row"
    text = records_as_markdown(build_records(_parse(document)))
    assert "| Contact | privacy@example.com \\| \\| Injected \\| row |" in text
