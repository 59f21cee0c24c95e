"""`POST /oauth/token` and `GET /.well-known/jwks.json`; `/oauth/revoke` and `/oauth/introspect` live
in `oauth_routes` and are mounted with this router.

Three grants, each for an authenticated client:

- `client_credentials` (RFC 6749 section 4.4): an access token and a refresh token, in a new family;
- `refresh_token` (section 6): spends the refresh token and hands out the next of its family, with
  a new access token. The scope may narrow, never widen, and is checked against the role's purposes
  in today's policy. A refresh token presented twice revokes its family: every refresh token of it
  and every access token issued from it (see `dataward.identity.refresh`);
- token exchange (RFC 8693): a narrower access token made from one of the client's own (see
  `dataward.identity.exchange`), without a refresh token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from jwt.algorithms import OKPAlgorithm

from dataward.api.deps import RequestId, VaultDep
from dataward.audit import AuditAction, Outcome
from dataward.guard.revocations import family_lifetime
from dataward.identity.clients import ClientRecord
from dataward.identity.errors import InvalidToken, OAuthError
from dataward.identity.exchange import ACCESS_TOKEN_TYPE, GRANT_TYPE, narrow, presented_token
from dataward.identity.oauth_form import (
    NO_STORE,
    audit,
    authenticate_client,
    read_form,
)
from dataward.identity.oauth_routes import router as oauth_router
from dataward.identity.refresh import NewRefresh, Reused
from dataward.identity.tokens import ALGORITHM
from dataward.services import Vault

__all__ = ["router"]

router = APIRouter(tags=["identity"])
router.include_router(oauth_router)  # /oauth/revoke and /oauth/introspect

_GRANTS = {
    "client_credentials": AuditAction.TOKEN_ISSUE,
    "refresh_token": AuditAction.TOKEN_REFRESH,
    GRANT_TYPE: AuditAction.TOKEN_EXCHANGE,
}
_TOKEN_FORM: dict[str, Any] = {
    "security": [],  # the token endpoint authenticates the client itself
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": list(_GRANTS)},
                        "client_id": {"type": "string", "description": "Or send HTTP Basic credentials."},
                        "client_secret": {"type": "string", "format": "password"},
                        "scope": {
                            "type": "string",
                            "description": "Space-separated purposes to narrow to; never wider than "
                            "the role's, the refresh token's or the subject_token's.",
                        },
                        "refresh_token": {
                            "type": "string",
                            "format": "password",
                            "description": "grant_type=refresh_token: the refresh token to spend.",
                        },
                        "subject_token": {
                            "type": "string",
                            "format": "password",
                            "description": "Token exchange: one of this client's access tokens.",
                        },
                        "subject_token_type": {"type": "string", "enum": [ACCESS_TOKEN_TYPE]},
                        "requested_token_type": {"type": "string", "enum": [ACCESS_TOKEN_TYPE]},
                        "data_subject": {
                            "type": "string",
                            "format": "uuid",
                            "description": "Token exchange (Dataward extension): the one data subject "
                            "the new token may reach (claim `only_subject`).",
                        },
                        "expires_in": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "Token exchange: seconds the new token lives, at most what "
                            "the subject_token has left (the default).",
                        },
                    },
                }
            }
        },
    },
}


@router.post(
    "/oauth/token",
    openapi_extra=_TOKEN_FORM,
    summary="Get an access token: client credentials, refresh token or token exchange",
)
async def token(request: Request, vault: VaultDep, request_id: RequestId) -> JSONResponse:
    form = await read_form(request)
    grant = form.get("grant_type", "")
    tag = _GRANTS.get(grant)
    if tag is None:
        raise OAuthError("unsupported_grant_type", f"grant_type must be one of {', '.join(_GRANTS)}")
    client = await authenticate_client(request, vault, form, request_id, tag)
    try:
        if grant == "client_credentials":
            body = await _client_credentials(vault, client, form, request_id)
        elif grant == "refresh_token":
            body = await _refresh(vault, client, form, request_id)
        else:
            body = await _exchange(vault, client, form, request_id)
    except _AuditedRefusal:
        raise
    except OAuthError as exc:
        await audit(vault, tag, client.id, request_id, Outcome.DENIED, exc.detail)
        raise
    return JSONResponse(body, headers=NO_STORE)


@router.get(
    "/.well-known/jwks.json",
    summary="The public keys that verify access tokens",
    openapi_extra={"security": []},
)
async def jwks(vault: VaultDep) -> dict[str, Any]:
    keys = []
    for kid, public in vault.keyring.token_verification_keys().items():
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
    return {"keys": keys}


async def _client_credentials(
    vault: Vault, client: ClientRecord, form: dict[str, str], request_id: str
) -> dict[str, Any]:
    purposes = _narrow(vault, client, form.get("scope"))
    async with vault.writing() as connection:
        refresh = vault.refresh_tokens.start(connection, client.id, purposes)
    issued = vault.issuer.issue(client, purposes, family_id=refresh.family_id)
    await audit(
        vault, AuditAction.TOKEN_ISSUE, client.id, request_id, Outcome.ALLOWED, token_id=issued.token_id
    )
    return {**issued.as_response(), "refresh_token": refresh.token}


async def _refresh(
    vault: Vault, client: ClientRecord, form: dict[str, str], request_id: str
) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is missing")
    async with vault.writing() as connection:
        spent = vault.refresh_tokens.spend(connection, presented, client.id)
        # Inside the transaction: a refused scope rolls the spending back, the token stays usable
        # (a reuse's revocation, which must commit, asks for no purposes).
        purposes = (
            _narrow(vault, client, form.get("scope"), granted=spent.purposes)
            if isinstance(spent, NewRefresh)
            else []
        )
    if isinstance(spent, Reused):
        await vault.revocations.revoke_family(spent.family_id, family_lifetime(vault.clock.timestamp()))
        reason = f"refresh token reuse detected: family {spent.family_id} revoked"
        await audit(vault, AuditAction.TOKEN_REFRESH, client.id, request_id, Outcome.DENIED, reason)
        raise _AuditedRefusal("invalid_grant", "the refresh token was used already; its family is revoked")
    issued = vault.issuer.issue(client, purposes, family_id=spent.family_id)
    reason = f"family {spent.family_id}"
    await audit(
        vault, AuditAction.TOKEN_REFRESH, client.id, request_id, Outcome.ALLOWED, reason,
        token_id=issued.token_id,
    )  # fmt: skip
    return {**issued.as_response(), "refresh_token": spent.token}


async def _exchange(
    vault: Vault, client: ClientRecord, form: dict[str, str], request_id: str
) -> dict[str, Any]:
    presented = presented_token(form, vault.settings.audience)
    try:
        parent = vault.verifier.verify(presented)
    except InvalidToken:
        raise OAuthError("invalid_grant", "the subject_token is not valid") from None
    if await vault.revocations.is_revoked(parent):
        raise OAuthError("invalid_grant", "the subject_token has been revoked")
    narrowed = narrow(parent, client, form, vault.clock.timestamp())
    issued = vault.issuer.issue_exchanged(
        parent, narrowed.purposes, only_subject=narrowed.only_subject, expires_at=narrowed.expires_at
    )
    await audit(
        vault, AuditAction.TOKEN_EXCHANGE, client.id, request_id, Outcome.ALLOWED,
        f"exchanged from {parent.token_id}", token_id=issued.token_id, subject_id=narrowed.only_subject,
    )  # fmt: skip
    return {
        "access_token": issued.access_token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }


def _narrow(
    vault: Vault, client: ClientRecord, scope: str | None, granted: tuple[str, ...] | None = None
) -> list[str]:
    """The purposes of a new access token: the role's in today's policy (and, on refresh, only
    those the family was granted), or the part of them `scope` asks for."""
    role = vault.policy.roles.get(client.role)
    allowed = [p for p in role.purposes if granted is None or p in granted] if role else []
    if scope is None:
        return allowed
    requested = scope.split()
    if not requested or any(p not in allowed for p in requested):
        raise OAuthError(
            "invalid_scope",
            "the scope asks for a purpose this client's role may not use"
            if granted is None
            else "the scope asks for a purpose the refresh token was not granted",
        )
    return sorted(set(requested))


class _AuditedRefusal(OAuthError):
    """An OAuth error whose audit entry is made already (it says more than the response)."""
