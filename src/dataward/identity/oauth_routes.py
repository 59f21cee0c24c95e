"""`POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662), for authenticated clients.

Which kind a token is shows in its form (a refresh token starts with `dwr_`, an access token is a
JWT), so `token_type_hint` is accepted and not needed: a wrong hint changes nothing.

Revocation. A refresh token revokes its family: every refresh token of it and every access token
issued from it. An access token is revoked with everything exchanged from it; one that came
straight from a grant (client credentials or refresh, not exchange) takes its grant with it (RFC
7009 section 2.1 allows revoking the refresh token too): tokens exchanged from it carry the grant's
family, so revoking the family is what reaches them. A token we cannot read, or that expired, is
answered 200 (section 2.2): there is nothing to revoke. Another client's token is refused, and
nothing is revoked.

Introspection answers `{"active": false}` for anything that is not a live token of the calling
client, with no reason; a role with the policy action `tokens.introspect` may introspect any token.
"""

from __future__ import annotations

from typing import Any

import jwt
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from dataward.api.deps import RequestId, VaultDep
from dataward.audit import AuditAction, Outcome
from dataward.guard.revocations import family_lifetime
from dataward.identity.clients import ClientRecord
from dataward.identity.errors import InvalidToken, OAuthError
from dataward.identity.oauth_form import (
    NO_STORE,
    audit,
    authenticate_client,
    read_form,
)
from dataward.policy import Action
from dataward.services import Vault
from dataward.storage import read_connection

__all__ = ["router"]

router = APIRouter(tags=["identity"])

_REFRESH_PREFIX = "dwr_"  # the form of a refresh token
_INACTIVE: dict[str, Any] = {"active": False}


def _form_of(summary: str) -> dict[str, Any]:
    return {
        "security": [],  # the client authenticates itself, as at the token endpoint
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {
                            "token": {"type": "string", "format": "password", "description": summary},
                            "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
                            "client_id": {"type": "string", "description": "Or send HTTP Basic credentials."},
                            "client_secret": {"type": "string", "format": "password"},
                        },
                    }
                }
            },
        },
    }


@router.post(
    "/oauth/revoke",
    openapi_extra=_form_of("An access or refresh token issued to this client."),
    summary="Revoke an access or refresh token (RFC 7009)",
    response_class=Response,
    responses={200: {"description": "Revoked, or nothing to revoke."}},
)
async def revoke(request: Request, vault: VaultDep, request_id: RequestId) -> Response:
    form = await read_form(request)
    client = await authenticate_client(request, vault, form, request_id, AuditAction.TOKEN_REVOKE)
    token = _token(form)
    if token.startswith(_REFRESH_PREFIX):
        await _revoke_refresh(vault, client, token, request_id)
    else:
        await _revoke_access(vault, client, token, request_id)
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/oauth/introspect",
    openapi_extra=_form_of("The token to describe."),
    summary="Is this token active, and what does it hold? (RFC 7662)",
)
async def introspect(request: Request, vault: VaultDep, request_id: RequestId) -> JSONResponse:
    form = await read_form(request)
    client = await authenticate_client(request, vault, form, request_id, AuditAction.TOKEN_INTROSPECT)
    token = _token(form)
    role = vault.policy.roles.get(client.role)
    any_client = role is not None and Action.TOKENS_INTROSPECT in role.actions
    if token.startswith(_REFRESH_PREFIX):
        answer = _describe_refresh(vault, client, token, any_client=any_client)
    else:
        answer = await _describe_access(vault, client, token, any_client=any_client)
    reason = "active" if answer["active"] else "inactive"
    await audit(
        vault, AuditAction.TOKEN_INTROSPECT, client.id, request_id, Outcome.ALLOWED, reason,
        token_id=answer.get("jti"),
    )  # fmt: skip
    return JSONResponse(answer, headers=NO_STORE)


def _token(form: dict[str, str]) -> str:
    token = form.get("token")
    if not token:
        raise OAuthError("invalid_request", "token is missing")
    return token


async def _revoke_refresh(vault: Vault, client: ClientRecord, token: str, request_id: str) -> None:
    store, tag = vault.refresh_tokens, AuditAction.TOKEN_REVOKE
    with read_connection(vault.engine) as connection:
        record = store.find(connection, token)
    if record is None:
        await audit(vault, tag, client.id, request_id, Outcome.ALLOWED, "unknown token: nothing revoked")
        return
    if record.client_id != client.id:
        await audit(vault, tag, client.id, request_id, Outcome.DENIED, "a refresh token of another client")
        raise OAuthError("unauthorized_client", "the token was issued to another client")
    await _revoke_grant(vault, record.family_id)
    reason = f"refresh token: family {record.family_id} revoked"
    await audit(vault, tag, client.id, request_id, Outcome.ALLOWED, reason)


async def _revoke_access(vault: Vault, client: ClientRecord, token: str, request_id: str) -> None:
    tag = AuditAction.TOKEN_REVOKE
    try:
        principal = vault.verifier.verify(token)
    except InvalidToken:
        await audit(vault, tag, client.id, request_id, Outcome.ALLOWED, "no live token: nothing revoked")
        return
    if principal.client_id != client.id:  # a data subject's token (client `self-service`) included
        await audit(
            vault, tag, client.id, request_id, Outcome.DENIED, "an access token of another client",
            token_id=principal.token_id,
        )  # fmt: skip
        raise OAuthError("unauthorized_client", "the token was issued to another client")
    await vault.revocations.revoke_token(principal.token_id, principal.expires_at)
    await vault.revocations.revoke_family(principal.token_id, principal.expires_at)  # exchanged from it
    reason = "access token revoked"
    if principal.family_id is not None and "exchanged_from" not in _claims(token):
        await _revoke_grant(vault, principal.family_id)
        reason = f"access token revoked with its grant, family {principal.family_id}"
    await audit(vault, tag, client.id, request_id, Outcome.ALLOWED, reason, token_id=principal.token_id)


async def _revoke_grant(vault: Vault, family_id: str) -> None:
    """Revoke a refresh-token family: its refresh tokens in the database, then its access tokens
    on every replica."""
    async with vault.writing() as connection:
        vault.refresh_tokens.revoke_family(connection, family_id)
    await vault.revocations.revoke_family(family_id, family_lifetime(vault.clock.timestamp()))


def _describe_refresh(vault: Vault, client: ClientRecord, token: str, *, any_client: bool) -> dict[str, Any]:
    with read_connection(vault.engine) as connection:
        record = vault.refresh_tokens.find(connection, token)
    if record is None or not record.usable_at(vault.clock.now()):
        return _INACTIVE
    if record.client_id != client.id and not any_client:
        return _INACTIVE
    owner = client if record.client_id == client.id else vault.clients.find(record.client_id)
    if owner is None or owner.id != record.client_id or owner.suspended_at is not None:
        return _INACTIVE
    issued_at = int(record.issued_at.timestamp())
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": " ".join(record.purposes),
        "client_id": record.client_id,
        "sub": record.client_id,
        "iss": vault.settings.issuer,
        "exp": int(record.expires_at.timestamp()),
        "iat": issued_at,
        "nbf": issued_at,
        "role": owner.role,
        "purposes": list(record.purposes),
    }


async def _describe_access(
    vault: Vault, client: ClientRecord, token: str, *, any_client: bool
) -> dict[str, Any]:
    try:
        principal = vault.verifier.verify(token)
    except InvalidToken:
        return _INACTIVE
    if principal.client_id != client.id and not any_client:
        return _INACTIVE
    if await vault.revocations.is_revoked(principal):
        return _INACTIVE
    # The database says so too when a suspension could not reach the revocations (no Redis).
    if principal.subject_id is None and vault.clients.is_suspended(principal.client_id):
        return _INACTIVE
    claims = _claims(token)
    answer = {
        "active": True,
        "token_type": "access_token",
        "scope": " ".join(sorted(principal.purposes)),
        "client_id": principal.client_id,
        "sub": claims["sub"],
        "aud": claims["aud"],
        "iss": claims["iss"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "jti": principal.token_id,
        "role": principal.role,
        "purposes": sorted(principal.purposes),
    }
    if principal.only_subject is not None:
        answer["only_subject"] = principal.only_subject
    return answer


def _claims(verified_token: str) -> dict[str, Any]:
    """The claims of a token `TokenVerifier.verify` accepted already (so not checked again here)."""
    claims: dict[str, Any] = jwt.decode(verified_token, options={"verify_signature": False})
    return claims
