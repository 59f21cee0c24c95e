"""`/v1/subjects/{id}/consents`: give and withdraw consent (a `write` action)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, StringConstraints

from dataward.api.deps import Caller, CallerDep
from dataward.audit import AuditAction, Outcome
from dataward.errors import NotFound
from dataward.policy import Action
from dataward.subjects.service import is_subject_id

__all__ = ["router"]

router = APIRouter(prefix="/v1/subjects/{subject_id}/consents", tags=["consent"])

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,64}$")]
PurposeName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


class GiveConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Name
    notice_version: Label
    source: Label


@router.post("", status_code=201, summary="Record that the subject gave consent to a purpose")
async def give_consent(subject_id: str, body: GiveConsent, caller: CallerDep) -> dict[str, Any]:
    sid = await _writable(subject_id, caller, AuditAction.CONSENT_GIVE, body.purpose)
    async with caller.vault.writing_in(caller.vault.regions.of(sid)) as connection:
        event = caller.vault.consent.give(
            connection,
            sid,
            body.purpose,
            notice_version=body.notice_version,
            source=body.source,
            client_id=caller.principal.client_id,
        )
    return {"purpose": event.purpose, "status": event.event.value, "at": event.at.isoformat()}


@router.delete("/{purpose}", summary="Withdraw consent; effective on the next read")
async def withdraw_consent(subject_id: str, purpose: PurposeName, caller: CallerDep) -> dict[str, Any]:
    sid = await _writable(subject_id, caller, AuditAction.CONSENT_WITHDRAW, purpose)
    async with caller.vault.writing_in(caller.vault.regions.of(sid)) as connection:
        event = caller.vault.consent.withdraw(connection, sid, purpose, client_id=caller.principal.client_id)
    return {"purpose": event.purpose, "status": event.event.value, "at": event.at.isoformat()}


async def _writable(subject_id: str, caller: Caller, tag: AuditAction, purpose: str) -> str:
    """Authorise the write, check the subject exists, and audit before anything changes."""
    vault = caller.vault
    if not is_subject_id(subject_id):
        raise NotFound("no such subject")
    await caller.require(Action.WRITE, tag, subject_id, purpose)
    store = vault.regions.of(subject_id)
    with store.engine.connect() as connection:
        if not store.subjects.exists(connection, subject_id):
            raise NotFound("no such subject")
    await vault.audit.record(caller.event(tag, Outcome.ALLOWED, subject_id, purpose=purpose))
    return subject_id
