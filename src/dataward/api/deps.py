"""FastAPI dependencies: who is calling, through which vault, under which request id.

One dependency resolves all three: each extra dependency costs the hot read path about as much as
the whole access decision. Every dependency is `async def`, because FastAPI runs a plain `def`
dependency in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from dataward.identity import InvalidToken, Principal
from dataward.services import Vault

__all__ = ["Caller", "CallerDep", "RequestId", "VaultDep", "authenticated_caller", "get_vault"]


@dataclass(frozen=True, slots=True)
class Caller:
    vault: Vault
    principal: Principal
    request_id: str


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
