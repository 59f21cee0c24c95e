"""Acme HR, the vulnerable edition: an HR API with one planted flaw for each scanner rule.

Do not copy anything from here. Each flaw is marked `# plants: <rule id>` where it is planted (in
this module and `_vulnerable_*`), and `manifest.py` lists them for the scanner's tests. Everyone in
it is fictional (`_people`).

Identities, through `POST /auth/login` with JSON `{"username", "password"}` (answering
`{"access_token", "token_type"}`), or `issue_token(username)` without HTTP:

    alice / alice-password-1    an ordinary user; owns document 1
    bob   / bob-password-2      an ordinary user; owns document 2
    admin / admin-password-0    the HR administrator (the API never asks)

Tokens are HS256 JWTs signed with the secret `secret`, scope "hr", an hour long (nobody checks),
also taken from `?access_token=`. `GET /reports/headcount` takes HTTP Basic with the same
passwords, `GET /reports/salaries` the query parameter `api_key=acme-reports-demo-key`.

State is per app instance, in memory; the staff sit in an SQLite database opened at start-up, so
run the app (`with TestClient(create_app()) as http:`) before calling it. Serve it with
`python tests/scan_targets/vulnerable_api.py --port 9100` (127.0.0.1 only).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

if not __package__:  # run as a script: make the `scan_targets` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scan_targets import _vulnerable_auth, _vulnerable_documents, _vulnerable_staff
from scan_targets._serve import serve
from scan_targets._vulnerable_state import VulnerableStore, issue_claims, sign_token

__all__ = ["create_app", "issue_token", "main"]


def issue_token(username: str, *, issued_at: float | None = None) -> str:
    """A token for `username` as `POST /auth/login` hands out (issued now, or at `issued_at`)."""
    if username not in VulnerableStore().accounts:
        raise ValueError(f"no demo account {username!r}")
    return sign_token(issue_claims(username, issued_at=issued_at))


async def _database_error(request: Request, exc: Exception) -> Response:
    # plants: API8-INJECTION (SQLite's own message goes back to the caller)
    error = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
    return JSONResponse({"detail": "database error", "error": error}, status_code=500)


def create_app() -> FastAPI:
    store = VulnerableStore()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.open()
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="Acme HR",
        version="2.3.0",
        description="People, documents and reports of Acme (fictional). Deliberately vulnerable.",
        servers=[{"url": "http://api.acme.example"}],  # plants: API8-PLAIN-HTTP
        lifespan=lifespan,
    )  # plants: API4-NO-RATE-LIMIT (no operation declares a 429)
    app.state.store = store
    # plants: API8-PERMISSIVE-CORS (any origin, with credentials: Starlette echoes the caller's Origin)
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"], allow_headers=["*"]
    )
    app.add_exception_handler(sqlite3.Error, _database_error)
    for module in (_vulnerable_auth, _vulnerable_documents, _vulnerable_staff):
        app.include_router(module.router)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    serve(create_app, name="the vulnerable Acme HR", default_port=9100, argv=argv)


if __name__ == "__main__":
    main()
