"""Plain readings of each spec rule: where an OpenAPI document has the flaw, as a set of
(method, path template), (None, None) for the whole API.

`tests/unit/scanner/test_scan_targets.py` runs them to prove what the scan targets plant and what
the clean one avoids. They are not the scanner: simple on purpose, and kept apart from it so
that each checks the other.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "PROBLEM_JSON",
    "SPEC_CHECKS",
    "Document",
    "Where",
    "operations",
    "required_parameters",
    "resolve",
    "response_schemas",
    "secured",
]

Document = dict[str, Any]
Where = tuple[str | None, str | None]  # (method, path template); (None, None): the whole API

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PUBLIC = {("POST", "/auth/login"), ("GET", "/health")}
PROBLEM_JSON = "application/problem+json"

PERSONAL = re.compile(r"e_?mail|phone|birth|full_name|display_name|username|ssn|national_id|address", re.I)
SPECIAL = re.compile(r"health|religio|union|ethnic|racial|sexual|political|biometric|genetic|criminal", re.I)
URL_LIKE = re.compile(r"url|uri|callback|webhook|redirect", re.I)
SECRETS = {"password", "password_hash", "secret", "client_secret", "api_key", "private_key"}
PRIVILEGED = {"is_admin", "admin", "role", "roles", "permissions", "scopes", "verified", "owner", "owner_id"}
CREDENTIAL_PARAMETERS = {"api_key", "apikey", "token", "access_token", "password", "secret"}
PAGE_SIZES = {"limit", "page_size", "per_page", "size"}
INTERNAL = {"debug", "internal", "test", "private"}
BOUNDED_FORMATS = {"uuid", "date", "date-time"}


# -- reading an OpenAPI document ------------------------------------------------------------------


def operations(doc: Document) -> Iterator[tuple[str, str, Document]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def resolve(doc: Document, schema: Document) -> Document:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def leaves(doc: Document, schema: Document) -> Iterator[Document]:
    """`schema` and every schema within it: properties, items, branches."""
    schema = resolve(doc, schema)
    yield schema
    nested = [*schema.get("properties", {}).values(), *schema.get("anyOf", []), *schema.get("allOf", [])]
    nested += [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), dict)]
    for inner in nested:
        yield from leaves(doc, inner)


def properties(doc: Document, schema: Document) -> Iterator[tuple[str, Document]]:
    for leaf in leaves(doc, schema):
        yield from leaf.get("properties", {}).items()


def body_schema(operation: Document) -> Document | None:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return media.get("schema") if media else None


def response_schemas(operation: Document) -> Iterator[Document]:
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            for media in response.get("content", {}).values():
                if media.get("schema"):
                    yield media["schema"]


def named_inputs(doc: Document, operation: Document) -> Iterator[tuple[str, Document]]:
    for parameter in operation.get("parameters", []):
        yield parameter["name"], parameter.get("schema", {})
    if (body := body_schema(operation)) is not None:
        yield from properties(doc, body)


def input_leaves(doc: Document, operation: Document) -> Iterator[Document]:
    for parameter in operation.get("parameters", []):
        yield from leaves(doc, parameter.get("schema", {}))
    if (body := body_schema(operation)) is not None:
        yield from leaves(doc, body)


def named_outputs(doc: Document, operation: Document) -> Iterator[tuple[str, Document]]:
    for schema in response_schemas(operation):
        yield from properties(doc, schema)


def requirements(doc: Document, operation: Document) -> list[dict[str, list[str]]]:
    return list(operation.get("security", doc.get("security")) or [])


def secured(doc: Document, operation: Document) -> bool:
    found = requirements(doc, operation)
    return bool(found) and all(found)  # `{}` among them lets anyone in


def schemes_of(doc: Document, operation: Document) -> Iterator[Document]:
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for requirement in requirements(doc, operation):
        for name in requirement:
            yield schemes[name]


def marked_pii(doc: Document, schema: Document) -> bool:
    return any(leaf.get("x-pii") is True for leaf in leaves(doc, schema))


def bounded_page_size(doc: Document, operation: Document) -> bool:
    return any(
        p["in"] == "query"
        and p["name"] in PAGE_SIZES
        and any("maximum" in s for s in leaves(doc, p["schema"]))
        for p in operation.get("parameters", [])
    )


def required_parameters(operation: Document) -> bool:
    return any(p.get("required") for p in operation.get("parameters", [])) or "requestBody" in operation


# -- one reference check per spec rule: where the document has the flaw ---------------------------


def where(doc: Document, flawed: Callable[[Document, str, str, Document], bool]) -> set[Where]:
    return {(m, p) for m, p, op in operations(doc) if flawed(doc, m, p, op)}


def sequential_ids(doc: Document, method: str, path: str, op: Document) -> bool:
    path_parameters = (p for p in op.get("parameters", []) if p["in"] == "path")
    return any(resolve(doc, p["schema"]).get("type") == "integer" for p in path_parameters)


def unprotected_object(doc: Document, method: str, path: str, op: Document) -> bool:
    return "{" in path and not secured(doc, op)


def no_security(doc: Document, method: str, path: str, op: Document) -> bool:
    return "{" not in path and (method, path) not in PUBLIC and not secured(doc, op)


def basic_auth(doc: Document, method: str, path: str, op: Document) -> bool:
    return any(s["type"] == "http" and s["scheme"].lower() == "basic" for s in schemes_of(doc, op))


def credentials_in_query(doc: Document, method: str, path: str, op: Document) -> bool:
    in_query = (p["name"].lower() for p in op.get("parameters", []) if p["in"] == "query")
    return any(s["type"] == "apiKey" and s["in"] == "query" for s in schemes_of(doc, op)) or any(
        name in CREDENTIAL_PARAMETERS for name in in_query
    )


def token_lifetime(doc: Document) -> set[Where]:
    schemes = doc.get("components", {}).get("securitySchemes", {}).values()
    bearers = [s for s in schemes if s["type"] in {"oauth2", "openIdConnect"} or s.get("scheme") == "bearer"]
    return {(None, None)} if any("x-token-lifetime" not in s for s in bearers) else set()


def mass_assignment(doc: Document, method: str, path: str, op: Document) -> bool:
    body = body_schema(op) if method in {"POST", "PUT", "PATCH"} else None
    objects = [s for s in leaves(doc, body) if "properties" in s] if body else []
    return any(s.get("additionalProperties") is not False for s in objects)


def privileged_property(doc: Document, method: str, path: str, op: Document) -> bool:
    body = body_schema(op) if method in {"POST", "PUT", "PATCH"} else None
    writable = ((n, s) for n, s in properties(doc, body) if not s.get("readOnly")) if body else iter(())
    return any(name.lower() in PRIVILEGED for name, _ in writable)


def secret_in_response(doc: Document, method: str, path: str, op: Document) -> bool:
    return any(name.lower() in SECRETS for name, _ in named_outputs(doc, op))


def personal_data_no_purpose(doc: Document, method: str, path: str, op: Document) -> bool:
    personal = [s for name, s in named_outputs(doc, op) if PERSONAL.search(name)]
    return bool(personal) and (
        "x-dataward-purpose" not in op or not all(marked_pii(doc, s) for s in personal)
    )


def string_no_max_length(doc: Document, method: str, path: str, op: Document) -> bool:
    strings = (s for s in input_leaves(doc, op) if s.get("type") == "string")
    return any(
        not {"maxLength", "enum", "const"} & set(s) and s.get("format") not in BOUNDED_FORMATS
        for s in strings
    )


def array_no_max_items(doc: Document, method: str, path: str, op: Document) -> bool:
    return any(s.get("type") == "array" and "maxItems" not in s for s in input_leaves(doc, op))


def number_unbounded(doc: Document, method: str, path: str, op: Document) -> bool:
    numbers = [s for s in input_leaves(doc, op) if s.get("type") in {"integer", "number"}]
    return any(not ({"maximum", "exclusiveMaximum"} & set(s) and {"minimum", "exclusiveMinimum"} & set(s))
               for s in numbers)  # fmt: skip


def list_no_pagination(doc: Document, method: str, path: str, op: Document) -> bool:
    def is_list(schema: Document) -> bool:
        schema = resolve(doc, schema)
        items = schema.get("properties", {}).get("items", {})
        return schema.get("type") == "array" or resolve(doc, items).get("type") == "array"

    return method == "GET" and any(map(is_list, response_schemas(op))) and not bounded_page_size(doc, op)


def no_rate_limit(doc: Document) -> set[Where]:
    def lacking(doc: Document, method: str, path: str, op: Document) -> bool:
        headers = {h.lower() for h in op.get("responses", {}).get("429", {}).get("headers", {})}
        return not {"retry-after", "ratelimit"} <= headers

    found = where(doc, lacking)
    declared_anywhere = any("429" in op.get("responses", {}) for _, _, op in operations(doc))
    return found if declared_anywhere else found | {(None, None)}


def admin_shared_scopes(doc: Document) -> set[Where]:
    ordinary: set[tuple[str, str | None]] = set()
    for _, path, op in operations(doc):
        if "admin" not in path.split("/"):
            for requirement in requirements(doc, op):
                for name, scopes in requirement.items():
                    ordinary |= {(name, None), *((name, s) for s in scopes)}

    def everyday_token_enough(requirement: dict[str, list[str]]) -> bool:
        return all({(n, None), *((n, s) for s in scopes)} <= ordinary for n, scopes in requirement.items())

    def shared(doc: Document, method: str, path: str, op: Document) -> bool:
        if "admin" not in path.split("/"):
            return False
        return not secured(doc, op) or any(map(everyday_token_enough, requirements(doc, op)))

    return where(doc, shared)


def url_parameter(doc: Document, method: str, path: str, op: Document) -> bool:
    urls = [s for name, s in named_inputs(doc, op) if URL_LIKE.search(name)]
    strings = (leaf for s in urls for leaf in leaves(doc, s) if leaf.get("type") == "string")
    return any(not {"enum", "const", "pattern"} & set(s) for s in strings)


def plain_http(doc: Document) -> set[Where]:
    return {(None, None)} if any(s["url"].startswith("http://") for s in doc.get("servers", [])) else set()


def no_servers(doc: Document) -> set[Where]:
    return set() if doc.get("servers") else {(None, None)}


def error_responses(doc: Document, method: str, path: str, op: Document) -> bool:
    responses: Document = op.get("responses", {})
    codes = set(responses)
    errors = [r for code, r in responses.items() if code[0] in "45" or code == "default"]
    return (
        (secured(doc, op) and not {"401", "403"} <= codes)
        or (bool(op.get("parameters") or "requestBody" in op) and not codes & {"400", "422", "4XX"})
        or not any(c.startswith("5") or c == "default" for c in codes)
        or any(PROBLEM_JSON not in r.get("content", {}) for r in errors)
    )


def permissive_cors(doc: Document, method: str, path: str, op: Document) -> bool:
    for response in op.get("responses", {}).values():
        for name, header in response.get("headers", {}).items():
            if name.lower() == "access-control-allow-origin":
                schema = resolve(doc, header.get("schema", {}))
                values = [*schema.get("enum", []), *schema.get("examples", []), header.get("example")]
                values += [schema.get(k) for k in ("const", "default", "example")]
                if "*" in values:
                    return True
    return False


def deprecated(doc: Document, method: str, path: str, op: Document) -> bool:
    return op.get("deprecated") is True


def internal_path(doc: Document, method: str, path: str, op: Document) -> bool:
    return bool(INTERNAL & set(path.lower().split("/")))


def old_version(doc: Document) -> set[Where]:
    newest: dict[str, int] = defaultdict(int)
    for path in doc["paths"]:
        if versioned := re.match(r"^/v(\d+)(/.*)$", path):
            newest[versioned[2]] = max(newest[versioned[2]], int(versioned[1]))

    def older(doc: Document, method: str, path: str, op: Document) -> bool:
        versioned = re.match(r"^/v(\d+)(/.*)$", path)
        return bool(versioned) and versioned is not None and int(versioned[1]) < newest[versioned[2]]

    return where(doc, older)


def pii_in_url(doc: Document, method: str, path: str, op: Document) -> bool:
    in_url = (p["name"] for p in op.get("parameters", []) if p["in"] in {"path", "query"})
    return any(PERSONAL.search(name) for name in in_url)


def special_category(doc: Document, method: str, path: str, op: Document) -> bool:
    special = [s for name, s in (*named_inputs(doc, op), *named_outputs(doc, op)) if SPECIAL.search(name)]
    return bool(special) and ("x-dataward-purpose" not in op or not all(marked_pii(doc, s) for s in special))


def bulk_export(doc: Document, method: str, path: str, op: Document) -> bool:
    if "export" not in path.lower():
        return False
    admin_only = secured(doc, op) and all(
        any("admin" in scopes for scopes in requirement.values()) for requirement in requirements(doc, op)
    )
    return not (bounded_page_size(doc, op) and admin_only and "x-dataward-purpose" in op)


def callback_personal_data(doc: Document, method: str, path: str, op: Document) -> bool:
    callback_operations = (
        operation
        for callback in op.get("callbacks", {}).values()
        for item in callback.values()
        for name, operation in item.items()
        if name in METHODS
    )
    bodies = (body for cop in callback_operations if (body := body_schema(cop)) is not None)
    return any(PERSONAL.search(name) for body in bodies for name, _ in properties(doc, body))


def unresolved_refs(doc: Document) -> set[Where]:
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    try:
        for ref in refs(doc):
            resolve(doc, {"$ref": ref})
    except KeyError:
        return {(None, None)}
    return set()


Check = Callable[[Document], set[Where]]


def per_operation(flawed: Callable[[Document, str, str, Document], bool]) -> Check:
    return lambda doc: where(doc, flawed)


SPEC_CHECKS: dict[str, Check] = {
    "API1-SEQUENTIAL-ID": per_operation(sequential_ids),
    "API1-UNPROTECTED-OBJECT": per_operation(unprotected_object),
    "API2-NO-SECURITY": per_operation(no_security),
    "API2-BASIC-AUTH": per_operation(basic_auth),
    "API2-CREDENTIALS-IN-QUERY": per_operation(credentials_in_query),
    "API2-TOKEN-LIFETIME": token_lifetime,
    "API3-MASS-ASSIGNMENT": per_operation(mass_assignment),
    "API3-PRIVILEGED-PROPERTY": per_operation(privileged_property),
    "API3-SECRET-IN-RESPONSE": per_operation(secret_in_response),
    "API3-PERSONAL-DATA-NO-PURPOSE": per_operation(personal_data_no_purpose),
    "API4-STRING-NO-MAXLENGTH": per_operation(string_no_max_length),
    "API4-ARRAY-NO-MAXITEMS": per_operation(array_no_max_items),
    "API4-NUMBER-UNBOUNDED": per_operation(number_unbounded),
    "API4-LIST-NO-PAGINATION": per_operation(list_no_pagination),
    "API4-NO-RATE-LIMIT": no_rate_limit,
    "API5-ADMIN-SHARED-SCOPES": admin_shared_scopes,
    "API7-URL-PARAMETER": per_operation(url_parameter),
    "API8-PLAIN-HTTP": plain_http,
    "API8-ERROR-RESPONSES": per_operation(error_responses),
    "API8-PERMISSIVE-CORS": per_operation(permissive_cors),
    "API9-DEPRECATED": per_operation(deprecated),
    "API9-INTERNAL-PATH": per_operation(internal_path),
    "API9-OLD-VERSION": old_version,
    "API9-NO-SERVERS": no_servers,
    "GDPR-PII-IN-URL": per_operation(pii_in_url),
    "GDPR-SPECIAL-CATEGORY": per_operation(special_category),
    "GDPR-BULK-EXPORT": per_operation(bulk_export),
    "GDPR-CALLBACK-PERSONAL-DATA": per_operation(callback_personal_data),
    "SPEC-UNRESOLVED-REF": unresolved_refs,
}
