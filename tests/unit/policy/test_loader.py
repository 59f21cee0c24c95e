"""The policy file: the example holds what the product promises, and each mistake is named by path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dataward.policy import LegalBasis, Policy, PolicyError, load_policy, parse_policy

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"

Edit = Callable[[dict[str, Any]], object]


def test_the_example_declares_the_collections_purposes_roles_and_transfers(policy: Policy) -> None:
    profile, health = policy.collections["profile"].fields, policy.collections["health"].fields
    assert set(profile) == {"email", "full_name", "phone", "birth_date", "country"}
    assert profile["email"].searchable and not profile["phone"].searchable
    assert health["allergies"].special_category
    bases = {name: p.legal_basis for name, p in policy.purposes.items()}
    assert bases == {
        "billing": LegalBasis.CONTRACT,
        "marketing": LegalBasis.CONSENT,
        "support": LegalBasis.LEGITIMATE_INTERESTS,
        "invoicing": LegalBasis.LEGAL_OBLIGATION,  # keeps name and country through an erasure
        "disputes": LegalBasis.LEGITIMATE_INTERESTS,  # legal claims: what a restriction allows
        "care": LegalBasis.CONSENT,
    }
    assert policy.purposes["invoicing"].keeps_after_erasure and policy.purposes["disputes"].legal_claims
    assert policy.purpose_fields("marketing") == {"profile.email", "profile.full_name"}
    assert policy.purpose_fields("support") == {f"profile.{f}" for f in profile}  # profile.* expanded
    assert policy.purpose_fields("care") == {"health.allergies", "profile.full_name"}
    roles = {
        "signup",
        "billing-service",
        "newsletter",
        "support-agent",
        "care-team",
        "auditor",
        "privacy-team",
    }
    assert roles | {"privacy-lead", "accounting", "legal"} <= set(policy.roles)
    third_country = [p for p in policy.processors.values() if p.transfer_mechanism == "scc"]
    assert third_country, "a processor in a third country, under standard contractual clauses"
    assert policy.default_region in policy.regions


def _example() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return document


def _problems(edit: Edit) -> list[str]:
    document = _example()
    edit(document)
    with pytest.raises(PolicyError) as caught:
        parse_policy(yaml.safe_dump(document, sort_keys=False))
    return [str(p) for p in caught.value.problems]


def _set(path: str, value: object, *, new: bool = False) -> Edit:
    """An edit that sets `a.b.c` (a list index as a number) to `value`; the key must exist unless
    `new` (so that a mistyped path cannot make a test pass for the wrong reason)."""

    def edit(document: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = document
        for part in parents:
            node = node[part]
        if not new:
            assert last in (node if isinstance(node, dict) else range(len(node))), path
        node[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            _set("purposes.marketing.fields.1", "profile.mail"),
            "purposes.marketing.fields[1]: unknown field profile.mail",
            id="unknown-field",
        ),
        pytest.param(
            _set("purposes.billing.fields.0", "invoices.total"),
            "purposes.billing.fields[0]: unknown collection invoices",
            id="unknown-collection",
        ),
        pytest.param(
            _set("purposes.care.explicit_consent", False),
            "purposes.care.legal_basis: uses special-category data (health.allergies)",
            id="special-category-without-explicit-consent",
        ),
        pytest.param(
            _set("roles.newsletter.purposes", ["marketing", "profiling"]),
            "roles.newsletter.purposes[1]: unknown purpose profiling",
            id="role-with-unknown-purpose",
        ),
        pytest.param(
            _set("purposes.billing.legal_basis", "because"), "purposes.billing.legal_basis", id="basis"
        ),
        pytest.param(
            _set("purposes.billing.retention", "ten years"),
            "purposes.billing.retention: not an ISO 8601 duration",
            id="retention",
        ),
        pytest.param(
            _set(
                "collections.profile.fields.email.category",
                "user.contact.mail",
            ),
            "collections.profile.fields.email.category: unknown data category user.contact.mail",
            id="unknown-data-category",
        ),
        pytest.param(
            _set("purposes.marketing.data_use", "spam"),
            "purposes.marketing.data_use: unknown data use spam",
            id="data-use",
        ),
        pytest.param(
            _set("roles.auditor.actions", ["audit.read", "erase"]),
            "roles.auditor.actions[1]: ",
            id="action",
        ),
        pytest.param(
            _set("regions.eu.default", False), "regions: exactly one region must be default", id="region"
        ),
        pytest.param(_set("purpozes", {}, new=True), "purpozes: unknown key", id="typo-at-top-level"),
    ],
)
def test_each_mistake_is_named_by_its_path(edit: Edit, expected: str) -> None:
    problems = _problems(edit)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_third_country_processor_without_a_transfer_mechanism_is_refused() -> None:
    def edit(document: dict[str, Any]) -> None:
        processor = next(p for p in document["processors"].values() if p["transfer_mechanism"] == "scc")
        del processor["transfer_mechanism"]

    problems = _problems(edit)
    assert any(p.startswith("processors.") and "transfer mechanism" in p for p in problems), problems


def _load_text(tmp_path: Path, text: str) -> str:
    path = tmp_path / "dataward.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    return str(caught.value)


def _line(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


def test_every_shape_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("legal_basis: contract", "legal_basis: handshake", 1)
    text = text.replace("retention: P2Y", "retention: two years", 1)

    rendered = _load_text(tmp_path, text)

    assert "2 problem(s)" in rendered
    assert "purposes.billing.legal_basis: " in rendered
    assert f"(line {_line(text, '    legal_basis: handshake')})" in rendered
    assert f"(line {_line(text, '    retention: two years')})" in rendered


def test_a_reference_problem_names_its_path_and_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "fields: [profile.email, profile.full_name]\n", "fields: [profile.email, profile.mail]\n", 1
    )

    rendered = _load_text(tmp_path, text)

    assert "purposes.marketing.fields[1]: unknown field profile.mail" in rendered
    assert f"line {_line(text, '    fields: [profile.email, profile.mail]')}" in rendered


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("collections: [unclosed\n", "not valid YAML"),
        ("", "the policy must be a YAML mapping"),
        ("- a list\n- not a mapping\n", "the policy must be a YAML mapping"),
    ],
)
def test_text_that_is_not_a_policy_gets_a_clear_error(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert expected in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy"):
        load_policy(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://processor.example/notices", True),
        ("http://127.0.0.1:9000/notices", True),
        ("http://processor.example/notices", False),  # notices would cross a network in clear
    ],
)
def test_a_processor_webhook_is_https_or_local(url: str, accepted: bool) -> None:
    document = _example()
    document["processors"]["payments"]["webhook"] = {"url": url, "secret_env": "PAYMENTS_SECRET"}
    if accepted:
        assert parse_policy(yaml.safe_dump(document)).processors["payments"].webhook is not None
    else:
        with pytest.raises(PolicyError) as raised:
            parse_policy(yaml.safe_dump(document))
        assert any("webhook" in str(p) and "https" in str(p) for p in raised.value.problems)


def test_a_copy_with_other_purposes_answers_for_its_own_purposes(policy: Policy) -> None:
    purposes = dict(policy.purposes)
    purposes["invoicing"] = purposes["invoicing"].model_copy(update={"fields": ["profile.country"]})
    narrower = policy.model_copy(update={"purposes": purposes})
    assert narrower.purpose_fields("invoicing") == {"profile.country"}
    assert policy.purpose_fields("invoicing") == {"profile.country", "profile.full_name"}  # untouched
