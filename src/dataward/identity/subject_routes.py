"""`/v1/me`: a data subject proves who they are and gets a token that reaches only their own data.

    POST /v1/me/challenges  {field, value}        -> 202 {challenge_id, expires_in}
    POST /v1/me/token       {challenge_id, code}  -> 200 {access_token, token_type, expires_in}
                            or {id_token}         (an ID token from the team's OpenID provider)

Values travel in bodies, never in URLs. Each request is audited (client id `self-service`) with the
subject id when known and the field's name, never the value or the code. A challenge for a value
nobody has answers exactly as one for a value somebody has; every failed sign-in is one 401.
The routes behind the token take `SubjectCallerDep` (`dataward.api.deps`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dataward.api.deps import RequestId, VaultDep
from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.errors import InvalidRequest, Problem
from dataward.identity.errors import IdentityProviderUnavailable, SubjectNotVerified
from dataward.identity.tokens import SELF_SERVICE
from dataward.services import Vault
from dataward.storage import read_connection
from dataward.subjects.schemas import FieldPath

__all__ = ["ChallengeRequest", "ChallengeStartedView", "CodeGrant", "IdTokenGrant", "SubjectToken", "router"]

router = APIRouter(prefix="/v1/me", tags=["me"])

_PUBLIC: dict[str, Any] = {"security": []}  # these routes are how a subject gets a token: they take none


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChallengeRequest(_Strict):
    field: Annotated[FieldPath, Field(description="A searchable e-mail or phone field, e.g. profile.email.")]
    value: Annotated[str, Field(min_length=1, max_length=320, description="Your address or number.")]


class ChallengeStartedView(_Strict):
    challenge_id: str
    expires_in: int


class CodeGrant(_Strict):
    challenge_id: Annotated[str, Field(min_length=1, max_length=36)]
    code: Annotated[str, Field(min_length=1, max_length=16, description="The code that was sent to you.")]


class IdTokenGrant(_Strict):
    id_token: Annotated[str, Field(min_length=1, max_length=8192, description="An OpenID Connect ID token.")]


class SubjectToken(_Strict):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the RFC 6750 token type, not a secret
    expires_in: int


@router.post(
    "/challenges",
    status_code=202,
    response_model=ChallengeStartedView,
    openapi_extra=_PUBLIC,
    summary="Ask for a one-time code, sent to your e-mail address or phone",
    description="The answer is the same whether or not the vault knows the value.",
)
async def start_challenge(body: ChallengeRequest, vault: VaultDep, request_id: RequestId) -> JSONResponse:
    tag, fields = AuditAction.SUBJECT_CHALLENGE, (body.field,)
    try:
        async with vault.writing() as connection:
            started = vault.challenges.start(connection, body.field, body.value)
    except InvalidRequest as exc:
        await vault.audit.record(_event(tag, Outcome.DENIED, request_id, None, fields, exc.detail))
        raise
    outcome = Outcome.ALLOWED if started.subject_id and started.note == "code sent" else Outcome.DENIED
    await vault.audit.record(_event(tag, outcome, request_id, started.subject_id, fields, started.note))
    view = ChallengeStartedView(challenge_id=started.challenge_id, expires_in=started.expires_in)
    return JSONResponse(view.model_dump(), status_code=202)  # no-store: the security middleware


@router.post(
    "/token",
    response_model=SubjectToken,
    openapi_extra=_PUBLIC,
    summary="Exchange a one-time code, or an ID token, for a token to your own data",
)
async def subject_token(
    grant: Annotated[CodeGrant | IdTokenGrant, Body()], vault: VaultDep, request_id: RequestId
) -> JSONResponse:
    tag, method = AuditAction.SUBJECT_TOKEN, "code" if isinstance(grant, CodeGrant) else "oidc"
    try:
        if isinstance(grant, CodeGrant):
            subject_id = await _by_code(vault, grant)
        else:
            subject_id = await _by_id_token(vault, grant)
    except SubjectNotVerified as exc:
        reason = f"{method}: {exc.reason}"
        await vault.audit.record(_event(tag, Outcome.DENIED, request_id, exc.subject_id, (), reason))
        raise
    except IdentityProviderUnavailable as exc:
        await vault.audit.record(_event(tag, Outcome.FAILED, request_id, None, (), f"{method}: {exc.detail}"))
        raise
    issued = vault.issuer.issue_subject(subject_id)
    token_id = vault.verifier.verify(issued.access_token).token_id  # so its every use can be traced here
    event = _event(tag, Outcome.ALLOWED, request_id, subject_id, (), f"{method}: signed in")
    await vault.audit.record(replace(event, token_id=token_id))
    body = SubjectToken(access_token=issued.access_token, expires_in=issued.expires_in)
    return JSONResponse(body.model_dump())


async def _by_code(vault: Vault, grant: CodeGrant) -> str:
    failure: SubjectNotVerified | None = None
    async with vault.writing() as connection:
        try:
            return vault.challenges.verify(connection, grant.challenge_id, grant.code)
        except SubjectNotVerified as exc:
            failure = exc  # leave the block normally: the attempt it counted must commit
    assert failure is not None
    raise failure


async def _by_id_token(vault: Vault, grant: IdTokenGrant) -> str:
    oidc = vault.oidc
    if oidc is None:
        problem = Problem("id_token", "this vault is not configured with an OpenID Connect provider")
        raise InvalidRequest("identity tokens are not accepted here", [problem])
    # Off the event loop: the first token, or one with a new key id, fetches the provider's keys.
    claim = await anyio.to_thread.run_sync(oidc.verified_claim, grant.id_token)
    with read_connection(vault.engine) as connection:
        return oidc.subject_for(vault.regions, connection, claim)


def _event(
    action: AuditAction,
    outcome: Outcome,
    request_id: str,
    subject_id: str | None,
    fields: tuple[str, ...],
    reason: str,
) -> AuditEvent:
    return AuditEvent(action, SELF_SERVICE, outcome, request_id, subject_id, fields, reason=reason)
