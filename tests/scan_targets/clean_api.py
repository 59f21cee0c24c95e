"""Acme HR, the clean edition: the vulnerable app's twin, built the way a careful team would.

The same resources under similar paths, but: UUIDs and owner checks on objects; bearer tokens
(HS256 under a random 32-byte key, algorithm pinned, `exp` required, 15 minutes, declared as
`x-token-lifetime`) in the Authorization header only; an "admin" scope that only `/admin/...`
operations ask for; write bodies that refuse unknown properties; every input bounded; personal
data searched in bodies, not URLs, its fields marked `x-pii` and its operations given an
`x-dataward-purpose`; problem+json errors, declared with 401/403/422/429/500 on every operation;
a fixed-window rate limit on login and lists; HTTPS servers and one allowed CORS origin; no
deprecated, versioned, internal or undocumented routes (nor Swagger UI).

Identities, through `POST /auth/login` with JSON `{"username", "password"}` (answering
`{"access_token", "token_type", "expires_in"}`), or `issue_token(username)` without HTTP:

    alice / alice-password-1    an ordinary user (scope "hr"); owns one document
    bob   / bob-password-2      an ordinary user (scope "hr"); owns one document
    admin / admin-password-0    the HR administrator (scopes "hr admin")

Apps made without an `authority` share one per process, made on first use, so that
`issue_token` works for them all. State is per app instance, in memory; the staff sit in an SQLite
database opened at start-up, so run the app (`with TestClient(create_app()) as http:`) before
calling it. Serve it with `python tests/scan_targets/clean_api.py --port 9101` (127.0.0.1 only).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

if not __package__:  # run as a script: make the `scan_targets` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scan_targets import _clean_admin, _clean_auth, _clean_documents, _clean_staff
from scan_targets._clean_http import FixedWindowLimiter, Problem, install_problem_handlers
from scan_targets._clean_state import TOKEN_LIFETIME, CleanStore, TokenAuthority, default_authority
from scan_targets._people import STAFF
from scan_targets._serve import serve

__all__ = ["create_app", "issue_token", "main"]

ALLOWED_ORIGIN = "https://hr.acme.example"


def issue_token(username: str, *, issued_at: float | None = None) -> str:
    """A token for `username` as `POST /auth/login` hands out, valid on every app made without an
    `authority` (issued now, or at `issued_at`)."""
    member = next((m for m in STAFF if m.username == username), None)
    if member is None:
        raise ValueError(f"no demo account {username!r}")
    scopes = ("hr", "admin") if member.role == "admin" else ("hr",)
    return default_authority().issue(username, scopes, issued_at=issued_at)


class _AcmeHR(FastAPI):
    """FastAPI, whose document also names the Problem schema and the tokens' lifetime."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is not None:
            return self.openapi_schema
        document = super().openapi()
        components = document.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        components["securitySchemes"]["bearerAuth"]["x-token-lifetime"] = TOKEN_LIFETIME
        return document


def create_app(*, authority: TokenAuthority | None = None, requests_per_minute: int = 10) -> FastAPI:
    """The app; `requests_per_minute` is each client's quota on login and on each list."""
    store = CleanStore(authority=authority or default_authority())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.open()
        try:
            yield
        finally:
            store.close()

    app = _AcmeHR(
        title="Acme HR",
        version="3.0.0",
        description="People, documents and reports of Acme (fictional).",
        servers=[{"url": "https://api.acme.example", "description": "production"}],
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.limiter = FixedWindowLimiter(requests_per_minute, window=60.0)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ALLOWED_ORIGIN],
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
    )
    install_problem_handlers(app)
    for module in (_clean_auth, _clean_documents, _clean_staff, _clean_admin):
        app.include_router(module.router)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    serve(create_app, name="the clean Acme HR", default_port=9101, argv=argv)


if __name__ == "__main__":
    main()
