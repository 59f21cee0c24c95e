"""Reading OpenAPI 2.0, 3.0 and 3.1 documents: operations, references with the pointer of their
definition, lines, and what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataward.scanner.document import SpecUnreadable, parse_document
from dataward.scanner.spec_scan import load_document, scan_document

SWAGGER = """\
swagger: "2.0"
info: {title: old, version: "1"}
host: api.example.com
schemes: [http]
basePath: /api
securityDefinitions:
  basic: {type: basic}
paths:
  /users/{id}:
    parameters:
      - {name: id, in: path, required: true, type: integer}
    put:
      security: [{basic: []}]
      parameters:
        - name: body
          in: body
          schema: {$ref: "#/definitions/User"}
      responses:
        "200":
          description: ok
          schema: {$ref: "#/definitions/User"}
definitions:
  User:
    type: object
    properties:
      email: {type: string}
      password: {type: string}
"""


def test_swagger_2_is_read_into_the_same_operations() -> None:
    document = parse_document(SWAGGER, "old.yaml")
    (operation,) = document.operations
    assert (operation.method, operation.path, document.dialect) == ("PUT", "/users/{id}", "2.0")
    assert [(p.name, p.location) for p in operation.parameters] == [("id", "path")]
    assert [b.pointer for b in operation.bodies] == ["/definitions/User"]  # where it is defined
    assert document.servers == [("http://api.example.com/api", "/schemes")]
    assert document.security_schemes["basic"][0]["scheme"] == "basic"
    rules = {f.rule.id for f in scan_document(document).findings}
    assert {"API1-SEQUENTIAL-ID", "API2-BASIC-AUTH", "API8-PLAIN-HTTP", "API3-SECRET-IN-RESPONSE"} <= rules


def test_findings_carry_the_line_of_their_pointer() -> None:
    document = parse_document(SWAGGER, "old.yaml")
    findings = scan_document(document).findings
    secret = next(f for f in findings if f.rule.id == "API3-SECRET-IN-RESPONSE")
    assert secret.location.pointer == "/definitions/User/properties/password"
    assert SWAGGER.splitlines()[secret.location.line - 1].strip().startswith("password:")  # type: ignore[operator]


def test_json_documents_have_lines_too() -> None:
    data = {
        "openapi": "3.0.3",
        "info": {"title": "j", "version": "1"},
        "paths": {"/v1/things": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    text = json.dumps(data, indent=2)
    document = parse_document(text, "j.json")
    line = next(n for n, text in enumerate(text.splitlines(), 1) if '"get"' in text)
    assert document.line_of("/paths/~1v1~1things/get") == line
    assert document.line_of("/paths/~1v1~1things/get/nothing/here") == line  # the nearest that exists


def test_a_shared_schema_is_one_finding_and_broken_references_are_reported() -> None:
    text = """\
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Open"}}}}
      responses: {"200": {description: ok}}
  /b:
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Open"}}}}
      responses: {"200": {$ref: "#/components/responses/Missing"}}
  /c:
    get:
      responses: {"200": {$ref: "other.yaml#/Thing"}}
components:
  schemas:
    Open: {type: object, properties: {note: {type: string, maxLength: 10}}}
"""
    findings = scan_document(parse_document(text, "t.yaml")).findings
    open_bodies = [f for f in findings if f.rule.id == "API3-MASS-ASSIGNMENT"]
    assert [f.location.pointer for f in open_bodies] == ["/components/schemas/Open"]
    unresolved = sorted(f.message for f in findings if f.rule.id == "SPEC-UNRESOLVED-REF")
    assert unresolved == [
        "`$ref: #/components/responses/Missing` cannot be followed in this document",
        "`$ref: other.yaml#/Thing` cannot be followed in this document",
    ]


def test_recursive_schemas_end() -> None:
    text = """\
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /tree:
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Node"}}}}
      responses: {"200": {description: ok}}
components:
  schemas:
    Node:
      type: object
      additionalProperties: false
      properties:
        children: {type: array, maxItems: 5, items: {$ref: "#/components/schemas/Node"}}
        loop: {$ref: "#/components/schemas/Loop"}
    Loop: {$ref: "#/components/schemas/Loop2"}
    Loop2: {$ref: "#/components/schemas/Loop"}
"""
    findings = scan_document(parse_document(text, "t.yaml")).findings
    assert "API4-ARRAY-NO-MAXITEMS" not in {f.rule.id for f in findings}
    assert any(f.rule.id == "SPEC-UNRESOLVED-REF" for f in findings)  # the reference loop


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("openapi: [", "neither YAML nor JSON"),
        ("- a\n- b\n", "not a mapping"),
        ("openapi: 4.0.0\ninfo: {}\n", "names no OpenAPI version"),
        ("info: {title: t}\n", "names no OpenAPI version"),
    ],
)
def test_unreadable_documents_say_why(text: str, message: str) -> None:
    with pytest.raises(SpecUnreadable, match=message):
        parse_document(text, "x.yaml")


def test_missing_files_and_unreachable_urls_are_unreadable(tmp_path: Path) -> None:
    with pytest.raises(SpecUnreadable, match="cannot read"):
        load_document(str(tmp_path) + "/absent.yaml")
    with pytest.raises(SpecUnreadable, match="cannot fetch"):
        load_document("http://127.0.0.1:9/openapi.json", timeout=2)
