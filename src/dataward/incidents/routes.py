"""`/v1/incidents`: the breach register (Art. 33), for roles with the `incidents` action.

Every call is audited, a refusal included. The audit entries name the incident, never the
subjects it reached: the register points at the audit log, not the other way round. A look at an
incident recomputes its size from the audit log off the event loop (it may read many entries) and
answers only once its own audit entry is durable.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Path, Query

from dataward.api.deps import CallerDep
from dataward.audit import AuditAction, Outcome
from dataward.incidents.schemas import IncidentList, IncidentView, OpenIncident, UpdateIncident
from dataward.incidents.service import Incident, IncidentRegister, Sizing, changes
from dataward.policy import Action
from dataward.services import Vault
from dataward.storage import read_connection

__all__ = ["router"]

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])

IncidentId = Annotated[str, Path(max_length=36, description="The incident's id (a random UUID).")]


@router.post("", status_code=201, summary="Open an incident: start the 72-hour clock and size the breach")
async def open_incident(body: OpenIncident, caller: CallerDep) -> IncidentView:
    vault, tag = caller.vault, AuditAction.INCIDENT_OPEN
    await caller.require(Action.INCIDENTS, tag)
    register = _register(vault)
    incident = register.draft(
        title=body.title,
        description=body.description,
        client_id=body.client_id,
        token_id=body.token_id,
        window_from=body.window_from,
        window_to=body.window_to,
        aware_at=body.aware_at,
        opened_by=caller.principal.client_id,
    )
    # Audit first: the register holds nothing the log does not already hold.
    event = caller.event(tag, Outcome.ALLOWED, reason=f"incident {incident.id}")
    await vault.audit.record(event)
    try:
        async with vault.writing() as connection:
            register.add(connection, incident)
    except Exception:
        await vault.audit.record(
            replace(event, outcome=Outcome.FAILED, reason=f"incident {incident.id}: not stored")
        )
        raise
    sizing = await asyncio.to_thread(_size, vault, register, incident, subject_ids=False)
    return IncidentView.of(incident, register.clock(incident), sizing)


@router.get("", summary="List incidents: open ones first, nearest deadline first")
async def list_incidents(caller: CallerDep) -> IncidentList:
    vault, tag = caller.vault, AuditAction.INCIDENT_READ
    await caller.require(Action.INCIDENTS, tag)
    register = _register(vault)
    with read_connection(vault.engine) as connection:
        found = register.list(connection)
    await vault.audit.record(caller.event(tag, Outcome.ALLOWED, reason=f"list: {len(found)} incident(s)"))
    return IncidentList(incidents=[IncidentView.of(i, register.clock(i)) for i in found])


@router.get(
    "/{incident_id}", summary="Show an incident: its clock, and its size recomputed from the audit log"
)
async def show_incident(
    incident_id: IncidentId,
    caller: CallerDep,
    subject_ids: Annotated[
        bool, Query(description="Also list the ids of the subjects reached (to tell them, Art. 34).")
    ] = False,
) -> IncidentView:
    vault, tag = caller.vault, AuditAction.INCIDENT_READ
    await caller.require(Action.INCIDENTS, tag)
    register = _register(vault)
    with read_connection(vault.engine) as connection:
        incident = register.get(connection, incident_id)
    sizing = await asyncio.to_thread(_size, vault, register, incident, subject_ids=subject_ids)
    reason = f"incident {incident.id}" + (" with subject ids" if subject_ids else "")
    await vault.audit.record(caller.event(tag, Outcome.ALLOWED, reason=reason))
    return IncidentView.of(incident, register.clock(incident), sizing)


@router.patch("/{incident_id}", summary="Record the authority's notification; close or reopen an incident")
async def update_incident(incident_id: IncidentId, body: UpdateIncident, caller: CallerDep) -> IncidentView:
    vault, tag = caller.vault, AuditAction.INCIDENT_UPDATE
    await caller.require(Action.INCIDENTS, tag)
    register = _register(vault)
    with read_connection(vault.engine) as connection:
        before = register.get(connection, incident_id)
    after = register.revise(before, notified_at=body.notified_at, closed=body.closed)
    event = caller.event(tag, Outcome.ALLOWED, reason=f"incident {before.id}: {changes(before, after)}")
    await vault.audit.record(event)
    try:
        async with vault.writing() as connection:
            register.save(connection, before, after)
    except Exception:
        await vault.audit.record(
            replace(event, outcome=Outcome.FAILED, reason=f"incident {before.id}: not stored")
        )
        raise
    return IncidentView.of(after, register.clock(after))


def _register(vault: Vault) -> IncidentRegister:
    return IncidentRegister(vault.policy, vault.clock)


def _size(vault: Vault, register: IncidentRegister, incident: Incident, *, subject_ids: bool) -> Sizing:
    with read_connection(vault.engine) as connection:
        return register.size(connection, incident, subject_ids=subject_ids)
