"""The composition root: build the vault's services from `Settings` and mount every domain's routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dataward import __version__
from dataward.api.middleware import SecurityMiddleware
from dataward.api.openapi import document_api
from dataward.api.problems import install_problem_handlers
from dataward.audit.routes import router as audit_router
from dataward.background import run_background
from dataward.consent.routes import router as consent_router
from dataward.guard.routes import router as metrics_router
from dataward.identity.routes import router as identity_router
from dataward.identity.subject_routes import router as me_router
from dataward.incidents.routes import router as incidents_router
from dataward.policy.routes import router as policy_router
from dataward.rights.me_routes import router as my_rights_router
from dataward.rights.routes import router as rights_router
from dataward.services import Vault
from dataward.subjects.routes import read_router
from dataward.subjects.routes import router as subjects_router

__all__ = ["create_app"]

DESCRIPTION = """
An encrypted, purpose-bound personal-data vault. Every read names its purpose and returns only what
that purpose, the caller's role and the subject's consent allow; every access is recorded in a
tamper-evident audit log. Errors are RFC 9457 problem+json.
"""


def create_app(vault: Vault, *, access_log: bool = True, background: bool = False) -> FastAPI:
    """The HTTP app; with `background`, it also delivers notices and sweeps retention while it serves."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_background(vault, stop)) if background else None
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await vault.aclose()

    app = FastAPI(
        title="Dataward",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.vault = vault
    app.state.guard = vault.guard
    install_problem_handlers(app)
    routers = (
        # the hot read first: each route tried before it costs every read a regular expression;
        # consents before subjects: POST /v1/subjects/{id}/consents is not a collection
        read_router, identity_router, me_router, consent_router, subjects_router, audit_router, policy_router,
        rights_router, my_rights_router, incidents_router, metrics_router,
    )  # fmt: skip
    for router in routers:
        app.include_router(router)
    document_api(app, vault.settings.token_ttl_seconds)
    app.add_middleware(
        SecurityMiddleware,
        max_body_bytes=vault.settings.max_body_bytes,
        access_log=access_log,
        guard=vault.guard,
    )
    return app
