"""Live probes of what an API does with what it never expected: paths it does not document, input
that reaches an interpreter, edge values its spec allows, and bursts. Each is bounded in operations
and in requests per operation; on the scan targets the four make about two hundred requests.

- `shadow_endpoints` (API9-SHADOW-ENDPOINT): GETs paths APIs leave behind (`_GUESSES`: debug,
  admin/backup, actuator/env, .env, ...), the previous version of each versioned GET (`/v2/x` ->
  `/v1/x`) and `/old/api/<first segment>` of the documented paths: at most `_MAX_GUESSES`
  undocumented ones, each once with the first identity's token and, if it answers 2xx, once
  without. Two random paths go first: where they answer 2xx (a catch-all), only answers that
  differ from theirs count. Interactive documentation (`_DOCS`: FastAPI's /docs and /redoc,
  Swagger UI) is reported at LOW: it maps the API rather than hiding any of it. An answer that is
  the scanned spec itself (FastAPI's /openapi.json, which the scan likely read) is not reported.
- `injection` (API8-INJECTION): string query and path parameters of GETs (free text before
  patterned or formatted; `_MAX_INJECTED` operations, `_MAX_PARAMETERS` each) get a sample value,
  then that value followed, until one tells, by quotes (a 5xx or a database error the baseline did
  not show; a bare 5xx must go when the quote is doubled), a boolean pair (`' OR '1'='1' --`
  answering clearly more than `' AND '1'='2' --` and the baseline), shell metacharacters (`dw42zz`
  printed back) and, only where an answer broke without saying why, sleeps (1.8 s slower than the
  baseline twice). Quotes all refused with a 4xx the baseline did not get end it: the input is
  validated. At most 17 requests a parameter, 6 s each.
- `server_errors` (API8-SERVER-ERROR): each GET (`_MAX_EDGE_OPERATIONS`) with sample values, then
  edge values its spec allows, one parameter at a time (`_MAX_EDGES`): an integer's minimum, 0
  and its maximum (or 10 000, not more: a scan must not become a denial of service); a string
  empty and at its maxLength (or 1 000 characters) where its pattern agrees. Arrays need no more:
  their sample is already the empty list. The first 5xx is the operation's one finding.
- `rate_limits` (API4-NO-RATE-LIMIT-OBSERVED): last, since it may get the scanner limited. Bursts
  of `_BURST` requests within `_BURST_SECONDS` at each login with a sample body (not registration
  or password resets: they create accounts and send mail), and at `_MAX_LISTS` lists (GETs
  without path parameters answering an array, or a page holding one) with the first identity.
  A burst stops at the first 429; one that gets none is a finding.

Findings name paths, parameters and techniques, never answers, personal data or tokens.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from dataward.scanner.document import Operation, Parameter, SpecDocument
from dataward.scanner.findings import Finding, Severity
from dataward.scanner.live.client import Answer
from dataward.scanner.live.context import Identity, LiveContext, Probe, fill_path, sample_value
from dataward.scanner.schemas import returns_list, types_of
from dataward.scanner.words import (
    is_public_by_nature,
    is_sign_in_path,
    path_segments,
    version_of,
)

__all__ = ["PROBES"]

# -- undocumented paths ---------------------------------------------------------------------------

_GUESSES = ("debug", "debug/config", "debug/vars", "debug/pprof", "_debug", "internal",
            "internal/config", "admin", "admin/backup", "admin/config", "backup", "backup.sql",
            "export", "dump", "old", "old/api", "legacy", "test", "dev", "beta", "api/v0", "v0",
            "api/internal", "actuator", "actuator/env", "actuator/heapdump", ".env", ".git/config",
            "config", "config.json", "env", "server-status", "server-info", "phpinfo.php", "graphql",
            "graphiql", "metrics", "console", "trace", "heapdump")  # fmt: skip
_DOCS = ("docs", "redoc", "swagger-ui", "swagger-ui.html", "swagger.json", "openapi.json", "api-docs")
_MAX_GUESSES = 80


def shadow_endpoints(context: LiveContext) -> Iterator[Finding]:
    token = context.identities[0].token if context.identities else None
    decoys = (f"/{uuid.uuid4().hex}", f"/{uuid.uuid4().hex}/{uuid.uuid4().hex[:8]}")
    catch_all = {_unechoed(a, p) for p in decoys if (a := context.client.request("GET", p, token=token)).ok}
    if len(catch_all) == 2:  # any path answers, never the same way: nothing tells a real one apart
        context.notes.append("shadow endpoints: random paths answer 2xx, each differently; not tried")
        return
    for path in _guesses(context)[:_MAX_GUESSES]:
        answer = context.client.request("GET", path, token=token)
        if not answer.ok or _unechoed(answer, path) in catch_all or _is_the_spec(answer, context.document):
            continue
        open_ = token is None or context.client.request("GET", path).ok
        docs = path.strip("/") in _DOCS
        told = "interactive documentation" if docs else "an endpoint the spec does not document"
        yield context.finding(
            "API9-SHADOW-ENDPOINT",
            f"GET {path} answers {answer.status} {'without a token' if open_ else 'to a token'}: {told}",
            method="GET",
            path=path,
            severity=Severity.LOW if docs else None,
            evidence={"key": path, "status": answer.status, "without_token": open_},
        )


def _guesses(context: LiveContext) -> list[str]:
    """Paths to try, the word list first; none that the spec documents."""
    older = [
        re.sub(rf"/v{n}(\.\d+)?(?=/|$)", f"/v{n - 1}", fill_path(o.path, {}), count=1, flags=re.I)
        for o in context.reads()
        if (n := version_of(o.path))
    ]
    firsts = [s[0] for o in context.operations if (s := path_segments(o.path))]
    old = [f"old/api/{f}" for f in firsts if version_of(f"/{f}") is None and not is_public_by_nature(f"/{f}")]
    documented = [_template(o.path) for o in context.operations]
    paths = dict.fromkeys("/" + p.lstrip("/") for p in (*_GUESSES, *_DOCS, *older, *old))
    return [p for p in paths if not any(d.fullmatch(p) for d in documented)]


def _template(path: str) -> re.Pattern[str]:
    return re.compile("[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]*\}", path)))


def _unechoed(answer: Answer, path: str) -> str:
    """The body without the path in it: catch-alls often echo what they were asked."""
    return answer.text.replace(path, "")


def _is_the_spec(answer: Answer, document: SpecDocument) -> bool:
    data = answer.json()
    paths = data.get("paths") if isinstance(data, dict) else None
    return isinstance(paths, dict) and set(paths) == set(document.data.get("paths") or {})


# -- input that reaches an interpreter ------------------------------------------------------------

_QUOTES = ("'", '"', "')")
_DB_ERRORS = ("sqlite3.", "operationalerror", "syntax error near", 'near "', "sqlstate", "psycopg",
              "ora-0", "mysql", "unterminated quoted string", "unclosed quotation mark",
              "sqlalchemy.exc", "error in your sql syntax", "pg_query", "odbc")  # fmt: skip
_TRUE, _FALSE = "' OR '1'='1' --", "' AND '1'='2' --"
_ECHO, _ECHOED = "echo dw$((6*7))zz", "dw42zz"  # the shell prints what the payload does not spell
_SHELL = (f";{_ECHO}", f"|{_ECHO}", f"$({_ECHO})", f"`{_ECHO}`")
_SLEEPS = (";sleep 2", "' || pg_sleep(2) --")
_SLOWER = 1.8
_TIMEOUT = 6.0
_MAX_INJECTED = 6
_MAX_PARAMETERS = 2

Send = Callable[[Any], Answer]


def injection(context: LiveContext) -> Iterator[Finding]:
    identity = context.identities[0] if context.identities else None
    chosen = [(o, ps[:_MAX_PARAMETERS]) for o in context.reads() if (ps := _free_text(o, context.document))]
    chosen.sort(key=lambda c: _constrained(c[1][0], context.document))  # free text first: where it hides
    unanswered = 0
    for operation, parameter in ((o, p) for o, ps in chosen[:_MAX_INJECTED] for p in ps):
        send = _caller(context, operation, identity, parameter)
        value = str(sample_value(parameter.schema, context.document))
        baseline = send(value)
        if baseline.status == 0 or (baseline.status >= 400 and baseline.status != 404):
            unanswered += 1  # nothing to compare with: refused, or not this identity's to call
        elif technique := _technique(send, value, baseline):
            yield context.finding(
                "API8-INJECTION",
                f"the {parameter.location} parameter {parameter.name} reaches an interpreter",
                operation,
                evidence={"key": parameter.name, "technique": technique},
            )
    if unanswered:
        context.notes.append(f"injection: {unanswered} parameter(s) not tried: no usable answer to a sample")


def _technique(send: Send, value: str, baseline: Answer) -> str | None:
    """The first technique that shows the input reaching an interpreter, cheapest first."""
    seen: list[Answer] = []
    if _quotes(send, value, baseline, seen):
        return "error-based"
    if all(400 <= a.status < 500 and a.status != baseline.status for a in seen):
        return None  # every quote refused where the sample passed: the server validates this input
    for technique, shows in (("boolean-based", _boolean), ("command-echo", _echo), ("time-based", _sleeps)):
        if shows(send, value, baseline, seen):
            return technique
    return None


def _quotes(send: Send, value: str, baseline: Answer, seen: list[Answer]) -> bool:
    for quote in _QUOTES:
        seen.append(answer := send(value + quote))
        if _new_database_error(answer, baseline):
            return True
        if answer.status >= 500:
            seen.append(doubled := send(value + quote[0] * 2))
            if 0 < doubled.status < 500:
                return True  # the quote, closed again, no longer breaks it
    return False


def _boolean(send: Send, value: str, baseline: Answer, seen: list[Answer]) -> bool:
    true, false = send(value + _TRUE), send(value + _FALSE)
    seen += (true, false)
    return true.ok and _clearly_more(true, false) and _clearly_more(true, baseline)


def _echo(send: Send, value: str, baseline: Answer, seen: list[Answer]) -> bool:
    for payload in _SHELL:
        seen.append(answer := send(value + payload))
        if _ECHOED in answer.text and _ECHOED not in baseline.text:
            return True
    return False


def _sleeps(send: Send, value: str, baseline: Answer, seen: list[Answer]) -> bool:
    if not any(a.status == 0 or a.status >= 500 for a in seen):
        return False  # nothing broke without saying why: no cheaper signal was inconclusive
    # `all` stops at the first quick answer: a second request only confirms a slow first
    return any(all(send(value + p).seconds - baseline.seconds >= _SLOWER for _ in range(2)) for p in _SLEEPS)


def _new_database_error(answer: Answer, baseline: Answer) -> bool:
    said, before = answer.text.lower(), baseline.text.lower()
    return any(s in said and s not in before for s in _DB_ERRORS)


def _clearly_more(more: Answer, less: Answer) -> bool:
    """More items (of a JSON array, or a page's first array), else a body over twice as long."""
    counted, fewer = _size(more), _size(less)
    if counted is not None and fewer is not None:
        return counted > fewer
    return len(more.body) > 2 * len(less.body) + 32


def _size(answer: Answer) -> int | None:
    data = answer.json()
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    return len(data) if isinstance(data, list) else None


# -- edge values the spec allows ------------------------------------------------------------------

_LARGE = 10_000
_LONG = 1000
_MAX_EDGES = 6
_MAX_EDGE_OPERATIONS = 15


def server_errors(context: LiveContext) -> Iterator[Finding]:
    identity = context.identities[0] if context.identities else None
    chosen = [(o, e) for o in context.reads() if (e := _edges(o, context.document))]
    for operation, edges in chosen[:_MAX_EDGE_OPERATIONS]:
        for parameter, value in [(None, None), *edges]:  # sample values first, then one edge at a time
            answer = _caller(context, operation, identity, parameter)(value)
            if answer.status >= 500:
                yield _server_error(context, operation, answer.status, parameter, value)
                break


def _server_error(
    context: LiveContext, operation: Operation, status: int, parameter: Parameter | None, value: Any
) -> Finding:
    if parameter is None:
        said, evidence = "sample values", {"key": "sample values"}
    else:
        shown = f"{len(value)} characters" if isinstance(value, str) and value else repr(value)
        said = f"{parameter.name} = {shown}, which the spec allows"
        evidence = {"key": parameter.name, "value": shown}
    return context.finding("API8-SERVER-ERROR", f"answers {status} to {said}", operation, evidence=evidence)


def _edges(operation: Operation, document: SpecDocument) -> list[tuple[Parameter, Any]]:
    return [(p, v) for p in operation.parameters for v in _edge_values(p, document)][:_MAX_EDGES]


def _edge_values(parameter: Parameter, document: SpecDocument) -> list[Any]:
    schema = _schema_of(parameter, document)
    types = types_of(schema)
    if {"enum", "const"} & schema.keys() or parameter.location not in ("query", "path"):
        return []
    if types & {"integer", "number"}:
        low, high = _bound(schema, "minimum", 1), _bound(schema, "maximum", -1)
        zero = (low is None or low <= 0) and (high is None or high >= 0)
        edges = [None if low is None else math.ceil(low), 0 if zero else None,
                 max(_LARGE, math.ceil(low or 0)) if high is None else math.floor(high)]  # fmt: skip
        return list(dict.fromkeys(e for e in edges if e is not None))
    if "string" in types and "format" not in schema:
        most = schema.get("maxLength")
        longest = "a" * (min(most, _LONG) if isinstance(most, int) else _LONG)
        empty = parameter.location != "path" and not schema.get("minLength")  # "" would change the path
        return [e for e in dict.fromkeys(("", longest) if empty else (longest,)) if _matches(schema, e)]
    return []


def _bound(schema: dict[str, Any], key: str, step: int) -> float | None:
    """The least (or greatest) allowed value: inclusive, or an exclusive one (3.0 or 3.1) a step in."""
    exclusive, value = schema.get(f"exclusive{key.capitalize()}"), schema.get(key)
    if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
        return exclusive + step
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + step if exclusive is True else value
    return None


def _matches(schema: dict[str, Any], value: str) -> bool:
    pattern = schema.get("pattern")
    try:
        return not isinstance(pattern, str) or re.search(pattern, value) is not None
    except re.error:
        return False


# -- what both kinds of probe share --------------------------------------------------------------


def _caller(
    context: LiveContext, operation: Operation, identity: Identity | None, parameter: Parameter | None
) -> Send:
    """Calls `operation` with sample values, but `parameter` (if any) set to the value given."""

    def send(value: Any) -> Answer:
        if parameter is None:
            return context.call(operation, identity, timeout=_TIMEOUT)
        if parameter.location == "path":
            return context.call(operation, identity, path_values={parameter.name: value}, timeout=_TIMEOUT)
        return context.call(operation, identity, query={parameter.name: value}, timeout=_TIMEOUT)

    return send


def _free_text(operation: Operation, document: SpecDocument) -> list[Parameter]:
    """String parameters in the query or path that are not a choice from a list, free text first."""
    found = [
        p for p in operation.parameters
        if p.location in ("query", "path") and "string" in types_of(s := _schema_of(p, document))
        and not {"enum", "const"} & s.keys()
    ]  # fmt: skip
    return sorted(found, key=lambda p: _constrained(p, document))


def _constrained(parameter: Parameter, document: SpecDocument) -> bool:
    return bool({"pattern", "format"} & _schema_of(parameter, document).keys())


def _schema_of(parameter: Parameter, document: SpecDocument) -> dict[str, Any]:
    """The parameter's schema, references followed, its first non-null choice where it offers some."""
    schema, _ = document.resolve(parameter.schema, parameter.pointer)
    if not isinstance(schema, dict):
        return {}
    for key in ("anyOf", "oneOf"):
        for choice in schema.get(key) or ():
            option, _ = document.resolve(choice, "")
            if isinstance(option, dict) and types_of(option) - {"null"}:
                return dict(option)
    return dict(schema)


# -- bursts ---------------------------------------------------------------------------------------

_BURST = 25
_BURST_SECONDS = 10.0
_MAX_LISTS = 3


def rate_limits(context: LiveContext) -> Iterator[Finding]:
    identity = context.identities[0] if context.identities else None
    logins = [o for o in context.operations if o.method == "POST" and is_sign_in_path(o.path)]
    lists = [o for o in context.reads() if not o.path_parameters and returns_list(context.document, o)]
    for operation, caller in [*((o, None) for o in logins), *((o, identity) for o in lists[:_MAX_LISTS])]:
        if context.may_call(operation) and (burst := _burst(context, operation, caller)):
            sent, seconds = burst
            yield context.finding(
                "API4-NO-RATE-LIMIT-OBSERVED",
                f"{sent} requests in {seconds:.2f} s, not one answered 429",
                operation,
                evidence={"key": "burst", "requests": sent, "seconds": round(seconds, 2)},
            )


def _burst(context: LiveContext, operation: Operation, identity: Identity | None) -> tuple[int, float] | None:
    """Requests sent and seconds taken when no 429 came; None when one did, or nothing can be said."""
    started = time.monotonic()
    for sent in range(1, _BURST + 1):
        left = _BURST_SECONDS - (time.monotonic() - started)
        if left <= 0:
            context.notes.append(
                f"rate limits: {operation.label} took {sent - 1} requests in {_BURST_SECONDS:.0f} s"
            )
            return None  # too slow to tell a limit from a slow server
        answer = context.call(operation, identity, timeout=left)
        if answer.status in (0, 429) or (identity is not None and sent == 1 and not answer.ok):
            return None  # limited; or no answer, or a list not this identity's to read: no verdict
    return _BURST, time.monotonic() - started


PROBES: tuple[Probe, ...] = (shadow_endpoints, injection, server_errors, rate_limits)
