"""FastAPI dependencies: the vault's services, the request id, and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dataward.identity import InvalidToken, Principal
from dataward.services import Vault

__all__ = ["CurrentPrincipal", "RequestId", "VaultDep", "current_principal", "get_vault"]


def get_vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def request_id(request: Request) -> str:
    value: str = request.scope["state"]["request_id"]
    return value


async def current_principal(request: Request) -> Principal:
    """The caller behind the `Authorization: Bearer` header. Tokens are never read from the URL."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send an access token as `Authorization: Bearer <token>`")
    return get_vault(request).verifier.verify(token.strip())


VaultDep = Annotated[Vault, Depends(get_vault)]
RequestId = Annotated[str, Depends(request_id)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
