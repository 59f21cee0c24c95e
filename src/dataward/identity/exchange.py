"""Token exchange (RFC 8693): a client trades one of its access tokens for a narrower one.

Why: a client that hands work to a less trusted part of itself (a batch job, a support screen) can
give it a token for fewer purposes, for one data subject and for less time, instead of its own. So
the new token never widens anything: same client and role, purposes a subset of the presented
token's, an expiry no later than its, and at most one data subject (`data_subject`, a Dataward
extension, carried as the `only_subject` claim; a token narrowed to one subject is only ever
exchanged for one narrowed to the same subject). It belongs to the presented token's family, or
to the presented token itself, so that revoking either kills it. A data subject's token is never
exchanged: it reaches `/v1/me` only.

The caller verifies the presented token (signature, expiry, revocation) and signs the result with
`TokenIssuer.issue_exchanged`; this module only decides what the new token may hold. Errors are the
RFC 8693 section 2.2.2 codes: `invalid_request`, `invalid_target`, `invalid_scope`, `invalid_grant`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dataward.identity.clients import ClientRecord
from dataward.identity.errors import OAuthError
from dataward.identity.tokens import SUBJECT_ROLE, Principal
from dataward.subjects.service import is_subject_id

__all__ = ["ACCESS_TOKEN_TYPE", "GRANT_TYPE", "Narrowing", "narrow", "presented_token"]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN, not a secret


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What the exchanged token holds."""

    purposes: list[str]
    only_subject: str | None
    expires_at: int


def presented_token(params: Mapping[str, str], audience: str) -> str:
    """The `subject_token` of a well-formed exchange request for one of our access tokens, before
    anything about the token itself is checked."""
    token = params.get("subject_token")
    if not token:
        raise OAuthError("invalid_request", "subject_token is missing")
    if params.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise OAuthError("invalid_request", f"subject_token_type must be {ACCESS_TOKEN_TYPE}")
    if params.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
        raise OAuthError("invalid_request", f"only {ACCESS_TOKEN_TYPE} can be requested")
    if "actor_token" in params or "actor_token_type" in params:
        raise OAuthError("invalid_request", "delegation (actor_token) is not supported")
    if "resource" in params or params.get("audience", audience) != audience:
        raise OAuthError("invalid_target", f"tokens are issued for the audience {audience} only")
    return token


def narrow(parent: Principal, client: ClientRecord, params: Mapping[str, str], now: float) -> Narrowing:
    """What a token exchanged for `parent` by `client` may hold, as `params` ask; refused when it
    would reach anything `parent` does not."""
    if parent.subject_id is not None or parent.role == SUBJECT_ROLE:
        raise OAuthError("invalid_grant", "a data subject's token cannot be exchanged")
    if parent.client_id != client.id:
        raise OAuthError("invalid_grant", "the subject_token was not issued to this client")
    if parent.role != client.role:
        raise OAuthError("invalid_grant", "the subject_token's role is no longer this client's")
    return Narrowing(
        purposes=_purposes(parent, params.get("scope")),
        only_subject=_only_subject(parent, params.get("data_subject")),
        expires_at=_expiry(parent, params.get("expires_in"), int(now)),
    )


def _purposes(parent: Principal, scope: str | None) -> list[str]:
    if scope is None:
        return sorted(parent.purposes)
    requested = scope.split()
    if not requested or not parent.purposes.issuperset(requested):
        raise OAuthError("invalid_scope", "the scope asks for a purpose the subject_token does not carry")
    return sorted(set(requested))


def _only_subject(parent: Principal, data_subject: str | None) -> str | None:
    if data_subject is None:
        return parent.only_subject
    if not is_subject_id(data_subject):
        raise OAuthError("invalid_request", "data_subject must be a subject id")
    if parent.only_subject is not None and data_subject != parent.only_subject:
        raise OAuthError("invalid_target", "the subject_token reaches another data subject only")
    return data_subject


def _expiry(parent: Principal, expires_in: str | None, now: int) -> int:
    latest = int(parent.expires_at)
    if expires_in is None:
        return latest
    if not expires_in.isascii() or not expires_in.isdigit() or len(expires_in) > 9 or int(expires_in) < 1:
        raise OAuthError("invalid_request", "expires_in must be a positive number of seconds")
    if now + int(expires_in) > latest:
        raise OAuthError("invalid_request", "expires_in is longer than the subject_token has left")
    return now + int(expires_in)
