"""What a data subject is told (Art. 15(1)(a)-(h), 15(2)): only about the purposes that use their
data, with recipients, safeguards, retention, source, rights and the authority to complain to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dataward.policy import Policy, parse_policy
from dataward.policy.disclosure import NO_AUTOMATED_DECISIONS, subject_information

POLICY = Path(__file__).resolve().parent / "data" / "records.yaml"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    return document


def _parse(document: dict[str, Any]) -> Policy:
    return parse_policy(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture
def policy() -> Policy:
    return _parse(_document())


def _names(items: list[dict[str, Any]], key: str = "purpose") -> list[str]:
    return [item[key] for item in items]


def test_purposes_that_use_none_of_the_subjects_fields_are_left_out(policy: Policy) -> None:
    phone_only = subject_information(policy, {"profile.phone"})
    assert _names(phone_only["purposes"]) == ["support"]  # support uses profile.*; nothing else does
    assert phone_only["recipients"] == [] and phone_only["transfers"] == []
    assert _names(phone_only["retention"]) == ["support"]

    allergies_only = subject_information(policy, ["health.allergies"])
    assert _names(allergies_only["purposes"]) == ["care"]

    email = subject_information(policy, ["profile.email"])
    assert _names(email["purposes"]) == ["billing", "marketing", "support"]  # file order

    nothing = subject_information(policy, [])
    assert nothing["purposes"] == [] and nothing["data_categories"] == [] and nothing["recipients"] == []


def test_each_purpose_has_its_legal_basis_description_fields_and_retention(policy: Policy) -> None:
    info = subject_information(policy, ["profile.full_name", "profile.email", "profile.unknown"])
    marketing = next(p for p in info["purposes"] if p["purpose"] == "marketing")
    assert marketing["description"] == "Send the product newsletter"
    assert (marketing["legal_basis"], marketing["legal_basis_article"]) == ("consent", "Art. 6(1)(a)")
    assert marketing["fields"] == ["profile.email", "profile.full_name"]  # unknown paths are ignored
    assert (marketing["retention"], marketing["retention_in_words"]) == ("P2Y", "2 years")
    care = next(p for p in info["purposes"] if p["purpose"] == "care")
    assert care["fields"] == ["profile.full_name"]  # only what the subject has, not health.allergies


def test_categories_of_personal_data_concerned_flag_special_categories(policy: Policy) -> None:
    info = subject_information(policy, ["health.allergies", "profile.email"])
    categories = {c["category"]: c for c in info["data_categories"]}
    assert set(categories) == {"user.contact.email", "user.health_and_medical"}
    assert categories["user.health_and_medical"]["special_category"]
    assert categories["user.health_and_medical"]["fields"] == ["health.allergies"]
    care = next(p for p in info["purposes"] if p["purpose"] == "care")
    assert care["data_categories"][0]["art9_condition"] == "Art. 9(2)(a): explicit consent"


def test_recipients_carry_their_country_and_transfer_safeguard(policy: Policy) -> None:
    info = subject_information(policy, ["profile.email"])
    recipients = {r["processor"]: r for r in info["recipients"]}
    assert recipients["mailer"]["country"] == "US" and recipients["mailer"]["third_country"]
    assert recipients["mailer"]["safeguard"] == "standard contractual clauses (Art. 46(2)(c))"
    assert recipients["mailer"]["purposes"] == ["marketing"]
    assert recipients["payments"]["country"] == "FR" and not recipients["payments"]["third_country"]
    assert _names(info["transfers"], "processor") == ["mailer"]  # Art. 15(2): third countries only
    assert "dpa" not in recipients["mailer"]  # an internal document reference, not for the subject


def test_the_rights_are_stated_with_their_articles(policy: Policy) -> None:
    info = subject_information(policy, ["profile.email"])
    rights = {r["right"]: r for r in info["rights"]}
    assert {k: r["article"] for k, r in rights.items()} == {
        "rectification": "Art. 16",
        "erasure": "Art. 17",
        "restriction": "Art. 18",
        "objection": "Art. 21",
        "portability": "Art. 20",
        "withdraw_consent": "Art. 7(3)",
    }
    assert rights["withdraw_consent"]["applies_to"] == ["marketing"]
    assert rights["objection"]["applies_to"] == ["marketing", "support"]  # direct marketing + legit. int.
    assert any("Art. 21(3)" in note for note in rights["objection"]["notes"])
    assert rights["portability"]["applies_to"] == ["billing", "marketing"]  # consent or contract


def test_withdrawing_consent_is_offered_only_where_a_purpose_rests_on_consent(policy: Policy) -> None:
    rights = _names(subject_information(policy, ["profile.phone"])["rights"], "right")
    assert "withdraw_consent" not in rights and "portability" not in rights  # support: legit. interests
    assert {"rectification", "erasure", "restriction", "objection"} <= set(rights)


def test_erasure_and_restriction_name_what_the_law_keeps() -> None:
    document = _document()
    document["purposes"]["billing"].update(legal_basis="legal_obligation", legal_claims=True)
    info = subject_information(_parse(document), ["profile.country"])
    rights = {r["right"]: r for r in info["rights"]}
    assert any("billing" in n and "Art. 17(3)(b)" in n for n in rights["erasure"]["notes"])
    assert any("billing" in n and "Art. 18(2)" in n for n in rights["restriction"]["notes"])


def test_the_complaint_names_the_supervisory_authority(policy: Policy) -> None:
    default = subject_information(policy, [])["complaint"]["supervisory_authority"]
    assert default == "the data protection authority of your country of residence"
    document = _document()
    document["controller"]["supervisory_authority"] = "Berliner Beauftragte für Datenschutz"
    complaint = subject_information(_parse(document), ["profile.email"])["complaint"]
    assert complaint["article"] == "Art. 77"
    assert complaint["supervisory_authority"] == "Berliner Beauftragte für Datenschutz"


def test_automated_decisions_are_explained_or_explicitly_ruled_out(policy: Policy) -> None:
    none = subject_information(policy, ["profile.email"])["automated_decision_making"]
    assert none["takes_place"] is False and none["statement"] == NO_AUTOMATED_DECISIONS

    document = _document()
    document["purposes"]["support"]["automated_decision"] = "Tickets are routed by a classifier"
    info = subject_information(_parse(document), ["profile.phone"])
    decided = info["automated_decision_making"]
    assert decided["takes_place"] is True
    assert decided["decisions"] == [{"purpose": "support", "logic": "Tickets are routed by a classifier"}]
    assert "Art. 22(3)" in decided["statement"]
    # support's decision does not concern a subject whose data support never uses
    unconcerned = subject_information(_parse(document), ["health.allergies"])
    assert unconcerned["automated_decision_making"]["takes_place"] is False


def test_the_source_and_the_contacts_are_given() -> None:
    document = _document()
    document["purposes"]["support"]["source"] = "our reseller, Example Partner AB"
    info = subject_information(_parse(document), ["profile.email"])
    assert info["sources"] == [
        {"source": "the data subject", "purposes": ["billing", "marketing"]},
        {"source": "our reseller, Example Partner AB", "purposes": ["support"]},
    ]
    assert info["controller"] == {
        "name": "Example SaaS GmbH",
        "contact": "privacy@example.com",
        "dpo_contact": "dpo@example.com",
        "eu_representative": None,
    }
