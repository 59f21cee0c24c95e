"""What the OAuth endpoints share (`/oauth/token`, `/oauth/revoke`, `/oauth/introspect`): the form
body, the client's own authentication, and the audit entry of who asked.

Each endpoint authenticates the client itself, by `client_secret_basic` (RFC 6749 section 2.3.1) or
`client_secret_post`, never both; a refusal is audited under the endpoint's own tag.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, unquote

from fastapi import Request

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.identity.clients import CLIENT_ID, ClientRecord
from dataward.identity.errors import InvalidClient, OAuthError
from dataward.services import Vault

__all__ = [
    "NO_STORE",
    "audit",
    "authenticate_client",
    "read_form",
]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FIELDS = 16  # a token exchange sends the most: up to 12 parameters


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the request as application/x-www-form-urlencoded")
    try:
        parsed = parse_qs((await request.body()).decode(), strict_parsing=False, max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form body could not be parsed") from None
    if any(len(values) > 1 for values in parsed.values()):
        raise OAuthError("invalid_request", "a parameter was sent more than once")  # RFC 6749 section 3.1
    return {name: values[0] for name, values in parsed.items()}


async def authenticate_client(
    request: Request, vault: Vault, form: dict[str, str], request_id: str, tag: AuditAction
) -> ClientRecord:
    """The client the request's credentials name; `InvalidClient` (audited) for anything else,
    suspended clients included."""
    client_id, secret = _credentials(request, form)
    try:
        return vault.clients.authenticate(client_id, secret)
    except InvalidClient:
        who = client_id if CLIENT_ID.match(client_id) else "-"
        await audit(vault, tag, who, request_id, Outcome.DENIED, "invalid client credentials")
        raise


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
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


async def audit(
    vault: Vault,
    tag: AuditAction,
    client_id: str,
    request_id: str,
    outcome: Outcome,
    reason: str | None = None,
    *,
    token_id: str | None = None,
    subject_id: str | None = None,
) -> None:
    """Record what an OAuth endpoint did for `client_id`. Never a token: at most its id (jti)."""
    event = AuditEvent(
        tag, client_id, outcome, request_id=request_id, subject_id=subject_id, reason=reason,
        token_id=token_id,
    )  # fmt: skip
    await vault.audit.record(event)
