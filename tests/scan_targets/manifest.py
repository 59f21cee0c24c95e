"""What a scan of each Acme HR must find: the flaws `vulnerable_api` plants, rule by rule, where.

`*_SPEC_FLAWS` show in the app's OpenAPI document (`create_app().openapi()`, or `/openapi.json`
of the running app); `*_LIVE_FLAWS` only when the running app is called. `method` is upper case
and `path` the path template exactly as the generated document spells it; both are None for a
flaw of the whole API (its servers, its security scheme, its token verifier), which a scanner may
report anywhere. For API9-SHADOW-ENDPOINT the path is the one that answers, absent from the
document by design. A rule may be planted at several places; each is listed.

These are the findings a scan must make, not all it may make: the vulnerable app has more of the
same (most of its inputs are unbounded, say). The clean app must make none: `CLEAN_*` are empty.
Not planted: API9-NO-SERVERS (the vulnerable app declares an http:// server, for API8-PLAIN-HTTP)
and SPEC-UNRESOLVED-REF (FastAPI writes no dangling references); the scanner's own tests cover them.
"""

from __future__ import annotations

from dataclasses import dataclass

from scan_targets._people import DEMO_PASSWORDS

__all__ = [
    "CLEAN_LIVE_FLAWS",
    "CLEAN_SPEC_FLAWS",
    "DEMO_PASSWORDS",
    "LOGIN",
    "TARGETS",
    "VULNERABLE_LIVE_FLAWS",
    "VULNERABLE_SPEC_FLAWS",
    "Planted",
    "Target",
]

LOGIN = ("POST", "/auth/login")  # JSON {"username", "password"} -> {"access_token", ...}, both apps


@dataclass(frozen=True, slots=True)
class Planted:
    rule_id: str
    method: str | None
    path: str | None
    note: str


@dataclass(frozen=True, slots=True)
class Target:
    module: str  # under `scan_targets`, with `create_app()` and `issue_token(username)`
    spec_flaws: tuple[Planted, ...]
    live_flaws: tuple[Planted, ...]


P = Planted

VULNERABLE_SPEC_FLAWS: tuple[Planted, ...] = (
    P("API1-SEQUENTIAL-ID", "GET", "/documents/{document_id}", "integer document ids"),
    P("API1-UNPROTECTED-OBJECT", "GET", "/employees/{employee_id}", "an employee record, no security"),
    P("API2-NO-SECURITY", "GET", "/departments", "no security declared"),
    P("API2-BASIC-AUTH", "GET", "/reports/headcount", "secured with HTTP Basic (basicAuth)"),
    P("API2-CREDENTIALS-IN-QUERY", "GET", "/reports/salaries", "apiKey scheme in the query: api_key"),
    P("API2-TOKEN-LIFETIME", None, None, "components.securitySchemes.bearerAuth has no x-token-lifetime"),
    P("API3-MASS-ASSIGNMENT", "POST", "/documents", "DocumentIn without additionalProperties: false"),
    P("API3-PRIVILEGED-PROPERTY", "PATCH", "/users/me", "ProfileUpdate.role is writable"),
    P("API3-SECRET-IN-RESPONSE", "GET", "/admin/users", "Account.password_hash in the response"),
    P("API3-PERSONAL-DATA-NO-PURPOSE", "GET", "/employees/{employee_id}",
      "email, phone, date_of_birth; no x-dataward-purpose, no x-pii"),
    P("API4-STRING-NO-MAXLENGTH", "GET", "/employees/search", "query parameter q"),
    P("API4-ARRAY-NO-MAXITEMS", "POST", "/documents", "DocumentIn.tags"),
    P("API4-NUMBER-UNBOUNDED", "GET", "/reports/salary-bands", "query parameter bands: no bounds"),
    P("API4-LIST-NO-PAGINATION", "GET", "/documents", "returns an array; no limit parameter"),
    P("API4-NO-RATE-LIMIT", None, None, "no operation declares a 429"),
    P("API5-ADMIN-SHARED-SCOPES", "GET", "/admin/users", 'bearerAuth ["hr"], as every ordinary operation'),
    P("API7-URL-PARAMETER", "POST", "/webhooks", "query parameter callback_url: no enum, no pattern"),
    P("API8-PLAIN-HTTP", None, None, "servers: http://api.acme.example"),
    P("API8-ERROR-RESPONSES", "GET", "/documents", "secured, yet no 401, 403 or 5xx declared"),
    P("API8-PERMISSIVE-CORS", "GET", "/v2/directory", "200 header Access-Control-Allow-Origin: enum ['*']"),
    P("API9-DEPRECATED", "GET", "/v1/directory", "deprecated: true"),
    P("API9-INTERNAL-PATH", "GET", "/internal/metrics", "an /internal/ path in the spec"),
    P("API9-OLD-VERSION", "GET", "/v1/directory", "beside GET /v2/directory"),
    P("GDPR-PII-IN-URL", "GET", "/employees/by-email/{email}", "an e-mail address in the path"),
    P("GDPR-SPECIAL-CATEGORY", "POST", "/employees/{employee_id}/sick-leave",
      "health_condition in body and response; no x-dataward-purpose"),
    P("GDPR-BULK-EXPORT", "GET", "/employees/export", "all records: no limit, scope hr, no purpose"),
    P("GDPR-CALLBACK-PERSONAL-DATA", "POST", "/webhooks",
      "callback employee_changed posts full_name, email, phone to callback_url"),
)  # fmt: skip

VULNERABLE_LIVE_FLAWS: tuple[Planted, ...] = (
    P("API1-BOLA", "GET", "/documents/{document_id}", "bob reads alice's document (any id in turn)"),
    P("API1-BOLA", "PUT", "/documents/{document_id}", "bob overwrites alice's document"),
    P("API1-BOLA", "DELETE", "/documents/{document_id}", "bob deletes alice's document"),
    P("API2-NO-TOKEN-ACCEPTED", "GET", "/v2/directory", "declares bearerAuth, answers 200 without a token"),
    P("API2-FORGED-TOKEN-ACCEPTED", None, None,
      'every bearer route takes alg "none", expired tokens, and tokens signed with the secret "secret"'),
    P("API2-FORGED-TOKEN-ACCEPTED", "GET", "/users/me", "takes a token whose signature was altered"),
    P("API2-TOKEN-IN-QUERY-ACCEPTED", None, None, "every bearer route also reads ?access_token="),
    P("API2-USER-ENUMERATION", "POST", "/auth/login", "404 'unknown user' against 401 'wrong password'"),
    P("API3-MASS-ASSIGNMENT-ACCEPTED", "PATCH", "/users/me",
      "is_admin: true and role: admin are echoed and kept (GET /users/me shows them)"),
    P("API3-EXCESSIVE-EXPOSURE", "GET", "/users/me", "password_hash and ssn, not in the declared Profile"),
    P("API4-NO-RATE-LIMIT-OBSERVED", "POST", "/auth/login", "never a 429"),
    P("API4-NO-RATE-LIMIT-OBSERVED", "GET", "/documents", "never a 429"),
    P("API5-ADMIN-REACHABLE", "GET", "/admin/users", "alice's ordinary token lists every account"),
    P("API8-INJECTION", "GET", "/employees/search",
      "q reaches SQLite: ' answers 500 with the sqlite3 error; x' OR 1=1 -- returns every row"),
    P("API8-INJECTION", "GET", "/tools/ping", "host reaches sh -c: '127.0.0.1; echo $((6*7))' prints 42"),
    P("API8-SERVER-ERROR", "GET", "/reports/salary-bands", "bands=0, which the spec allows, answers 500"),
    P("API9-SHADOW-ENDPOINT", "GET", "/debug/config", "undocumented, no token needed: the JWT secret"),
    P("API9-SHADOW-ENDPOINT", "GET", "/old/api/employees", "undocumented; every employee, national ids too"),
    P("API9-SHADOW-ENDPOINT", "GET", "/admin/backup", "undocumented; accounts with password hashes"),
)  # fmt: skip

CLEAN_SPEC_FLAWS: tuple[Planted, ...] = ()
CLEAN_LIVE_FLAWS: tuple[Planted, ...] = ()

TARGETS = (
    Target("vulnerable_api", VULNERABLE_SPEC_FLAWS, VULNERABLE_LIVE_FLAWS),
    Target("clean_api", CLEAN_SPEC_FLAWS, CLEAN_LIVE_FLAWS),
)
