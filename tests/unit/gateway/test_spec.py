"""The OpenAPI document: read into typed operations, references resolved, every problem named by pointer."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from dataward.gateway.errors import SpecError
from dataward.gateway.spec import REF_BASE, SecurityRequirement, Spec, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "customers_api"


def _doc(paths: dict[str, Any], version: str = "3.1.0", **extra: Any) -> dict[str, Any]:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths, **extra}


def _spec(document: dict[str, Any]) -> Spec:
    return parse_spec(json.dumps(document), source="inline")


def _problems(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        _spec(document)
    return {p.path: p.message for p in caught.value.problems}


def _ok(description: str = "ok") -> dict[str, Any]:
    return {"200": {"description": description}}


# -- the example ---------------------------------------------------------------------------------


def test_the_example_spec_is_read_into_operations() -> None:
    spec = load_spec(EXAMPLE / "openapi.yaml")

    assert spec.dialect == "3.1" and spec.title == "Example Shop customers API"
    assert [s.url for s in spec.servers] == ["http://127.0.0.1:8080"]
    assert {(op.method, op.path) for op in spec.operations} == {
        ("GET", "/v1/health"),
        ("GET", "/v1/customers"),
        ("POST", "/v1/customers"),
        ("GET", "/v1/customers/{customer_id}"),
        ("PATCH", "/v1/customers/{customer_id}"),
        ("GET", "/v1/customers/{customer_id}/legacy"),
    }
    listing = spec.operation("get", "/v1/customers")
    assert listing is not None
    assert listing.operation_id == "listCustomers"
    assert listing.purposes == ("support", "marketing")
    assert listing.security == (
        SecurityRequirement({"dataward": ("support",)}),
        SecurityRequirement({"dataward": ("marketing",)}),
    )
    assert [(p.name, p.location, p.required) for p in listing.parameters] == [
        ("limit", "query", False),
        ("offset", "query", False),
        ("marketing_opt_in", "query", False),
    ]
    health = spec.operation("GET", "/v1/health")
    assert health is not None and health.public and health.purposes == ()
    legacy = spec.operation("GET", "/v1/customers/{customer_id}/legacy")
    assert legacy is not None and legacy.deprecated
    assert [p.name for p in legacy.parameters] == ["customer_id"]  # from the path item, through a $ref


def test_the_example_schemas_have_their_references_resolved() -> None:
    spec = load_spec(EXAMPLE / "openapi.yaml")
    create = spec.operation("POST", "/v1/customers")
    assert create is not None and create.request_body is not None
    assert create.request_body.required
    body = create.request_body.content["application/json"]
    assert body is not None and body["additionalProperties"] is False
    assert body["properties"]["address"]["properties"]["country"]["pattern"] == "^[A-Z]{2}$"
    get = spec.operation("GET", "/v1/customers/{customer_id}")
    assert get is not None
    response = get.response_for(200)
    assert response is not None and response.json_schema is not None
    assert response.json_schema["properties"]["email"]["x-pii"] == "profile.email"
    assert "$ref" not in json.dumps(response.json_schema)
    not_found = get.response_for(404)
    assert not_found is not None and not_found.json_schema is not None  # application/problem+json counts


def _example_app() -> Any:
    module_spec = importlib.util.spec_from_file_location("customers_api", EXAMPLE / "app.py")
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["customers_api"] = module  # pydantic resolves the app's annotations through it
    module_spec.loader.exec_module(module)
    return module.create_app()


def test_the_example_api_serves_its_documented_operations_and_one_shadow_route() -> None:
    app = _example_app()
    served = {(method, route.path) for route in app.routes for method in getattr(route, "methods", ())}
    documented = {(op.method, op.path) for op in load_spec(EXAMPLE / "openapi.yaml").operations}

    assert documented <= served
    assert served - documented == {("GET", "/internal/debug/customers")}


def test_the_example_api_answers_as_its_spec_says() -> None:
    spec = load_spec(EXAMPLE / "openapi.yaml")
    with TestClient(_example_app()) as http:
        answers = [
            ("GET", "/v1/health", http.get("/v1/health")),
            ("GET", "/v1/customers", http.get("/v1/customers", params={"limit": 5, "offset": 58})),
            ("GET", "/v1/customers/{customer_id}", http.get("/v1/customers/5")),
            ("GET", "/v1/customers/{customer_id}", http.get("/v1/customers/999")),
            ("GET", "/v1/customers/{customer_id}/legacy", http.get("/v1/customers/5/legacy")),
            (
                "POST",
                "/v1/customers",
                http.post("/v1/customers", json={"name": "N", "email": "n@example.com"}),
            ),
            ("PATCH", "/v1/customers/{customer_id}", http.patch("/v1/customers/2", json={"phone": None})),
        ]
    for method, template, answer in answers:
        operation = spec.operation(method, template)
        assert operation is not None
        response = operation.response_for(answer.status_code)
        assert response is not None and response.json_schema is not None, (
            method,
            template,
            answer.status_code,
        )
        checker = Draft202012Validator(
            response.json_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        assert list(checker.iter_errors(answer.json())) == [], (method, template)


# -- operations ----------------------------------------------------------------------------------


def test_document_security_applies_where_an_operation_says_nothing_and_an_empty_list_is_public() -> None:
    spec = _spec(
        _doc(
            {
                "/a": {"get": {"responses": _ok()}, "post": {"security": [], "responses": _ok()}},
                "/b": {"get": {"security": [{}, {"key": []}], "responses": _ok()}},
            },
            security=[{"oauth": ["read", "write"]}],
            components={
                "securitySchemes": {
                    "oauth": {"type": "oauth2", "flows": {}},
                    "key": {"type": "apiKey", "in": "header", "name": "x-key"},
                }
            },
        )
    )
    get_a, post_a, get_b = (spec.operation(m, p) for m, p in [("GET", "/a"), ("POST", "/a"), ("GET", "/b")])
    assert get_a is not None and post_a is not None and get_b is not None
    assert get_a.security == (SecurityRequirement({"oauth": ("read", "write")}),) and not get_a.public
    assert post_a.security == () and post_a.public
    assert get_b.public  # an empty requirement among the alternatives: authentication optional


def test_purposes_come_from_the_operation_else_its_path_item() -> None:
    spec = _spec(
        _doc(
            {
                "/a": {
                    "x-dataward-purpose": "support",
                    "get": {"responses": _ok()},
                    "post": {"x-dataward-purpose": ["billing", "support"], "responses": _ok()},
                }
            }
        )
    )
    get, post = spec.operation("GET", "/a"), spec.operation("POST", "/a")
    assert get is not None and get.purposes == ("support",)
    assert post is not None and post.purposes == ("billing", "support")


def test_a_response_is_found_by_code_then_range_then_default() -> None:
    spec = _spec(
        _doc(
            {
                "/a": {
                    "get": {
                        "responses": {
                            "200": {"description": "a"},
                            "4XX": {"description": "b"},
                            "default": {"description": "c"},
                        }
                    }
                }
            }
        )
    )
    op = spec.operation("GET", "/a")
    assert op is not None
    assert [getattr(op.response_for(s), "status", None) for s in (200, 404, 503)] == ["200", "4XX", "default"]


def test_status_codes_written_as_yaml_numbers_are_read_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
        "        200:\n          description: ok\n          content:\n            application/json:\n"
        "              schema: {type: string, enum: [2026-01-01]}\n",
        encoding="utf-8",
    )
    spec = load_spec(path)
    op = spec.operation("GET", "/a")
    assert spec.dialect == "3.0" and op is not None
    response = op.response_for(200)
    assert response is not None and response.json_schema == {"type": "string", "enum": ["2026-01-01"]}


def test_servers_give_their_base_path_with_variables_at_their_defaults() -> None:
    spec = _spec(
        _doc(
            {},
            servers=[
                {
                    "url": "https://{region}.example.com/api/{version}/",
                    "variables": {"region": {"default": "eu"}, "version": {"default": "v2"}},
                },
                {"url": "/relative"},
            ],
        )
    )
    assert [s.base_path for s in spec.servers] == ["/api/v2", "/relative"]


# -- references ----------------------------------------------------------------------------------


def test_a_recursive_schema_resolves_with_one_reference_left_where_it_closes() -> None:
    node = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    spec = _spec(
        _doc(
            {
                "/tree": {
                    "get": {
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}
                                },
                            }
                        }
                    }
                }
            },
            components={"schemas": {"Node": node}},
        )
    )
    op = spec.operation("GET", "/tree")
    assert op is not None
    response = op.response_for(200)
    assert response is not None and response.json_schema is not None
    items = response.json_schema["properties"]["children"]["items"]
    assert items == {"$ref": f"{REF_BASE}#/components/schemas/Node"}
    assert spec.schema_for_ref(items["$ref"]) is response.json_schema


@pytest.mark.parametrize(
    "schemas",
    [
        {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}},
        {"A": {"allOf": [{"$ref": "#/components/schemas/A"}]}},
        {
            "A": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/B"}]},
            "B": {"oneOf": [{"$ref": "#/components/schemas/A"}]},
        },
    ],
)
def test_a_reference_cycle_that_never_descends_into_the_data_is_refused(schemas: dict[str, Any]) -> None:
    document = _doc(
        {
            "/a": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}},
                        }
                    }
                }
            }
        },
        components={"schemas": schemas},
    )
    problems = _problems(document)
    assert any("circular $ref" in message for message in problems.values())
    assert all(path.endswith("/$ref") for path in problems)


def test_references_to_other_files_and_missing_targets_are_named_by_pointer() -> None:
    problems = _problems(
        _doc(
            {
                "/a": {
                    "get": {
                        "parameters": [{"$ref": "other.yaml#/components/parameters/Id"}],
                        "responses": {"200": {"$ref": "#/components/responses/Missing"}},
                    }
                }
            }
        )
    )
    assert problems == {
        "/paths/~1a/get/parameters/0/$ref": (
            "only local references (#/...) are supported; bundle the document first"
        ),
        "/paths/~1a/get/responses/200/$ref": "$ref target #/components/responses/Missing does not exist",
    }


def test_extensions_beside_a_reference_are_kept() -> None:
    spec = _spec(
        _doc(
            {
                "/a": {
                    "get": {
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "type": "object",
                                            "properties": {
                                                "mail": {
                                                    "$ref": "#/components/schemas/Email",
                                                    "x-pii": "profile.email",
                                                }
                                            },
                                        }
                                    }
                                },
                            }
                        }
                    }
                }
            },
            components={"schemas": {"Email": {"type": "string", "format": "email"}}},
        )
    )
    op = spec.operation("GET", "/a")
    assert op is not None
    response = op.response_for(200)
    assert response is not None and response.json_schema is not None
    assert response.json_schema["properties"]["mail"] == {
        "type": "string",
        "format": "email",
        "x-pii": "profile.email",
    }


# -- problems ------------------------------------------------------------------------------------


def test_every_problem_is_named_by_its_json_pointer() -> None:
    problems = _problems(
        _doc(
            {
                "/users/{id}": {
                    "get": {"operationId": "one", "security": [{"nobody": []}], "responses": _ok()},
                    "put": {
                        "operationId": "one",
                        "x-dataward-purpose": "Not A Purpose",
                        "parameters": [
                            {"name": "id", "in": "path", "required": True},
                            {"name": "q", "in": "body"},
                        ],
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {"type": "object", "properties": {"e": {"x-pii": "email"}}}
                                    }
                                },
                            },
                            "299x": {"description": "no"},
                        },
                    },
                },
                "/users/{name}": {
                    "get": {
                        "parameters": [{"name": "name", "in": "path", "required": True}],
                        "responses": _ok(),
                    }
                },
                "users": {"get": {"responses": _ok()}},
            },
            version="3.1.0",
        )
    )
    ops = "/paths/~1users~1{id}"
    assert problems == {
        f"{ops}/get/parameters": "path parameter {id} is not declared",
        f"{ops}/get/security/0/nobody": "unknown security scheme nobody (not in components.securitySchemes)",
        f"{ops}/put/x-dataward-purpose": (
            "not a purpose name: 'Not A Purpose' (lower case letters, digits, - and _)"
        ),
        f"{ops}/put/parameters/1/in": "in must be one of path, query, header, cookie",
        f"{ops}/put/responses/200/content/application~1json/schema/properties/e/x-pii": (
            "x-pii must be true, false or a policy field (collection.field)"
        ),
        f"{ops}/put/responses/299x": "a response key must be a status code (200), a range (2XX) or default",
        f"{ops}/put/operationId": f"operationId one is also at {ops}/get",
        "/paths/~1users~1{name}/get": f"the same route as {ops}/get: requests could not be told apart",
        "/paths/users": "a path must start with /",
    }


def test_an_unsupported_version_and_unreadable_text_are_refused() -> None:
    assert _problems({"swagger": "2.0", "paths": {}}) == {
        "/openapi": "expected an OpenAPI version 3.0.x or 3.1.x (convert Swagger 2.0 first)"
    }
    assert _problems(_doc({}, jsonSchemaDialect="http://json-schema.org/draft-07/schema#")) == {
        "/jsonSchemaDialect": "only JSON Schema 2020-12 (the OpenAPI 3.1 default) is supported"
    }
    with pytest.raises(SpecError, match=r"not valid YAML: .*\(line \d+\)"):
        parse_spec("openapi: 3.1.0\npaths: [\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        parse_spec("- a list\n")


def test_a_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the document"):
        load_spec(tmp_path / "absent.yaml")


def test_the_error_message_lists_each_problem_on_its_own_line() -> None:
    with pytest.raises(SpecError) as caught:
        _spec(_doc({"a": {}, "b": {}}))
    assert str(caught.value).splitlines() == [
        "inline: 2 problem(s)",
        "  /paths/a: a path must start with /",
        "  /paths/b: a path must start with /",
    ]
