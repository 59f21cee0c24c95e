"""`/v1/rights-requests`: the privacy team's side of data-subject requests.

Handlers (`rights.handle`) receive, verify, start, extend, refuse and carry out requests; an erasure
then waits for an approver (`rights.approve`) who is not its handler. Every step is checked, then
audited, then made, in that order: a step the audit log cannot hold is not taken.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dataward.api.deps import Caller, CallerDep
from dataward.audit import AuditAction, Outcome
from dataward.errors import NotFound
from dataward.policy import Action
from dataward.rights.report import access_report, portability_export
from dataward.rights.report_html import render_access_report
from dataward.rights.requests import Channel, RequestKind, RequestState, RightsRequest
from dataward.storage import read_connection
from dataward.subjects.service import is_subject_id

__all__ = ["router"]

router = APIRouter(prefix="/v1/rights-requests", tags=["rights"])

RequestId = Annotated[str, Path(max_length=36, description="The request's id.")]
Reason = Annotated[str, Field(min_length=1, max_length=1000, description="Why; never personal data.")]


class OpenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RequestKind
    subject_id: Annotated[str, Field(max_length=36)]
    received_at: AwareDatetime | None = Field(
        default=None, description="When the request reached you, if before now: the month runs from then."
    )
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="objection: {purposes: [...]}; rectification: {fields: ['collection.field']}.",
    )


class Reasoned(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class Extension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    months: Annotated[int, Field(ge=1, le=2)] = 2


@router.post("", status_code=201, summary="Receive a data-subject request (due in one month)")
async def open_request(body: OpenRequest, caller: CallerDep) -> dict[str, Any]:
    vault = caller.vault
    if not is_subject_id(body.subject_id):
        raise NotFound("no such subject")  # checked first: the audit of a refusal holds real ids only
    await caller.require(Action.RIGHTS_HANDLE, AuditAction.RIGHTS_OPEN, body.subject_id)
    vault.rights.check_details(body.kind, body.details)
    await vault.audit.record(
        caller.event(AuditAction.RIGHTS_OPEN, Outcome.ALLOWED, body.subject_id, reason=body.kind.value)
    )
    async with vault.writing() as connection:
        request = vault.rights.open(
            connection, body.kind, body.subject_id, Channel.TEAM, caller.principal.client_id,
            body.details, received_at=body.received_at,
        )  # fmt: skip
    return request.as_dict(vault.clock.now())


@router.get("", summary="List requests: open, overdue or all, soonest due first")
async def list_requests(
    caller: CallerDep,
    state: Annotated[Literal["open", "overdue", "all"], Query()] = "open",
    kind: Annotated[RequestKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    vault = caller.vault
    await caller.require(Action.RIGHTS_HANDLE, AuditAction.RIGHTS_LIST)
    await vault.audit.record(caller.event(AuditAction.RIGHTS_LIST, Outcome.ALLOWED, reason=state))
    with read_connection(vault.engine) as connection:
        found = vault.rights.find(
            connection, open_only=state == "open", overdue=state == "overdue", kind=kind, limit=limit
        )
    now = vault.clock.now()
    return {"requests": [r.as_dict(now) for r in found]}


@router.get("/{request_id}", summary="A request, its history, and which processors acknowledged")
async def read_request(request_id: RequestId, caller: CallerDep) -> dict[str, Any]:
    vault = caller.vault
    await caller.require(Action.RIGHTS_HANDLE, AuditAction.RIGHTS_READ)
    request = _find(caller, request_id)
    await vault.audit.record(caller.event(AuditAction.RIGHTS_READ, Outcome.ALLOWED, request.subject_id))
    async with vault.writing() as connection:
        request = vault.rights.settle(connection, request)
        history = vault.rights.history(connection, request.id)
    return {
        **request.as_dict(vault.clock.now()),
        "history": history,
        "recipients": vault.rights.recipients(request.id),
    }


@router.post("/{request_id}/verify", summary="The requester proved to be the subject")
async def verify(request_id: RequestId, caller: CallerDep) -> dict[str, Any]:
    return await _move(caller, request_id, RequestState.VERIFIED)


@router.post("/{request_id}/start", summary="Work on the request has begun")
async def start(request_id: RequestId, caller: CallerDep) -> dict[str, Any]:
    return await _move(caller, request_id, RequestState.IN_PROGRESS)


@router.post("/{request_id}/extend", summary="Extend the due date by up to two months (Art. 12(3))")
async def extend(request_id: RequestId, body: Extension, caller: CallerDep) -> dict[str, Any]:
    return await _move(caller, request_id, RequestState.EXTENDED, body.reason, body.months)


@router.post("/{request_id}/refuse", summary="Refuse the request, saying why (Art. 12(4))")
async def refuse(request_id: RequestId, body: Reasoned, caller: CallerDep) -> dict[str, Any]:
    return await _move(caller, request_id, RequestState.REFUSED, body.reason)


@router.post("/{request_id}/complete", summary="Carry the request out (an erasure then awaits approval)")
async def complete(request_id: RequestId, caller: CallerDep) -> dict[str, Any]:
    return await _carry_out(caller, request_id, Action.RIGHTS_HANDLE, approving=False)


@router.post("/{request_id}/approve", summary="Approve and carry out an erasure (not by its handler)")
async def approve(request_id: RequestId, caller: CallerDep) -> dict[str, Any]:
    return await _carry_out(caller, request_id, Action.RIGHTS_APPROVE, approving=True)


@router.post("/{request_id}/lift", summary="Lift a restriction (Art. 18(3): tell the subject first)")
async def lift(request_id: RequestId, body: Reasoned, caller: CallerDep) -> dict[str, Any]:
    vault = caller.vault
    await caller.require(Action.RIGHTS_HANDLE, AuditAction.RIGHTS_CARRY_OUT)
    request = _find(caller, request_id)
    vault.rights.check_lift(request)
    await vault.audit.record(
        caller.event(
            AuditAction.RIGHTS_CARRY_OUT, Outcome.ALLOWED, request.subject_id, reason=f"lift {request.id}"
        )
    )
    async with vault.writing() as connection:
        lifted = vault.rights.lift_restriction(connection, request, caller.principal.client_id, body.reason)
    return lifted.as_dict(vault.clock.now())


@router.post("/{request_id}/retry-notices", summary="Send the notices processors never acknowledged again")
async def retry_notices(request_id: RequestId, caller: CallerDep) -> dict[str, Any]:
    vault = caller.vault
    await caller.require(Action.RIGHTS_HANDLE, AuditAction.RIGHTS_MOVE)
    request = _find(caller, request_id)
    await vault.audit.record(
        caller.event(
            AuditAction.RIGHTS_MOVE, Outcome.ALLOWED, request.subject_id, reason=f"retry {request.id}"
        )
    )
    retried = vault.rights.retry_notices(request)
    return {"retried": retried, "recipients": vault.rights.recipients(request.id)}


@router.get("/{request_id}/report", summary="The Art. 15 report for an access request", response_model=None)
async def report(
    request_id: RequestId, caller: CallerDep, format: Annotated[Literal["json", "html"], Query()] = "json"
) -> Response:
    document = await _report(caller, request_id, RequestKind.ACCESS)
    if format == "html":
        return HTMLResponse(render_access_report(document))
    return JSONResponse(document)


@router.get("/{request_id}/export", summary="The Art. 20 export (JSON and CSV in one ZIP)")
async def export(request_id: RequestId, caller: CallerDep) -> Response:
    document = await _report(caller, request_id, RequestKind.PORTABILITY)
    return zip_response(portability_export(document), document["subject_id"])


def zip_response(archive: bytes, subject_id: str) -> Response:
    disposition = f'attachment; filename="dataward-export-{subject_id}.zip"'
    return Response(archive, media_type="application/zip", headers={"Content-Disposition": disposition})


async def _move(
    caller: Caller, request_id: str, to: RequestState, reason: str | None = None, months: int = 0
) -> dict[str, Any]:
    vault = caller.vault
    await caller.require(Action.RIGHTS_HANDLE, AuditAction.RIGHTS_MOVE)
    request = _find(caller, request_id)
    vault.rights.check_move(request, to)
    await vault.audit.record(
        caller.event(
            AuditAction.RIGHTS_MOVE, Outcome.ALLOWED, request.subject_id, reason=f"{request.id} -> {to}"
        )
    )
    async with vault.writing() as connection:
        moved = vault.rights.move(connection, request, to, caller.principal.client_id, reason, months=months)
    return moved.as_dict(vault.clock.now())


async def _carry_out(caller: Caller, request_id: str, action: Action, *, approving: bool) -> dict[str, Any]:
    vault, actor = caller.vault, caller.principal.client_id
    await caller.require(action, AuditAction.RIGHTS_CARRY_OUT)
    request = _find(caller, request_id)
    vault.rights.check_work(request, approving=approving)
    with read_connection(vault.engine) as connection:
        if approving:
            vault.rights.check_approver(connection, request, actor)
    store = vault.regions.of(request.subject_id)
    with read_connection(store.engine) as connection:
        fields = tuple(store.subjects.held(connection, request.subject_id))
    await vault.audit.record(
        caller.event(
            AuditAction.RIGHTS_CARRY_OUT, Outcome.ALLOWED, request.subject_id, fields,
            reason=f"{'approve ' if approving else ''}{request.kind} {request.id}",
        )
    )  # fmt: skip
    if approving:  # first the mark, in a transaction of its own; then the destruction
        async with vault.writing() as connection:
            request = vault.rights.approve(connection, request, actor)
    async with vault.writing() as connection:
        done = vault.rights.carry_out(connection, request, actor)
    return done.as_dict(vault.clock.now())


async def _report(caller: Caller, request_id: str, kind: RequestKind) -> dict[str, Any]:
    """The report for a verified access (or portability) request; audited with the fields it holds."""
    vault = caller.vault
    await caller.require(Action.RIGHTS_HANDLE, AuditAction.RIGHTS_REPORT)
    request = _find(caller, request_id)
    vault.rights.check_report(request, kind)
    store = vault.regions.of(request.subject_id)
    with read_connection(store.engine) as connection:
        fields = tuple(store.subjects.held(connection, request.subject_id))
        document = access_report(
            connection, request.subject_id, subjects=store.subjects, consent=vault.consent,
            policy=vault.policy, now=vault.clock.now(),
        )  # fmt: skip
    await caller.watch_read((request.subject_id,), 1)
    await vault.audit.record(
        caller.event(
            AuditAction.RIGHTS_REPORT, Outcome.ALLOWED, request.subject_id, fields, reason=kind.value
        )
    )
    return document


def _find(caller: Caller, request_id: str) -> RightsRequest:
    if not is_subject_id(request_id):  # request ids are random UUIDs too
        raise NotFound("no such rights request")
    with read_connection(caller.vault.engine) as connection:
        return caller.vault.rights.get(connection, request_id)
