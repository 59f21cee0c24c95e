"""Each spec rule on a small document that breaks it, and on its fixed twin that does not."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from dataward.scanner.document import parse_document
from dataward.scanner.findings import Finding, Severity
from dataward.scanner.spec_scan import scan_document

BEARER = {"bearer": {"type": "http", "scheme": "bearer", "x-token-lifetime": 900}}
OK_RESPONSES: dict[str, Any] = {
    "200": {"description": "ok"},
    "401": {"description": "no token"},
    "403": {"description": "not allowed"},
    "422": {"description": "bad input"},
    "429": {"description": "slow down", "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
    "500": {"description": "failed"},
}


def spec(paths: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A 3.1 document that breaks no rule but those its `paths` and `top` bring in."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "security": [{"bearer": ["read"]}],
        "components": {"securitySchemes": copy.deepcopy(BEARER)},
        "paths": paths,
    }
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    return document


def op(**fields: Any) -> dict[str, Any]:
    """An operation that breaks nothing, with `fields` on top."""
    return {"responses": copy.deepcopy(OK_RESPONSES), **fields}


def findings(document: dict[str, Any], *, as_json: bool = False) -> list[Finding]:
    text = yaml.safe_dump(document, sort_keys=False)
    return scan_document(parse_document(text, "t.yaml")).findings


def rules_of(document: dict[str, Any]) -> set[str]:
    return {f.rule.id for f in findings(document)}


def of_rule(document: dict[str, Any], rule_id: str) -> list[Finding]:
    return [f for f in findings(document) if f.rule.id == rule_id]


def bounded_string() -> dict[str, Any]:
    return {"type": "string", "maxLength": 64}


def closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def json_answer(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    responses = copy.deepcopy(OK_RESPONSES)
    responses["200"] = {"description": "ok", "content": {"application/json": {"schema": schema}}}
    return {"responses": responses, **extra}


def uuid_param(name: str = "id") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def test_a_clean_document_has_no_findings() -> None:
    document = spec({"/v1/things/{id}": {"get": op(parameters=[uuid_param()])}})
    assert findings(document) == []


# -- API1 ---------------------------------------------------------------------------------------


def test_integer_ids_in_paths_are_guessable() -> None:
    parameter = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "maximum": 10**9},
    }
    found = of_rule(spec({"/v1/things/{id}": {"get": op(parameters=[parameter])}}), "API1-SEQUENTIAL-ID")
    assert [f.location.pointer for f in found] == ["/paths/~1v1~1things~1{id}/get/parameters/0/schema"]
    assert found[0].location.operation == "GET /v1/things/{id}"
    assert rules_of(spec({"/v1/things/{id}": {"get": op(parameters=[uuid_param()])}})) == set()


def test_an_object_operation_without_security_is_api1_and_others_api2() -> None:
    document = spec(
        {
            "/v1/things/{id}": {"get": op(parameters=[uuid_param()], security=[])},
            "/v1/things": {"post": op(security=[{}])},  # the empty requirement: anyone
            "/v1/health": {"get": op(security=[])},  # open by nature
            "/v1/login": {"post": op(security=[])},  # how one gets a token
        }
    )
    found = {(f.rule.id, f.location.operation) for f in findings(document)}
    assert ("API1-UNPROTECTED-OBJECT", "GET /v1/things/{id}") in found
    assert ("API2-NO-SECURITY", "POST /v1/things") in found
    assert not {o for r, o in found if o in ("GET /v1/health", "POST /v1/login") and r.startswith("API2")}


# -- API2 ---------------------------------------------------------------------------------------


def test_basic_auth_api_keys_in_query_and_credentials_in_query() -> None:
    schemes = {
        "basic": {"type": "http", "scheme": "basic"},
        "key": {"type": "apiKey", "in": "query", "name": "api_key"},
    }
    parameter = {"name": "access_token", "in": "query", "schema": bounded_string()}
    document = spec(
        {"/v1/things": {"get": op(parameters=[parameter])}},
        components={"securitySchemes": {**BEARER, **schemes}},
    )
    found = {(f.rule.id, f.location.pointer) for f in findings(document)}
    assert ("API2-BASIC-AUTH", "/components/securitySchemes/basic") in found
    assert ("API2-CREDENTIALS-IN-QUERY", "/components/securitySchemes/key") in found
    assert ("API2-CREDENTIALS-IN-QUERY", "/paths/~1v1~1things/get/parameters/0/schema") in found


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ({"type": "http", "scheme": "bearer"}, Severity.LOW),
        ({"type": "http", "scheme": "bearer", "x-token-lifetime": "P7D"}, Severity.MEDIUM),
        ({"type": "oauth2", "flows": {}, "x-token-lifetime": 3 * 86_400}, Severity.MEDIUM),
        ({"type": "http", "scheme": "bearer", "x-token-lifetime": "soon"}, Severity.LOW),
        ({"type": "http", "scheme": "bearer", "x-token-lifetime": "PT15M"}, None),
        (
            {"type": "openIdConnect", "openIdConnectUrl": "https://id.example.com", "x-token-lifetime": 600},
            None,
        ),
    ],
)
def test_token_lifetime(scheme: dict[str, Any], expected: Severity | None) -> None:
    document = spec({"/v1/things": {"get": op()}}, components={"securitySchemes": {"bearer": scheme}})
    found = of_rule(document, "API2-TOKEN-LIFETIME")
    assert [f.level for f in found] == ([expected] if expected else [])


# -- API3 ---------------------------------------------------------------------------------------


def test_open_write_bodies_and_privileged_properties() -> None:
    body = {"type": "object", "properties": {"nickname": bounded_string(), "is_admin": {"type": "boolean"}}}
    document = spec({"/v1/profile": {"patch": op(requestBody=json_body(body))}})
    found = {(f.rule.id, f.location.pointer) for f in findings(document)}
    schema = "/paths/~1v1~1profile/patch/requestBody/content/application~1json/schema"
    assert ("API3-MASS-ASSIGNMENT", schema) in found
    assert ("API3-PRIVILEGED-PROPERTY", f"{schema}/properties/is_admin") in found
    fixed = closed({"nickname": bounded_string(), "is_admin": {"type": "boolean", "readOnly": True}})
    assert rules_of(spec({"/v1/profile": {"patch": op(requestBody=json_body(fixed))}})) == set()


def test_admins_may_set_roles() -> None:
    body = closed({"role": {"type": "string", "enum": ["admin", "member"]}})
    document = spec(
        {"/v1/admin/users/{id}": {"patch": op(parameters=[uuid_param()], requestBody=json_body(body))}}
    )
    assert "API3-PRIVILEGED-PROPERTY" not in rules_of(document)


def test_secrets_in_answers_but_not_the_token_a_login_hands_out() -> None:
    user = {"type": "object", "properties": {"id": {"type": "string"}, "passwordHash": {"type": "string"}}}
    token = {"type": "object", "properties": {"access_token": {"type": "string"}}}
    document = spec(
        {
            "/v1/users/{id}": {"get": json_answer(user, parameters=[uuid_param()])},
            "/v1/login": {"post": json_answer(token)},
        }
    )
    found = of_rule(document, "API3-SECRET-IN-RESPONSE")
    assert [f.location.operation for f in found] == ["GET /v1/users/{id}"]
    assert found[0].location.pointer.endswith("/properties/passwordHash")


def test_personal_data_in_answers_needs_a_purpose() -> None:
    person = {
        "type": "object",
        "properties": {"emailAddress": {"type": "string"}, "nick": {"type": "string", "x-pii": True}},
    }
    document = spec({"/v1/people/{id}": {"get": json_answer(person, parameters=[uuid_param()])}})
    (found,) = of_rule(document, "API3-PERSONAL-DATA-NO-PURPOSE")
    assert found.evidence["fields"] == ["emailAddress", "nick"]
    assert found.level is Severity.MEDIUM
    with_purpose = json_answer(person, parameters=[uuid_param()], **{"x-dataward-purpose": "support"})
    assert "API3-PERSONAL-DATA-NO-PURPOSE" not in rules_of(spec({"/v1/people/{id}": {"get": with_purpose}}))
    national = {"type": "object", "properties": {"ssn": {"type": "string"}}}
    document = spec({"/v1/people/{id}": {"get": json_answer(national, parameters=[uuid_param()])}})
    assert [f.level for f in of_rule(document, "API3-PERSONAL-DATA-NO-PURPOSE")] == [Severity.HIGH]


# -- API4 ---------------------------------------------------------------------------------------


def test_unbounded_inputs() -> None:
    parameters = [
        {"name": "q", "in": "query", "schema": {"type": "string"}},
        {
            "name": "ids",
            "in": "query",
            "schema": {"type": "array", "maxItems": 5, "items": {"type": "integer"}},
        },
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["a", "b"]}},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    ]
    body = closed({"tags": {"type": "array", "items": bounded_string()}})
    document = spec({"/v1/search": {"post": op(parameters=parameters, requestBody=json_body(body))}})
    found = {(f.rule.id, f.location.pointer.rsplit("/", 2)[-2:][0]) for f in findings(document)}
    rules = {r for r, _ in found}
    assert rules == {"API4-STRING-NO-MAXLENGTH", "API4-ARRAY-NO-MAXITEMS", "API4-NUMBER-UNBOUNDED"}
    pointers = {f.location.pointer for f in findings(document)}
    assert "/paths/~1v1~1search/post/parameters/0/schema" in pointers  # q
    assert "/paths/~1v1~1search/post/parameters/1/schema/items" in pointers  # the ids' integers
    assert not any(p.startswith("/paths/~1v1~1search/post/parameters/2") for p in pointers)  # enum
    assert not any(p.startswith("/paths/~1v1~1search/post/parameters/3") for p in pointers)  # date-time


def test_lists_need_a_bounded_page_size() -> None:
    listing = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}}
    document = spec({"/v1/things": {"get": json_answer(listing)}})
    assert "API4-LIST-NO-PAGINATION" in rules_of(document)
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
    document = spec({"/v1/things": {"get": json_answer(listing, parameters=[limit])}})
    assert "API4-LIST-NO-PAGINATION" not in rules_of(document)
    unbounded = {"name": "limit", "in": "query", "schema": {"type": "integer"}}
    document = spec({"/v1/things": {"get": json_answer({"type": "array"}, parameters=[unbounded])}})
    assert "API4-LIST-NO-PAGINATION" in rules_of(document)


def test_rate_limits_are_declared_by_a_429_or_headers() -> None:
    no_limit = {"200": {"description": "ok"}, "default": {"description": "error"}}
    assert "API4-NO-RATE-LIMIT" in rules_of(spec({"/v1/things": {"get": {"responses": no_limit}}}))
    headers = {"RateLimit": {"schema": {"type": "string"}}}
    with_headers = {"200": {"description": "ok", "headers": headers}, "default": {"description": "error"}}
    assert "API4-NO-RATE-LIMIT" not in rules_of(spec({"/v1/things": {"get": {"responses": with_headers}}}))


# -- API5, API7 ---------------------------------------------------------------------------------


def test_admin_operations_must_not_share_ordinary_scopes() -> None:
    paths = {
        "/v1/things": {"get": op(security=[{"bearer": ["read"]}])},
        "/v1/admin/purge": {"post": op(security=[{"bearer": ["read"]}])},
        "/v1/admin/stats": {"get": op(security=[{"bearer": ["admin"]}])},
    }
    found = of_rule(spec(paths), "API5-ADMIN-SHARED-SCOPES")
    assert [f.location.operation for f in found] == ["POST /v1/admin/purge"]


def test_url_inputs_need_a_restriction() -> None:
    body = closed(
        {
            "callbackUrl": {"type": "string", "maxLength": 200},
            "avatar": {"type": "string", "format": "uri", "maxLength": 200},
            "webhook": {"type": "string", "maxLength": 200, "pattern": r"^https://hooks\.example\.com/"},
            "title": bounded_string(),
        }
    )
    document = spec({"/v1/subscriptions": {"post": op(requestBody=json_body(body))}})
    names = sorted(f.evidence["key"] for f in of_rule(document, "API7-URL-PARAMETER"))
    assert names == ["avatar", "callbackUrl"]


# -- API8, API9 ---------------------------------------------------------------------------------


def test_plain_http_servers_and_no_servers() -> None:
    servers = [
        {"url": "http://api.example.com"},
        {"url": "http://127.0.0.1:8000"},
        {"url": "https://x.example"},
    ]
    found = of_rule(spec({"/v1/things": {"get": op()}}, servers=servers), "API8-PLAIN-HTTP")
    assert [f.location.pointer for f in found] == ["/servers/0"]
    document = spec({"/v1/things": {"get": op()}})
    del document["servers"]
    assert "API9-NO-SERVERS" in rules_of(document)


def test_error_answers() -> None:
    parameter = {"name": "q", "in": "query", "schema": bounded_string()}
    document = spec(
        {"/v1/things": {"get": {"parameters": [parameter], "responses": {"200": {"description": "ok"}}}}}
    )
    (found,) = of_rule(document, "API8-ERROR-RESPONSES")
    assert "401, 403, 400/422, 5xx" in found.message
    assert found.location.pointer == "/paths/~1v1~1things/get/responses"


def test_cors_allowing_any_origin() -> None:
    responses = copy.deepcopy(OK_RESPONSES)
    responses["200"]["headers"] = {
        "Access-Control-Allow-Origin": {"schema": {"type": "string", "enum": ["*"]}},
        "Access-Control-Allow-Credentials": {"schema": {"type": "boolean", "default": True}},
    }
    (found,) = of_rule(spec({"/v1/things": {"get": {"responses": responses}}}), "API8-PERMISSIVE-CORS")
    assert found.level is Severity.HIGH  # with credentials
    responses["200"]["headers"] = {
        "Access-Control-Allow-Origin": {"schema": {"type": "string", "example": "https://app.example.com"}}
    }
    assert "API8-PERMISSIVE-CORS" not in rules_of(spec({"/v1/things": {"get": {"responses": responses}}}))


def test_inventory_problems() -> None:
    paths = {
        "/v1/things": {"get": op(deprecated=True)},
        "/v2/things": {"get": op()},
        "/v2/debug/vars": {"get": op()},
    }
    found = {(f.rule.id, f.location.operation) for f in findings(spec(paths))}
    assert ("API9-DEPRECATED", "GET /v1/things") in found
    assert ("API9-OLD-VERSION", "GET /v1/things") in found
    assert ("API9-INTERNAL-PATH", "GET /v2/debug/vars") in found
    assert ("API9-OLD-VERSION", "GET /v2/things") not in found


# -- GDPR ---------------------------------------------------------------------------------------


def test_personal_data_in_urls() -> None:
    email = {"name": "email", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 254}}
    born = {"name": "geburtsdatum", "in": "query", "schema": {"type": "string", "format": "date"}}
    zip_code = {
        "name": "zip",
        "in": "query",
        "schema": {"type": "string", "maxLength": 10},
    }  # a search, not a person
    paths = {
        "/v1/users/by-email/{email}": {"get": op(parameters=[email])},
        "/v1/users": {"get": op(parameters=[born, zip_code])},
    }
    found = sorted(f.evidence["key"] for f in of_rule(spec(paths), "GDPR-PII-IN-URL"))
    assert found == ["email", "geburtsdatum"]


def test_special_categories_need_a_purpose() -> None:
    record = {
        "type": "object",
        "properties": {"diagnosis": {"type": "string"}, "religion": {"type": "string"}},
    }
    document = spec({"/v1/patients/{id}": {"get": json_answer(record, parameters=[uuid_param()])}})
    (found,) = of_rule(document, "GDPR-SPECIAL-CATEGORY")
    assert found.evidence["fields"] == ["diagnosis", "religion"]
    purposeful = json_answer(record, parameters=[uuid_param()], **{"x-dataward-purpose": "treatment"})
    assert "GDPR-SPECIAL-CATEGORY" not in rules_of(spec({"/v1/patients/{id}": {"get": purposeful}}))


def test_bulk_exports_of_personal_data() -> None:
    people = {"type": "array", "items": {"type": "object", "properties": {"email": {"type": "string"}}}}
    document = spec({"/v1/customers/export": {"get": json_answer(people, **{"x-dataward-purpose": "crm"})}})
    assert "GDPR-BULK-EXPORT" in rules_of(document)
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
    bounded = json_answer(people, parameters=[limit], **{"x-dataward-purpose": "crm"})
    assert "GDPR-BULK-EXPORT" not in rules_of(spec({"/v1/customers/export": {"get": bounded}}))


def test_callbacks_and_webhooks_that_send_personal_data() -> None:
    sent = closed({"event": bounded_string(), "customer_email": bounded_string()})
    callback = {"{$request.body#/url}": {"post": op(requestBody=json_body(sent))}}
    document = spec(
        {"/v1/orders": {"post": op(callbacks={"shipped": callback})}},
        webhooks={"newCustomer": {"post": op(requestBody=json_body(closed({"phone": bounded_string()})))}},
    )
    found = of_rule(document, "GDPR-CALLBACK-PERSONAL-DATA")
    assert sorted(f.evidence["fields"][0] for f in found) == ["customer_email", "phone"]
