"""Response minimisation: a purpose sees only its fields, and what was removed is said."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from dataward.gateway.minimise import Minimiser, check_spec_against_policy
from dataward.gateway.spec import Operation, Spec, load_spec, parse_spec
from dataward.policy import Policy

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "customers_api" / "openapi.yaml"

CUSTOMER = {
    "id": 7,
    "name": "Grace Example",
    "email": "grace.example7@example.com",
    "phone": "+44 20 7946 0007",
    "address": {"street": "8 Example Street", "postcode": "10115", "city": "Berlin", "country": "DE"},
    "date_of_birth": "1971-04-02",
    "marketing_opt_in": True,
    "internal_note": "prefers e-mail",
    "created_at": "2024-01-04T19:00:00+00:00",
}


@pytest.fixture(scope="module")
def example() -> Spec:
    return load_spec(EXAMPLE)


@pytest.fixture(scope="module")
def minimiser(example: Spec, policy: Policy) -> Minimiser:
    return Minimiser(example, policy)


def _op(spec: Spec, method: str, path: str) -> Operation:
    operation = spec.operation(method, path)
    assert operation is not None
    return operation


def _inline(schema: dict[str, Any], schemas: dict[str, Any] | None = None) -> Spec:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "200": {"description": "ok", "content": {"application/json": {"schema": schema}}}
                    }
                }
            }
        },
        "components": {"schemas": schemas or {}},
    }
    return parse_spec(json.dumps(document))


def test_each_purpose_sees_its_own_fields(example: Spec, minimiser: Minimiser) -> None:
    get = _op(example, "GET", "/v1/customers/{customer_id}")

    support = minimiser.minimise(get, 200, "support", CUSTOMER)  # profile.*: everything
    assert support.body == CUSTOMER and support.removed == ()

    billing = minimiser.minimise(get, 200, "billing", CUSTOMER)  # email, full_name, country
    assert billing.removed == ("date_of_birth", "phone")
    assert billing.body == {k: v for k, v in CUSTOMER.items() if k not in ("date_of_birth", "phone")}
    assert billing.disclosed == ("profile.country", "profile.email", "profile.full_name")
    assert billing.untied == ("internal_note",)  # personal data no policy field covers: kept, reported
    assert billing.personal == (*billing.disclosed, "internal_note")


def test_no_purpose_or_an_unknown_one_sees_no_policy_field(example: Spec, minimiser: Minimiser) -> None:
    get = _op(example, "GET", "/v1/customers/{customer_id}")
    for purpose in (None, "no-such-purpose"):
        result = minimiser.minimise(get, 200, purpose, CUSTOMER)
        assert result.removed == ("address", "date_of_birth", "email", "name", "phone")
        assert set(result.body) == {"id", "marketing_opt_in", "internal_note", "created_at"}


def test_arrays_collapse_removed_paths_and_the_body_passed_in_is_not_changed(
    example: Spec, minimiser: Minimiser
) -> None:
    listing = _op(example, "GET", "/v1/customers")
    page = {
        "items": [
            {k: c[k] for k in ("id", "name", "email", "phone", "marketing_opt_in")} for c in [CUSTOMER] * 3
        ],
        "total": 3,
        "limit": 20,
        "offset": 0,
    }
    before = copy.deepcopy(page)
    result = minimiser.minimise(listing, 200, "marketing", page)
    assert result.removed == ("items[].phone",)
    assert all("phone" not in item and "email" in item for item in result.body["items"])
    assert page == before


def test_no_plan_where_nothing_is_marked(example: Spec, minimiser: Minimiser) -> None:
    health = _op(example, "GET", "/v1/health")
    get = _op(example, "GET", "/v1/customers/{customer_id}")
    assert not minimiser.carries_personal_data(health, 200)
    assert minimiser.plan(get, 404, "billing") is None  # a problem document marks nothing
    assert minimiser.plan(get, 500, "billing") is None  # not declared at all
    assert minimiser.carries_personal_data(get, 200)
    body = {"status": "ok"}
    assert minimiser.minimise(health, 200, "billing", body).body is body


def test_a_null_is_removed_where_denied_but_not_reported_as_disclosed(
    example: Spec, minimiser: Minimiser
) -> None:
    get = _op(example, "GET", "/v1/customers/{customer_id}")
    result = minimiser.minimise(get, 200, "support", {**CUSTOMER, "phone": None, "internal_note": None})
    assert "profile.phone" not in result.disclosed and result.untied == ()


def test_nested_arrays_maps_and_tagged_items(policy: Policy) -> None:
    contact = {
        "type": "object",
        "properties": {
            "email": {"type": "string", "x-pii": "profile.email"},
            "phone": {"type": "string", "x-pii": "profile.phone"},
        },
    }
    schema = {
        "type": "object",
        "properties": {
            "orders": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "lines": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"contact": contact}},
                        }
                    },
                },
            },
            "by_country": {"type": "object", "additionalProperties": contact},
            "phones": {"type": "array", "items": {"type": "string", "x-pii": "profile.phone"}},
        },
    }
    spec = _inline(schema)
    body = {
        "orders": [
            {"lines": [{"contact": {"email": "a@example.com", "phone": "1"}}, {"contact": {"phone": "2"}}]},
            {"lines": [{"contact": {"phone": "3"}}]},
        ],
        "by_country": {"DE": {"email": "b@example.com", "phone": "4"}},
        "phones": ["5", "6"],
    }
    result = Minimiser(spec, policy).minimise(spec.operations[0], 200, "marketing", body)  # email only
    assert result.removed == ("by_country.*.phone", "orders[].lines[].contact.phone", "phones[]")
    assert result.body == {
        "orders": [
            {"lines": [{"contact": {"email": "a@example.com"}}, {"contact": {}}]},
            {"lines": [{"contact": {}}]},
        ],
        "by_country": {"DE": {"email": "b@example.com"}},
        "phones": [],
    }


def test_composed_schemas_remove_what_any_branch_marks(policy: Policy) -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"id": {"type": "integer"}}},
            {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {"dob": {"type": "string", "x-pii": "profile.birth_date"}},
                    },
                    {"type": "object", "properties": {"email": {"type": "string", "x-pii": "profile.email"}}},
                ]
            },
        ]
    }
    spec = _inline(schema)
    result = Minimiser(spec, policy).minimise(
        spec.operations[0], 200, "marketing", {"id": 1, "dob": "x", "email": "y"}
    )
    assert result.body == {"id": 1, "email": "y"} and result.removed == ("dob",)


def test_a_recursive_schema_is_minimised_at_every_depth(policy: Policy) -> None:
    comment = {
        "type": "object",
        "properties": {
            "author_phone": {"type": "string", "x-pii": "profile.phone"},
            "replies": {"type": "array", "items": {"$ref": "#/components/schemas/Comment"}},
        },
    }
    spec = _inline({"$ref": "#/components/schemas/Comment"}, {"Comment": comment})
    body = {
        "author_phone": "1",
        "replies": [{"author_phone": "2", "replies": [{"author_phone": "3", "replies": []}]}],
    }
    result = Minimiser(spec, policy).minimise(spec.operations[0], 200, "billing", body)
    assert result.body == {"replies": [{"replies": [{"replies": []}]}]}
    assert result.removed == ("author_phone", "replies[].author_phone", "replies[].replies[].author_phone")


def test_a_body_of_another_shape_than_declared_passes_untouched(example: Spec, minimiser: Minimiser) -> None:
    get = _op(example, "GET", "/v1/customers/{customer_id}")
    for body in (["not", "an", "object"], "text", None, {"address": "a string"}):
        result = minimiser.minimise(get, 200, "support", body)
        assert result.body == body


def test_the_example_spec_names_only_what_the_policy_knows(example: Spec, policy: Policy) -> None:
    assert check_spec_against_policy(example, policy) == []
    spec = _inline({"type": "object", "properties": {"x": {"type": "string", "x-pii": "profile.shoe_size"}}})
    assert [str(p) for p in check_spec_against_policy(spec, policy)] == [
        "/paths/~1x/get/responses/200: x-pii field profile.shoe_size is not in the policy"
    ]
    with_purpose = parse_spec(
        json.dumps(
            {
                "openapi": "3.1.0",
                "info": {"title": "t", "version": "1"},
                "paths": {
                    "/y": {
                        "get": {
                            "x-dataward-purpose": "astrology",
                            "responses": {"200": {"description": "ok"}},
                        }
                    }
                },
            }
        )
    )
    assert [str(p) for p in check_spec_against_policy(with_purpose, policy)] == [
        "/paths/~1y/get/x-dataward-purpose: purpose astrology is not in the policy"
    ]
