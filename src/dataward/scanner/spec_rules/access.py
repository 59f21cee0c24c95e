"""Who may call what: object ids and object-level security (API1), authentication (API2) and
function-level authorisation (API5)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta

import isodate

from dataward.scanner.document import Operation, Parameter
from dataward.scanner.fields import FieldKind, classify_field
from dataward.scanner.findings import Finding, Severity
from dataward.scanner.schemas import types_of
from dataward.scanner.spec_rules._context import Context
from dataward.scanner.words import is_admin_path, is_login_path, is_public_by_nature, name_tokens

__all__ = ["CHECKS"]

_DAY = 86_400
_QUERY_CREDENTIALS = frozenset({"api_key", "apikey", "key", "token", "access_token", "auth", "password",
                                "secret", "client_secret", "session", "sessionid", "jwt", "id_token",
                                "refresh_token", "signature", "sig", "auth_token"})  # fmt: skip


def sequential_ids(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        for parameter in operation.path_parameters:
            if _guessable(parameter):
                yield ctx.finding(
                    "API1-SEQUENTIAL-ID",
                    f"path parameter `{parameter.name}` is an integer id: neighbouring objects are one "
                    "increment away",
                    parameter.pointer,
                    operation,
                )


def _guessable(parameter: Parameter) -> bool:
    schema = parameter.schema
    types = types_of(schema)
    if "integer" in types:
        return True
    pattern = str(schema.get("pattern", ""))
    return "string" in types and pattern.strip("^$") in (r"\d+", "[0-9]+", r"\d*", "[0-9]*")


def unprotected(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        if operation.secured or is_public_by_nature(operation.path) or is_login_path(operation.path):
            continue
        if operation.path_parameters:
            yield ctx.finding(
                "API1-UNPROTECTED-OBJECT",
                f"{operation.label} reaches one object by id and declares no security",
                operation.pointer,
                operation,
            )
        else:
            yield ctx.finding(
                "API2-NO-SECURITY", f"{operation.label} declares no security", operation.pointer, operation
            )


def schemes(ctx: Context) -> Iterator[Finding]:
    """Weak schemes, found where they are defined and named by the first operation that uses them."""
    users: dict[str, Operation] = {}
    for operation in ctx.operations:
        for requirement in operation.security or ():
            for scheme_name in requirement:
                users.setdefault(scheme_name, operation)
    for name, (scheme, pointer) in ctx.document.security_schemes.items():
        user = users.get(name)
        kind = str(scheme.get("type", "")).lower()
        http = str(scheme.get("scheme", "")).lower()
        if kind == "http" and http == "basic":
            yield ctx.finding(
                "API2-BASIC-AUTH",
                f"security scheme `{name}` is HTTP Basic: a password on every call",
                pointer,
                user,
            )
        elif kind == "apikey" and scheme.get("in") == "query":
            yield ctx.finding(
                "API2-CREDENTIALS-IN-QUERY",
                f"security scheme `{name}` takes its API key in the query string",
                pointer,
                user,
            )
        if (kind == "http" and http == "bearer") or kind in ("oauth2", "openidconnect"):
            yield from _lifetime(ctx, name, scheme, pointer)


def _lifetime(ctx: Context, name: str, scheme: Mapping[str, object], pointer: str) -> Iterator[Finding]:
    declared = scheme.get("x-token-lifetime", scheme.get("x-token-ttl"))
    if declared is None:
        yield ctx.finding(
            "API2-TOKEN-LIFETIME",
            f"security scheme `{name}` does not say how long its tokens live (`x-token-lifetime`)",
            pointer,
        )
        return
    seconds = _seconds(declared)
    if seconds is None:
        yield ctx.finding(
            "API2-TOKEN-LIFETIME",
            f"security scheme `{name}`: `x-token-lifetime` is neither seconds nor an ISO 8601 duration",
            pointer,
        )
    elif seconds > _DAY:
        yield ctx.finding(
            "API2-TOKEN-LIFETIME",
            f"security scheme `{name}`: tokens live {seconds // 3600} hours; a stolen one stays useful "
            "that long",
            pointer,
            severity=Severity.MEDIUM,
        )


def _seconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        try:
            duration = isodate.parse_duration(value)
        except (isodate.ISO8601Error, ValueError):
            return None
        if isinstance(duration, timedelta):
            return int(duration.total_seconds())
    return None


def credentials_in_query(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        for parameter in operation.parameters:
            if parameter.location != "query":
                continue
            match = classify_field(parameter.name)
            if "_".join(name_tokens(parameter.name)) in _QUERY_CREDENTIALS or (
                match is not None and match.kind is FieldKind.SECRET
            ):
                yield ctx.finding(
                    "API2-CREDENTIALS-IN-QUERY",
                    f"query parameter `{parameter.name}` carries a credential",
                    parameter.pointer,
                    operation,
                )


def admin_scopes(ctx: Context) -> Iterator[Finding]:
    """An admin operation is reachable by an ordinary token when some ordinary operation requires
    (at least) everything one of the admin operation's requirements asks for."""
    ordinary: list[Mapping[str, tuple[str, ...]]] = []
    admin: list[Operation] = []
    for operation in ctx.operations:
        if is_admin_path(operation.path, operation.operation_id, operation.tags):
            admin.append(operation)
        elif operation.secured and operation.security:
            ordinary.extend(operation.security)
    for operation in admin:
        if not operation.secured or not operation.security:
            continue  # no security at all is API1/API2's finding
        for requirement in operation.security:
            if any(_covers(token, requirement) for token in ordinary):
                scopes = ", ".join(f"{k}: [{', '.join(v)}]" for k, v in requirement.items())
                yield ctx.finding(
                    "API5-ADMIN-SHARED-SCOPES",
                    f"{operation.label} is an admin operation, yet a token for ordinary operations "
                    f"satisfies it ({scopes})",
                    operation.pointer,
                    operation,
                )
                break


def _covers(token: Mapping[str, tuple[str, ...]], requirement: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether a token good enough for `token`'s requirement is good enough for `requirement`."""
    return all(name in token and set(scopes) <= set(token[name]) for name, scopes in requirement.items())


CHECKS = (sequential_ids, unprotected, schemes, credentials_in_query, admin_scopes)
