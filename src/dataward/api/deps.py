"""FastAPI dependencies: who is calling, through which vault, under which request id.

One dependency resolves all three: each extra dependency costs the hot read path about as much as
the whole access decision. Every dependency is `async def`, because FastAPI runs a plain `def`
dependency in a worker thread.

Two kinds of bearer tokens, never interchangeable: a client's (`CallerDep`, authorised by its role
through the policy) and a data subject's (`SubjectCallerDep`, for `/v1/me` only, reaching nothing
but the subject's own data). Each dependency refuses the other kind with 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from dataward.access import Forbidden, authorize
from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.guard.errors import ClientSuspended
from dataward.identity import InvalidToken, Principal
from dataward.identity.tokens import SELF_SERVICE
from dataward.policy import Action, Role
from dataward.services import Vault

__all__ = [
    "Caller",
    "CallerDep",
    "RequestId",
    "SubjectCaller",
    "SubjectCallerDep",
    "VaultDep",
    "authenticated_caller",
    "authenticated_subject",
    "confine_to_subject",
    "get_vault",
]


@dataclass(frozen=True, slots=True)
class Caller:
    vault: Vault
    principal: Principal
    request_id: str

    def event(
        self,
        action: AuditAction,
        outcome: Outcome,
        subject_id: str | None = None,
        fields: tuple[str, ...] = (),
        purpose: str | None = None,
        reason: str | None = None,
    ) -> AuditEvent:
        """An audit event done by this caller, under this request and token."""
        principal = self.principal
        return AuditEvent(
            action, principal.client_id, outcome, self.request_id, subject_id, fields, purpose, reason,
            principal.token_id,
        )  # fmt: skip

    async def watch_read(self, subject_ids: tuple[str, ...], records: int) -> None:
        """Show anomaly response what this caller is about to receive; `ClientSuspended` when that
        was one read too many (the answer is then never sent)."""
        vault = self.vault
        if await vault.guard.watch_read(self.principal.client_id, subject_ids, records, self.request_id):
            raise ClientSuspended()

    async def require(
        self, action: Action, tag: AuditAction, subject_id: str | None = None, purpose: str | None = None
    ) -> Role:
        """The caller's role if it may perform `action` (on `subject_id`, which a token narrowed to
        one data subject must name); otherwise the refusal is audited and raised."""
        try:
            role = authorize(self.principal, action, self.vault.policy)
            if self.principal.only_subject is not None:
                confine_to_subject(self.principal, subject_id)
            return role
        except Forbidden as exc:
            await self.vault.audit.record(
                self.event(tag, Outcome.DENIED, subject_id, purpose=purpose, reason=exc.detail)
            )
            raise


def confine_to_subject(principal: Principal, subject_id: str | None) -> None:
    """A token narrowed by exchange to one data subject (`only_subject`) reaches that subject and
    nothing else: not another subject, and no call that names none (a lookup, a listing)."""
    if principal.only_subject is not None and principal.only_subject != subject_id:
        raise Forbidden("this token reaches one data subject only, and not through this call")


async def get_vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


async def request_id(request: Request) -> str:
    value: str = request.scope["state"]["request_id"]
    return value


@dataclass(frozen=True, slots=True)
class SubjectCaller:
    """A data subject acting on their own data through `/v1/me`, with a token from `/v1/me/token`."""

    vault: Vault
    subject_id: str
    token_id: str
    request_id: str

    def event(
        self,
        action: AuditAction,
        outcome: Outcome,
        fields: tuple[str, ...] = (),
        purpose: str | None = None,
        reason: str | None = None,
    ) -> AuditEvent:
        """An audit event done by the subject (client id `self-service`) on their own data."""
        return AuditEvent(
            action, SELF_SERVICE, outcome, self.request_id, self.subject_id, fields, purpose, reason,
            self.token_id,
        )  # fmt: skip


async def _bearer_principal(request: Request, vault: Vault) -> Principal:
    """The verified principal of the bearer token, unless it, its family or its client was revoked
    (on any replica, when revocations live in Redis), counted against its rate limits. The
    principal and the rate decision are left in the request's state for the middleware."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send an access token as `Authorization: Bearer <token>`")
    principal = await vault.bearer.authenticate(token.strip())
    state = request.scope["state"]
    state["principal"] = principal
    route = request.scope.get("route")
    template = f"{request.scope['method']} {route.path}" if route is not None else None
    state["rate"] = await vault.guard.admit(principal, template)  # RateLimited when over a limit
    return principal


async def authenticated_caller(request: Request) -> Caller:
    """The client behind the `Authorization: Bearer` header. Tokens are never read from the URL.
    A data subject's token is refused (403), whatever the policy's roles are called."""
    vault: Vault = request.app.state.vault
    principal = await _bearer_principal(request, vault)
    if principal.subject_id is not None:
        raise Forbidden("a data subject's token reaches only /v1/me")
    return Caller(vault, principal, request.scope["state"]["request_id"])


async def authenticated_subject(request: Request) -> SubjectCaller:
    """The data subject behind the `Authorization: Bearer` header; a client's token is refused (403)."""
    vault: Vault = request.app.state.vault
    principal = await _bearer_principal(request, vault)
    if principal.subject_id is None:
        raise Forbidden("this route takes a data subject's token, from /v1/me/token")
    return SubjectCaller(
        vault, principal.subject_id, principal.token_id, request.scope["state"]["request_id"]
    )


VaultDep = Annotated[Vault, Depends(get_vault)]
RequestId = Annotated[str, Depends(request_id)]
CallerDep = Annotated[Caller, Depends(authenticated_caller)]
SubjectCallerDep = Annotated[SubjectCaller, Depends(authenticated_subject)]
