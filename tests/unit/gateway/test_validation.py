"""Request validation: strict, dialect-aware, and never repeating what the client sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dataward.errors import Problem
from dataward.gateway.errors import SpecError
from dataward.gateway.spec import Operation, Spec, load_spec, parse_spec
from dataward.gateway.validation import MAX_PROBLEMS, RequestValidator

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "customers_api" / "openapi.yaml"
PLANTED = "planted.person@example.org"  # stands for personal data in a request


def _document(version: str, operation: dict[str, Any], schemas: dict[str, Any] | None = None) -> Spec:
    document = {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "paths": {"/things/{id}": {"post": {"responses": {"200": {"description": "ok"}}, **operation}}},
        "components": {"schemas": schemas or {}},
    }
    return parse_spec(json.dumps(document))


def _body_spec(version: str, schema: dict[str, Any], schemas: dict[str, Any] | None = None) -> Spec:
    operation = {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
    }
    return _document(version, operation, schemas)


def _check(spec: Spec, body: Any, **kwargs: Any) -> list[Problem]:
    operation = spec.operations[0]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RequestValidator(spec).validate(
        operation, path_params={"id": "1"}, content_type="application/json", body=raw, **kwargs
    )


def _where(problems: list[Problem]) -> dict[str, str]:
    return {p.path: p.message for p in problems}


@pytest.fixture(scope="module")
def example() -> Spec:
    return load_spec(EXAMPLE)


@pytest.fixture(scope="module")
def validator(example: Spec) -> RequestValidator:
    return RequestValidator(example)


def _op(spec: Spec, method: str, path: str) -> Operation:
    operation = spec.operation(method, path)
    assert operation is not None
    return operation


# -- parameters ----------------------------------------------------------------------------------


def test_a_valid_request_has_no_problems(example: Spec, validator: RequestValidator) -> None:
    listing = _op(example, "GET", "/v1/customers")
    assert (
        validator.validate(listing, path_params={}, query_string="limit=10&offset=0&marketing_opt_in=true")
        == []
    )
    assert (
        validator.validate(listing, path_params={}, query_string="utm_source=x&_=1") == []
    )  # undeclared pass


def test_query_parameters_are_typed_and_bounded(example: Spec, validator: RequestValidator) -> None:
    listing = _op(example, "GET", "/v1/customers")
    problems = validator.validate(
        listing, path_params={}, query_string="limit=ten&offset=-1&marketing_opt_in=yes"
    )
    assert _where(problems) == {
        "query.limit": "must be an integer",
        "query.offset": "must be at least 0",
        "query.marketing_opt_in": "must be true or false",
    }
    too_many = validator.validate(listing, path_params={}, query_string="limit=101")
    assert _where(too_many) == {"query.limit": "must be at most 100"}


def test_a_single_valued_parameter_sent_twice_is_refused(example: Spec, validator: RequestValidator) -> None:
    listing = _op(example, "GET", "/v1/customers")
    problems = validator.validate(listing, path_params={}, query_string="limit=1&limit=100")
    assert _where(problems) == {"query.limit": "must be given once"}


def test_path_parameters_are_typed(example: Spec, validator: RequestValidator) -> None:
    get = _op(example, "GET", "/v1/customers/{customer_id}")
    assert validator.validate(get, path_params={"customer_id": "12"}) == []
    assert _where(validator.validate(get, path_params={"customer_id": "abc"})) == {
        "path.customer_id": "must be an integer"
    }
    assert _where(validator.validate(get, path_params={"customer_id": "0"})) == {
        "path.customer_id": "must be at least 1"
    }
    assert _where(validator.validate(get, path_params={"customer_id": "9" * 25})) == {
        "path.customer_id": "must be a valid int64"
    }


def test_strings_enums_patterns_arrays_and_headers() -> None:
    operation = {
        "parameters": [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[a-z]+$"},
            },
            {
                "name": "sort",
                "in": "query",
                "required": True,
                "schema": {"type": "string", "enum": ["asc", "desc"]},
            },
            {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 5}},
            {
                "name": "tag",
                "in": "query",
                "schema": {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
            },
            {
                "name": "ids",
                "in": "query",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "integer"}},
            },
            {
                "name": "X-Tenant",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            },
        ]
    }
    spec = _document("3.1.0", operation)
    validator = RequestValidator(spec)
    op = spec.operations[0]
    tenant = {"x-tenant": "9b2f3c1e-8a47-4d0e-9d8a-2f1c4b7e9a10"}
    good = validator.validate(
        op, path_params={"id": "abc"}, query_string="sort=asc&tag=1&tag=2&ids=3,4", headers=tenant
    )
    assert good == []
    bad = validator.validate(
        op,
        path_params={"id": "ABC"},
        query_string="q=toolong&tag=1&tag=2&tag=3&ids=3,x",
        headers={"x-tenant": "no"},
    )
    assert _where(bad) == {
        "path.id": "must match the pattern ^[a-z]+$",
        "query.sort": "required parameter is missing",
        "query.q": "must be at most 5 characters long",
        "query.tag": "must have at most 2 items",
        "query.ids": "each item must be an integer",
        "header.X-Tenant": "must be a valid uuid",
    }
    wrong_enum = validator.validate(op, path_params={"id": "a"}, query_string="sort=up", headers=tenant)
    assert _where(wrong_enum) == {"query.sort": 'must be one of: "asc", "desc"'}


# -- the body ------------------------------------------------------------------------------------


def test_content_type_and_presence_of_the_body(example: Spec, validator: RequestValidator) -> None:
    create = _op(example, "POST", "/v1/customers")
    body = json.dumps({"name": "A", "email": "a@example.com"}).encode()

    def check(content_type: str | None, raw: bytes) -> dict[str, str]:
        return _where(validator.validate(create, path_params={}, content_type=content_type, body=raw))

    assert check("application/json; charset=utf-8", body) == {}
    assert check("text/plain", body) == {"header.content-type": "must be one of: application/json"}
    assert check(None, body) == {"header.content-type": "is missing"}
    assert check("application/json", b"") == {"body": "a request body is required"}
    listing = _op(example, "GET", "/v1/customers")
    assert _where(
        validator.validate(listing, path_params={}, content_type="application/json", body=body)
    ) == {"body": "this operation takes no request body"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"name": "A", "email": ', "is not valid JSON (Expecting value at line 1, column 24)"),
        (
            b'{"name": "A", "name": "B", "email": "a@example.com"}',
            "is not valid JSON (an object repeats a key)",
        ),
        (
            b'{"name": "A", "email": "a@example.com", "marketing_opt_in": NaN}',
            "is not valid JSON (NaN and Infinity are not numbers in JSON)",
        ),
        ('{"name": "Ä", "email": "a@example.com"}'.encode("latin-1"), "is not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "is nested too deeply"),
    ],
)
def test_json_is_parsed_strictly(
    example: Spec, validator: RequestValidator, raw: bytes, message: str
) -> None:
    create = _op(example, "POST", "/v1/customers")
    problems = validator.validate(create, path_params={}, content_type="application/json", body=raw)
    assert _where(problems) == {"body": message}


def test_body_problems_are_located_by_path(example: Spec, validator: RequestValidator) -> None:
    create = _op(example, "POST", "/v1/customers")
    body = {
        "name": "",
        "address": {"street": "1 Road", "postcode": "1", "city": "X", "country": "de"},
        "is_admin": True,
        "date_of_birth": "1990-13-45",
    }
    raw = json.dumps(body).encode()
    problems = validator.validate(create, path_params={}, content_type="application/json", body=raw)
    assert _where(problems) == {
        "body/email": "required property is missing",
        "body/is_admin": "property not allowed",
        "body/name": "must be at least 1 character long",
        "body/address/country": "must match the pattern ^[A-Z]{2}$",
        "body/date_of_birth": "must be a valid date",
    }


def test_no_message_or_location_repeats_what_was_sent(example: Spec, validator: RequestValidator) -> None:
    """Personal data in a bad body must not come back in the problems, wherever it sits."""
    create = _op(example, "POST", "/v1/customers")
    body = {
        "name": PLANTED * 10,  # too long
        "email": [PLANTED],  # wrong type
        "phone": PLANTED,  # against the pattern
        "date_of_birth": PLANTED,  # not a date
        "marketing_opt_in": PLANTED,  # not a boolean
        PLANTED: PLANTED,  # an unexpected property named by personal data
        "address": {"street": PLANTED, "postcode": PLANTED, "city": PLANTED, "country": PLANTED, PLANTED: 1},
    }
    problems = validator.validate(
        create, path_params={}, content_type="application/json", body=json.dumps(body).encode()
    )
    assert len(problems) >= 7
    for problem in problems:
        for text in (problem.path, problem.message):
            assert PLANTED not in text and "planted" not in text and "@" not in text
    assert {"path": "body", "message": "has a property that is not allowed (its name is not shown)"} in [
        dict(p.as_dict()) for p in problems
    ]
    query = validator.validate(
        _op(example, "GET", "/v1/customers"), path_params={}, query_string=f"limit={PLANTED}"
    )
    assert query and all(PLANTED not in str(p) for p in query)


def test_keys_of_a_map_that_could_be_personal_data_are_not_shown() -> None:
    spec = _body_spec("3.1.0", {"type": "object", "additionalProperties": {"type": "integer"}})
    assert _where(_check(spec, {PLANTED: "x", "plain_key": "y"})) == {
        "body/*": "must be an integer",
        "body/plain_key": "must be an integer",
    }


def test_the_number_of_problems_is_capped() -> None:
    spec = _body_spec("3.1.0", {"type": "array", "items": {"type": "integer"}})
    assert len(_check(spec, ["x"] * 500)) == MAX_PROBLEMS


# -- dialects ------------------------------------------------------------------------------------


def test_openapi_3_0_nullable_lets_null_through_type_and_nothing_else() -> None:
    schema = {
        "type": "object",
        "properties": {
            "note": {"type": "string", "nullable": True},
            "name": {"type": "string"},
            "mood": {"type": "string", "nullable": True, "enum": ["happy", "sad"]},
        },
    }
    spec = _body_spec("3.0.3", schema)
    assert _check(spec, {"note": None, "name": "a"}) == []
    assert _where(_check(spec, {"name": None})) == {"body/name": "must be a string"}
    assert _where(_check(spec, {"mood": None})) == {"body/mood": 'must be one of: "happy", "sad"'}


def test_openapi_3_0_uses_draft_4_exclusive_bounds_and_int32() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "format": "int32", "minimum": 0, "exclusiveMinimum": True}},
    }
    spec = _body_spec("3.0.3", schema)
    assert _where(_check(spec, {"n": 0})) == {"body/n": "must be greater than 0"}
    assert _where(_check(spec, {"n": 2**31})) == {"body/n": "must be a valid int32"}
    assert _check(spec, {"n": 1}) == []


def test_openapi_3_1_type_lists_and_2020_12_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {
            "note": {"type": ["string", "null"]},
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "integer"}],
                "items": False,
            },
        },
        "unevaluatedProperties": False,
    }
    spec = _body_spec("3.1.0", schema)
    assert _check(spec, {"note": None, "pair": ["a", 1]}) == []
    assert _where(_check(spec, {"note": 1, "pair": ["a", "b", 3], "x": 1})) == {
        "body/note": "must be a string or null",
        "body/pair/1": "must be an integer",
        "body/pair": "has more items than allowed",
        "body": "has a property that is not allowed (its name is not shown)",
    }


def test_a_recursive_schema_validates_all_the_way_down() -> None:
    node = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    spec = _body_spec("3.1.0", {"$ref": "#/components/schemas/Node"}, {"Node": node})
    tree = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}, {"children": []}]}]}
    assert _where(_check(spec, tree)) == {"body/children/0/children/1/name": "required property is missing"}


def test_one_of_reports_the_branch_that_came_closest() -> None:
    schema = {
        "oneOf": [
            {
                "type": "object",
                "required": ["card"],
                "properties": {"card": {"type": "string", "maxLength": 4}},
            },
            {"type": "object", "required": ["iban"], "properties": {"iban": {"type": "string"}}},
        ]
    }
    spec = _body_spec("3.1.0", schema)
    problems = _check(spec, {"card": "12345"})
    assert len(problems) == 1 and problems[0].path.startswith("body")


def test_an_invalid_schema_in_the_spec_is_refused_when_the_validator_is_built() -> None:
    spec = _body_spec("3.1.0", {"type": "strnig"})
    with pytest.raises(SpecError) as caught:
        RequestValidator(spec)
    [problem] = caught.value.problems
    assert problem.path == "/paths/~1things~1{id}/post/requestBody"
    assert problem.message.startswith("not a valid schema at type:")


def test_object_parameters_pass_and_path_arrays_split_on_commas() -> None:
    operation = {
        "parameters": [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "array", "items": {"type": "integer"}},
            },
            {
                "name": "filter",
                "in": "query",
                "required": True,
                "style": "deepObject",
                "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        ]
    }
    spec = _document("3.1.0", operation)
    op = spec.operations[0]
    validator = RequestValidator(spec)
    assert validator.validate(op, path_params={"id": "1,2,3"}, query_string="filter[name]=x") == []
    assert _where(validator.validate(op, path_params={"id": "1,x"})) == {
        "path.id": "each item must be an integer"
    }
