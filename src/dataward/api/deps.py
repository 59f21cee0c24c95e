"""FastAPI dependencies: who is calling, through which vault, under which request id.

One dependency resolves all three: each extra dependency costs the hot read path about as much as
the whole access decision. Every dependency is `async def`, because FastAPI runs a plain `def`
dependency in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from dataward.access import Forbidden, authorize
from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.identity import InvalidToken, Principal
from dataward.policy import Action, Role
from dataward.services import Vault

__all__ = ["Caller", "CallerDep", "RequestId", "VaultDep", "authenticated_caller", "get_vault"]


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

    async def require(
        self, action: Action, tag: AuditAction, subject_id: str | None = None, purpose: str | None = None
    ) -> Role:
        """The caller's role if it may perform `action`; otherwise the refusal is audited and raised."""
        try:
            return authorize(self.principal, action, self.vault.policy)
        except Forbidden as exc:
            await self.vault.audit.record(
                self.event(tag, Outcome.DENIED, subject_id, purpose=purpose, reason=exc.detail)
            )
            raise


async def get_vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


async def request_id(request: Request) -> str:
    value: str = request.scope["state"]["request_id"]
    return value


async def authenticated_caller(request: Request) -> Caller:
    """The caller behind the `Authorization: Bearer` header. Tokens are never read from the URL."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send an access token as `Authorization: Bearer <token>`")
    vault: Vault = request.app.state.vault
    return Caller(vault, vault.verifier.verify(token.strip()), request.scope["state"]["request_id"])


VaultDep = Annotated[Vault, Depends(get_vault)]
RequestId = Annotated[str, Depends(request_id)]
CallerDep = Annotated[Caller, Depends(authenticated_caller)]
