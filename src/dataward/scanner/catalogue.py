"""Every rule the scanners know, by id: what it means, how bad it is by default, and the fix.

Ids are stable (configs silence them, dashboards track them). The spec rules (`scan spec`) read
an OpenAPI document; the live rules (`scan live`) are probes against a running API.
"""

from __future__ import annotations

from dataward.scanner.findings import Rule, Severity

__all__ = ["RULES", "rule"]

API1 = "API1:2023 Broken Object Level Authorization"
API2 = "API2:2023 Broken Authentication"
API3 = "API3:2023 Broken Object Property Level Authorization"
API4 = "API4:2023 Unrestricted Resource Consumption"
API5 = "API5:2023 Broken Function Level Authorization"
API7 = "API7:2023 Server Side Request Forgery"
API8 = "API8:2023 Security Misconfiguration"
API9 = "API9:2023 Improper Inventory Management"

_H, _M, _L, _I, _C = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO, Severity.CRITICAL

_ALL = (
    # -- the spec ------------------------------------------------------------------------------
    Rule("API1-SEQUENTIAL-ID", "Object ids that can be guessed", API1, _M,
         "Use random identifiers (UUIDs) for objects, and check on every call that the caller may "
         "reach the object named."),
    Rule("API1-UNPROTECTED-OBJECT", "Object-level operation without security", API1, _H,
         "Declare a security requirement on the operation (or globally) and check ownership of the "
         "object in the handler."),
    Rule("API2-NO-SECURITY", "Operation without security", API2, _H,
         "Declare a security requirement (OAuth 2.0 or a bearer token) for the operation or the "
         "whole API; if it is public on purpose, silence this rule for it with a justification."),
    Rule("API2-BASIC-AUTH", "HTTP Basic authentication", API2, _M,
         "Replace HTTP Basic with short-lived bearer tokens (OAuth 2.0 client credentials)."),
    Rule("API2-CREDENTIALS-IN-QUERY", "Credentials in the query string", API2, _H,
         "Send API keys and tokens in a header; query strings end up in logs, proxies and browser "
         "history.", "Art. 32"),
    Rule("API2-TOKEN-LIFETIME", "Bearer tokens without a declared lifetime", API2, _L,
         "Declare how long tokens live (`x-token-lifetime`, seconds or an ISO 8601 duration) and "
         "keep access tokens short-lived (minutes, not days)."),
    Rule("API3-MASS-ASSIGNMENT", "Write body accepts undeclared properties", API3, _M,
         "Set `additionalProperties: false` on write bodies, and declare server-owned properties "
         "`readOnly`."),
    Rule("API3-PRIVILEGED-PROPERTY", "Privileged property writable by the caller", API3, _H,
         "Remove privilege-bearing properties (role, admin, verified, owner) from write bodies or "
         "mark them `readOnly`; set them through a separate, admin-only operation."),
    Rule("API3-SECRET-IN-RESPONSE", "Secret returned in a response", API3, _H,
         "Never return passwords, password hashes, keys or other secrets; remove the property from "
         "the response schema.", "Art. 32"),
    Rule("API3-PERSONAL-DATA-NO-PURPOSE", "Personal data returned without a declared purpose", API3, _M,
         "Declare what the operation's personal data is used for (`x-dataward-purpose`) and return "
         "only the fields that purpose needs; mark the fields `x-pii`.", "Art. 5(1)(b), 5(1)(c)"),
    Rule("API4-STRING-NO-MAXLENGTH", "String input without maxLength", API4, _L,
         "Give every string input a `maxLength` (or an `enum`, or a bounded `format`)."),
    Rule("API4-ARRAY-NO-MAXITEMS", "Array input without maxItems", API4, _M,
         "Give every array input a `maxItems`."),
    Rule("API4-NUMBER-UNBOUNDED", "Number input without bounds", API4, _L,
         "Give numeric inputs a `minimum` and `maximum`."),
    Rule("API4-LIST-NO-PAGINATION", "List operation without a bounded page size", API4, _M,
         "Take a page size parameter (`limit`, `page_size`) with a `maximum`, and a cursor or page."),
    Rule("API4-NO-RATE-LIMIT", "No rate limit declared", API4, _L,
         "Declare a 429 response with `Retry-After` and the `RateLimit` headers, and enforce the "
         "limit (the Dataward gateway does, from the policy)."),
    Rule("API5-ADMIN-SHARED-SCOPES", "Admin operation reachable with an ordinary token", API5, _H,
         "Give administrative operations scopes (or a scheme) that ordinary operations do not use, "
         "so that a token for everyday calls cannot reach them."),
    Rule("API7-URL-PARAMETER", "Parameter takes a URL without restriction", API7, _M,
         "Restrict URL inputs: an `enum` of allowed targets or a `pattern` anchored to your own "
         "hosts; fetch them server-side only through an allow-list."),
    Rule("API8-PLAIN-HTTP", "Server reached over plain HTTP", API8, _H,
         "Serve only over HTTPS (TLS 1.2+); remove `http://` servers.", "Art. 32"),
    Rule("API8-ERROR-RESPONSES", "Error responses not declared", API8, _L,
         "Declare the 401/403 answers of secured operations, the 4xx answers of operations that take "
         "input, and a 5xx answer, each as problem+json (RFC 9457)."),
    Rule("API8-PERMISSIVE-CORS", "Any origin allowed (CORS)", API8, _M,
         "Allow only your own origins in `Access-Control-Allow-Origin`; never `*` with credentials."),
    Rule("API9-DEPRECATED", "Deprecated operation still published", API9, _L,
         "Remove deprecated operations once their sunset date passes, and announce it (`Sunset`)."),
    Rule("API9-INTERNAL-PATH", "Internal-looking path in the spec", API9, _M,
         "Keep debug, test and internal operations out of the public spec and off the public "
         "deployment."),
    Rule("API9-OLD-VERSION", "Older API version still published", API9, _L,
         "Retire old API versions (`/v1` beside `/v2`) or document their sunset."),
    Rule("API9-NO-SERVERS", "No servers declared", API9, _L,
         "Declare `servers` (one per environment) so that every deployment of the API is known."),
    Rule("GDPR-PII-IN-URL", "Personal data in the URL", API8, _H,
         "Move personal data (e-mail, phone, names, national ids) out of paths and query strings "
         "into the body of a POST or a header: URLs are logged by every proxy on the way.",
         "Art. 5(1)(f), Art. 32"),
    Rule("GDPR-SPECIAL-CATEGORY", "Special-category data without a declared purpose", API3, _H,
         "Special categories (health, religion, ethnicity, sexual life, political opinions, union "
         "membership, genetics, biometrics) and criminal data need an Art. 9(2) condition: declare "
         "the purpose (`x-dataward-purpose`), mark the fields `x-pii`, and keep them out of general "
         "endpoints.", "Art. 9, Art. 10"),
    Rule("GDPR-BULK-EXPORT", "Bulk export of personal data without limits", API4, _H,
         "Bound export operations (page size with a maximum, rate limit) and restrict them to an "
         "admin scope; log each export.", "Art. 5(1)(c), Art. 32"),
    Rule("GDPR-CALLBACK-PERSONAL-DATA", "Personal data sent to third-party callbacks", API3, _H,
         "Send callbacks an id and let the receiver fetch what it may see; where data must go, "
         "record the recipient as a processor (Art. 28) and check transfers (Art. 44).",
         "Art. 28, Art. 44"),
    Rule("SPEC-UNRESOLVED-REF", "Reference that cannot be followed", API9, _I,
         "Bundle the spec into one document (`$ref`s within it only), so that tools see all of it."),
    # -- the running API -----------------------------------------------------------------------
    Rule("API1-BOLA", "One identity reaches another's object", API1, _C,
         "Check on every call that the caller owns (or may reach) the object named, whatever its id."),
    Rule("API2-NO-TOKEN-ACCEPTED", "Secured operation answers without a token", API2, _C,
         "Require and verify the token on every secured operation."),
    Rule("API2-FORGED-TOKEN-ACCEPTED", "Forged token accepted", API2, _C,
         "Verify the token's signature with a fixed algorithm list (never `none`), its expiry and "
         "its issuer; use long random or asymmetric keys."),
    Rule("API2-TOKEN-IN-QUERY-ACCEPTED", "Token accepted in the query string", API2, _M,
         "Accept tokens only in the Authorization header.", "Art. 32"),
    Rule("API2-USER-ENUMERATION", "Login tells unknown users from wrong passwords", API2, _M,
         "Answer an unknown user and a wrong password the same way (status, body and timing)."),
    Rule("API3-MASS-ASSIGNMENT-ACCEPTED", "Privileged property set through a write", API3, _H,
         "Bind write bodies to an explicit schema without server-owned properties."),
    Rule("API3-EXCESSIVE-EXPOSURE", "Response exposes secrets or undeclared personal data", API3, _H,
         "Return only the declared properties a caller needs; never secrets.", "Art. 5(1)(c)"),
    Rule("API4-NO-RATE-LIMIT-OBSERVED", "No 429 under a burst", API4, _M,
         "Enforce rate limits on login and list operations, answering 429 with Retry-After."),
    Rule("API5-ADMIN-REACHABLE", "Admin operation reachable by an ordinary identity", API5, _C,
         "Check the caller's role on every administrative operation."),
    Rule("API8-INJECTION", "Input reaches an interpreter", API8, _C,
         "Use parameterised queries and never pass input to a shell."),
    Rule("API8-SERVER-ERROR", "Server error or answer off the spec", API8, _M,
         "Validate input against the spec and answer malformed requests with 4xx problem+json."),
    Rule("API9-SHADOW-ENDPOINT", "Undocumented endpoint answers", API9, _H,
         "Remove the endpoint or document it; put the API behind a gateway that refuses undeclared "
         "paths."),
)  # fmt: skip

RULES: dict[str, Rule] = {r.id: r for r in _ALL}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
