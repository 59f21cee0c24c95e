"""`GET /v1/audit`: the audit log, for roles with `audit.read`. Reading the log is itself audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dataward.api.deps import CallerDep
from dataward.audit.events import Outcome
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
    vault, tag = caller.vault, AuditAction.AUDIT_READ
    if subject_id is not None and not is_subject_id(subject_id):
        raise NotFound("no such subject")  # checked first: the audit of a refusal holds real ids only
    await caller.require(Action.AUDIT_READ, tag, subject_id)
    await vault.audit.record(caller.event(tag, Outcome.ALLOWED, subject_id))
    entries = vault.audit.entries(after=after, limit=limit, subject_id=subject_id)
    return {
        "entries": [e.as_dict() for e in entries],
        "next_after": entries[-1].seq if entries else after,
    }
