"""Routing: literal before templated, 404 apart from 405, strict paths, and no path-confusion tricks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dataward.gateway.routing import MatchKind, Router
from dataward.gateway.spec import load_spec, parse_spec

_OK: dict[str, Any] = {"responses": {"200": {"description": "ok"}}}


def _param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _router(paths: dict[str, dict[str, Any]], base_path: str = "") -> Router:
    document: dict[str, Any] = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    for template, methods in paths.items():
        item: dict[str, Any] = {"parameters": [_param(n) for n in re.findall(r"\{([^{}/]+)\}", template)]}
        for method in methods:
            item[method] = {**_OK, "operationId": f"{method}{template}"}
        document["paths"][template] = item
    return Router(parse_spec(json.dumps(document)), base_path=base_path)


@pytest.fixture
def router() -> Router:
    return _router(
        {
            "/": {"get": {}},
            "/users": {"get": {}, "post": {}},
            "/users/": {"get": {}},  # declared with a trailing slash: a path of its own
            "/users/me": {"get": {}},
            "/users/{id}": {"get": {}, "delete": {}},
            "/users/{id}/orders": {"get": {}},
            "/users/{id}/orders/{order}": {"get": {}},
            "/files/{name}.{ext}": {"get": {}},
        }
    )


def test_a_literal_segment_wins_over_a_template(router: Router) -> None:
    me = router.match("GET", "/users/me")
    assert me.kind is MatchKind.MATCHED and me.template == "/users/me" and me.params == {}
    other = router.match("GET", "/users/42")
    assert other.template == "/users/{id}" and other.params == {"id": "42"}


def test_a_literal_that_leads_nowhere_falls_back_to_the_template(router: Router) -> None:
    match = router.match("GET", "/users/me/orders/7")
    assert match.kind is MatchKind.MATCHED
    assert match.template == "/users/{id}/orders/{order}"
    assert match.params == {"id": "me", "order": "7"}


def test_a_known_path_with_an_undeclared_method_is_not_an_unknown_path(router: Router) -> None:
    put = router.match("PUT", "/users/42")
    assert put.kind is MatchKind.METHOD_NOT_ALLOWED
    assert put.template == "/users/{id}" and put.allowed == ("GET", "DELETE") and put.operation is None
    unknown = router.match("GET", "/admin")
    assert unknown.kind is MatchKind.NOT_FOUND and unknown.template is None


def test_methods_match_whatever_their_case(router: Router) -> None:
    match = router.match("delete", "/users/42")
    assert match.operation is not None and match.operation.method == "DELETE"


def test_trailing_slashes_are_strict(router: Router) -> None:
    assert router.match("GET", "/users").template == "/users"
    assert router.match("GET", "/users/").template == "/users/"
    assert router.match("GET", "/users/42/").kind is MatchKind.NOT_FOUND
    assert router.match("GET", "/").template == "/"


def test_parameters_are_percent_decoded_but_literals_are_compared_decoded_too(router: Router) -> None:
    match = router.match("GET", "/users/J%C3%BCrgen%20M")
    assert match.params == {"id": "Jürgen M"}
    assert router.match("GET", "/us%65rs/me").template == "/users/me"


def test_a_segment_mixing_text_and_variables(router: Router) -> None:
    match = router.match("GET", "/files/report.final.pdf")
    assert match.template == "/files/{name}.{ext}"
    assert match.params == {"name": "report", "ext": "final.pdf"}
    assert router.match("GET", "/files/report").kind is MatchKind.NOT_FOUND


@pytest.mark.parametrize(
    "path",
    [
        "/users/..%2Fadmin",  # an encoded slash: one segment here, two upstream
        "/users/..%2fadmin",
        "/users/%2e%2e",  # an encoded dot segment
        "/users/..",
        "/users/.",
        "/users/..;/admin",  # Tomcat's path parameters
        "/users/42%5C..%5Cadmin",  # an encoded backslash
        "/users\\42",
        "/users//42",  # an empty segment: collapsed by some servers, not by others
        "//users",
        "/users/42%00",  # NUL
        "/users/%0d%0aSet-Cookie:x",  # header injection through the path
        "/users/%E0%A4%A",  # a broken escape
        "/users/%ff",  # not UTF-8
        "/users/100%",
        "users/42",  # not even absolute
    ],
)
def test_paths_that_could_mean_something_else_upstream_are_malformed(router: Router, path: str) -> None:
    assert router.match("GET", path).kind is MatchKind.MALFORMED


def test_a_base_path_is_required_and_stripped() -> None:
    router = _router({"/items/{id}": {"get": {}}}, base_path="/api/v1/")
    assert router.match("GET", "/api/v1/items/3").params == {"id": "3"}
    assert router.match("GET", "/items/3").kind is MatchKind.NOT_FOUND
    assert router.match("GET", "/api/v1items/3").kind is MatchKind.NOT_FOUND


def test_the_example_spec_routes_its_shadow_route_nowhere() -> None:
    spec = load_spec(Path(__file__).resolve().parents[3] / "examples" / "customers_api" / "openapi.yaml")
    router = Router(spec)
    assert router.match("GET", "/internal/debug/customers").kind is MatchKind.NOT_FOUND
    assert router.match("DELETE", "/v1/customers/1").kind is MatchKind.METHOD_NOT_ALLOWED
    legacy = router.match("GET", "/v1/customers/7/legacy")
    assert (
        legacy.operation is not None and legacy.operation.deprecated and legacy.params == {"customer_id": "7"}
    )
