"""`GET /v1/audit`: the audit log, for roles with `audit.read`. Reading the log is itself audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dataward.access import Forbidden, authorize
from dataward.api.deps import CallerDep
from dataward.audit.events import AuditEvent, Outcome
from dataward.audit.tags import AuditAction
from dataward.errors import NotFound
from dataward.policy import Action
from dataward.subjects.service import is_subject_id

__all__ = ["router"]

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", summary="List audit entries (field names and outcomes, never values)")
async def list_entries(
    caller: CallerDep,
    after: Annotated[int, Query(ge=0, description="Return entries after this sequence number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    subject_id: Annotated[str | None, Query(max_length=36)] = None,
) -> dict[str, Any]:
    vault, principal, request_id = caller.vault, caller.principal, caller.request_id
    tag = AuditAction.AUDIT_READ
    try:
        authorize(principal, Action.AUDIT_READ, vault.policy)
    except Forbidden as exc:
        await vault.audit.record(
            AuditEvent(tag, principal.client_id, Outcome.DENIED, request_id, reason=exc.detail)
        )
        raise
    if subject_id is not None and not is_subject_id(subject_id):
        raise NotFound("no such subject")
    await vault.audit.record(AuditEvent(tag, principal.client_id, Outcome.ALLOWED, request_id, subject_id))
    entries = vault.audit.entries(after=after, limit=limit, subject_id=subject_id)
    return {
        "entries": [e.as_dict() for e in entries],
        "next_after": entries[-1].seq if entries else after,
    }
