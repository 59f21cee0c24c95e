"""Who may call an operation, and for what: the bearer token a request offers, the purpose the call
serves (`x-dataward-purpose`, or the caller's `X-Dataward-Purpose` among it), and the operation's
security scopes (a Dataward token's scopes are its purposes). Pure: the proxy asks, these answer
or raise `Forbidden`."""

from __future__ import annotations

from dataward.access import Forbidden
from dataward.gateway.spec import Operation
from dataward.identity import Principal

__all__ = ["bearer_token", "check_scopes", "content_type", "purpose_of_call"]

Headers = list[tuple[bytes, bytes]]
_PURPOSE_HEADER = b"x-dataward-purpose"


def bearer_token(headers: Headers) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def content_type(headers: Headers) -> str | None:
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1")
    return None


def purpose_of_call(operation: Operation, principal: Principal, headers: Headers) -> str | None:
    """The purpose this call serves: the one the caller names in `X-Dataward-Purpose`, else the
    first of the operation's purposes that the token holds. None when the operation declares none."""
    if not operation.purposes:
        return None
    asked = next((v.decode("latin-1") for n, v in headers if n == _PURPOSE_HEADER), None)
    if asked is not None:
        if asked not in operation.purposes:
            raise Forbidden(f"this operation serves {', '.join(operation.purposes)}, not {asked}")
        if asked not in principal.purposes:
            raise Forbidden(f"the access token does not carry the purpose {asked}")
        return asked
    for purpose in operation.purposes:
        if purpose in principal.purposes:
            return purpose
    raise Forbidden(f"this operation serves {', '.join(operation.purposes)}; the token carries none of them")


def check_scopes(operation: Operation, principal: Principal) -> None:
    """One of the operation's security requirements must be met: every scope it names is one of
    the token's (a Dataward token's scopes are its purposes)."""
    if operation.public:
        return
    for requirement in operation.security:
        if all(set(scopes) <= principal.purposes for scopes in requirement.schemes.values()):
            return
    raise Forbidden("the access token lacks a scope this operation requires")
