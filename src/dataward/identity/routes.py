"""`POST /oauth/token` (RFC 6749 client credentials) and `GET /.well-known/jwks.json`."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from jwt.algorithms import OKPAlgorithm

from dataward.api.deps import RequestId, VaultDep
from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.identity.clients import CLIENT_ID, ClientRecord
from dataward.identity.errors import InvalidClient, OAuthError
from dataward.identity.tokens import ALGORITHM
from dataward.services import Vault

__all__ = ["router"]

router = APIRouter(tags=["identity"])

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
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string", "format": "password"},
                        "scope": {"type": "string", "description": "Space-separated purposes to narrow to."},
                    },
                }
            }
        },
    },
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post("/oauth/token", openapi_extra=_TOKEN_FORM, summary="Get an access token (client credentials)")
async def token(request: Request, vault: VaultDep, request_id: RequestId) -> JSONResponse:
    form = await _form(request)
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only grant_type=client_credentials is supported")
    client_id, secret = _credentials(request, form)
    try:
        client = vault.clients.authenticate(client_id, secret)
    except InvalidClient:
        who = client_id if CLIENT_ID.match(client_id) else "-"
        await _audit(vault, who, request_id, Outcome.DENIED, "invalid client credentials")
        raise
    purposes = _narrow(vault, client, form.get("scope"))
    issued = vault.issuer.issue(client, purposes)
    await _audit(vault, client.id, request_id, Outcome.ALLOWED, None)
    return JSONResponse(issued.as_response(), headers=_NO_STORE)


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


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the token request as application/x-www-form-urlencoded")
    try:
        parsed = parse_qs((await request.body()).decode(), strict_parsing=False, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form body could not be parsed") from None
    if any(len(values) > 1 for values in parsed.values()):
        raise OAuthError("invalid_request", "a parameter was sent more than once")  # RFC 6749 section 3.1
    return {name: values[0] for name, values in parsed.items()}


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic (RFC 6749 section 2.3.1) or client_secret_post; never both."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        if "client_secret" in form:
            raise OAuthError("invalid_request", "use one way to authenticate the client, not two")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient() from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise InvalidClient()
        return unquote(client_id), unquote(secret)
    if "client_id" not in form or "client_secret" not in form:
        raise InvalidClient()
    return form["client_id"], form["client_secret"]


def _narrow(vault: Vault, client: ClientRecord, scope: str | None) -> list[str]:
    role = vault.policy.roles.get(client.role)
    allowed = list(role.purposes) if role else []
    if scope is None:
        return allowed
    requested = scope.split()
    if not requested or any(p not in allowed for p in requested):
        raise OAuthError("invalid_scope", "the scope asks for a purpose this client's role may not use")
    return sorted(set(requested))


async def _audit(vault: Vault, client_id: str, request_id: str, outcome: Outcome, reason: str | None) -> None:
    event = AuditEvent(AuditAction.TOKEN_ISSUE, client_id, outcome, request_id=request_id, reason=reason)
    await vault.audit.record(event)
