"""Who the vulnerable Acme HR thinks is calling: its login, its bearer tokens, HTTP Basic and an
API key in the query string."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Security
from fastapi.security import (
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from pydantic import BaseModel

from scan_targets._vulnerable_state import (
    Record,
    VulnerableStore,
    get_store,
    hash_password,
    issue_claims,
    read_token,
    sign_token,
)

__all__ = [
    "REPORTS_API_KEY",
    "BasicCaller",
    "Caller",
    "CallerAnyToken",
    "ReportsKey",
    "Store",
    "bearer",
    "router",
]

REPORTS_API_KEY = "acme-reports-demo-key"

# plants: API2-TOKEN-LIFETIME (the scheme says nothing of how long its tokens live)
bearer = HTTPBearer(scheme_name="bearerAuth", auto_error=False)
basic = HTTPBasic(scheme_name="basicAuth")  # plants: API2-BASIC-AUTH
api_key = APIKeyQuery(name="api_key", scheme_name="reportsKey")  # plants: API2-CREDENTIALS-IN-QUERY

Store = Annotated[VulnerableStore, Depends(get_store)]


def _caller(request: Request, store: VulnerableStore, token: str | None, *, check_signature: bool) -> Record:
    # plants: API2-TOKEN-IN-QUERY-ACCEPTED (and the query string lands in every access log)
    token = token or request.query_params.get("access_token")
    claims = read_token(token, check_signature=check_signature) if token else None
    account = store.accounts.get(str(claims.get("sub"))) if claims else None
    if account is None:
        raise HTTPException(401, "not authenticated")
    return account


def caller(
    request: Request,
    store: Store,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Record:
    """The account a bearer token names; no scope or role is ever compared."""
    token = credentials.credentials if credentials else None
    return _caller(request, store, token, check_signature=True)


def caller_any_token(
    request: Request,
    store: Store,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Record:
    """As `caller`, but the signature is not checked at all."""
    token = credentials.credentials if credentials else None
    return _caller(request, store, token, check_signature=False)  # plants: API2-FORGED-TOKEN-ACCEPTED


def basic_caller(store: Store, credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> Record:
    account = store.accounts.get(credentials.username)
    if account is None or account["password_hash"] != hash_password(credentials.password):
        raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Basic"})
    return account


# Admin and ordinary operations alike ask for the one scope "hr".
Caller = Annotated[Record, Security(caller, scopes=["hr"])]
CallerAnyToken = Annotated[Record, Security(caller_any_token, scopes=["hr"])]
BasicCaller = Annotated[Record, Depends(basic_caller)]
ReportsKey = Annotated[str, Security(api_key)]

router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    username: str
    password: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/login")  # plants: API4-NO-RATE-LIMIT-OBSERVED (guess away)
def login(body: LoginRequest, store: Store) -> Token:
    account = store.accounts.get(body.username)
    if account is None:
        raise HTTPException(404, "unknown user")  # plants: API2-USER-ENUMERATION
    if account["password_hash"] != hash_password(body.password):
        raise HTTPException(401, "wrong password")
    return Token(access_token=sign_token(issue_claims(body.username)))


@router.get("/health", tags=["ops"])
def health() -> dict[str, str]:
    return {"status": "ok"}
