"""Who is calling the clean Acme HR: login, and bearer tokens checked against the scopes each
operation asks for ("hr" for everyday work, "admin" for `/admin/...` alone)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from pydantic import BaseModel, ConfigDict, Field

from scan_targets._clean_http import answers, rate_limited
from scan_targets._clean_state import TOKEN_LIFETIME, Account, CleanStore, get_store

__all__ = ["AdminCaller", "Caller", "Store", "router"]

bearer = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A token from `POST /auth/login`, in the Authorization header only.",
    auto_error=False,
)

Store = Annotated[CleanStore, Depends(get_store)]


def caller(
    scopes: SecurityScopes,
    store: Store,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    claims = store.authority.verify(credentials.credentials) if credentials else None
    account = store.accounts.get(str(claims["sub"])) if claims else None
    if claims is None or account is None:
        raise HTTPException(401, "A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    granted = set(str(claims.get("scope", "")).split())
    if not granted.issuperset(scopes.scopes):
        challenge = f'Bearer error="insufficient_scope", scope="{scopes.scope_str}"'
        raise HTTPException(403, "This token may not do that.", headers={"WWW-Authenticate": challenge})
    return account


Caller = Annotated[Account, Security(caller, scopes=["hr"])]
AdminCaller = Annotated[Account, Security(caller, scopes=["admin"])]

router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = TOKEN_LIFETIME


@router.post("/auth/login", responses=answers(401, 422), dependencies=[Depends(rate_limited("login"))])
def login(body: LoginRequest, store: Store) -> Token:
    account = store.authenticate(body.username, body.password)
    if account is None:  # the same answer for an unknown user and a wrong password
        raise HTTPException(401, "Unknown user or wrong password.", headers={"WWW-Authenticate": "Bearer"})
    return Token(access_token=store.authority.issue(account.username, account.scopes))


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/health", responses=answers(), tags=["ops"])
def health() -> Health:
    return Health()
