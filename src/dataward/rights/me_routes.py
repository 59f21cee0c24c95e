"""`/v1/me`: the data subject's own side, with a subject token from `/v1/me/token`.

Each right is one call: the Art. 15 report, the Art. 20 export, rectification, erasure (which then
waits for the privacy team's approver), restriction, objection, and consent given or withdrawn.
Every right exercised is a tracked rights request, verified by the token; every call is audited
before anything is changed or returned.
A subject token reaches only its own subject: there is no subject id in these paths to change.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import Connection

from dataward.api.deps import SubjectCaller, SubjectCallerDep
from dataward.audit import AuditAction, Outcome
from dataward.errors import Conflict, InvalidRequest, Problem
from dataward.identity.tokens import SELF_SERVICE
from dataward.rights.report import access_report, portability_export
from dataward.rights.report_html import render_access_report
from dataward.rights.requests import Channel, RequestKind, RightsRequest
from dataward.rights.routes import zip_response
from dataward.storage import read_connection

__all__ = ["router"]

router = APIRouter(prefix="/v1/me", tags=["me"])

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,64}$")]
CollectionName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,62}$", max_length=63)]


class Objection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Name


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Name
    notice_version: Label
    source: Label = "self-service"


@router.get("/report", summary="My Art. 15 report: my data and how it is processed", response_model=None)
async def my_report(
    me: SubjectCallerDep, format: Annotated[Literal["json", "html"], Query()] = "json"
) -> Response:
    document = await _report(me, RequestKind.ACCESS)
    if format == "html":
        return HTMLResponse(render_access_report(document))
    return JSONResponse(document)


@router.get("/export", summary="My Art. 20 export: the data I provided, as JSON and CSV in one ZIP")
async def my_export(me: SubjectCallerDep) -> Response:
    document = await _report(me, RequestKind.PORTABILITY)
    return zip_response(portability_export(document), me.subject_id)


@router.patch("/{collection}", summary="Correct my data (Art. 16): the fields given replace their values")
async def rectify(
    collection: CollectionName,
    values: Annotated[dict[str, Any], Body(description="Field name -> corrected value.")],
    me: SubjectCallerDep,
) -> dict[str, Any]:
    return await _rectify(me, collection, values, None)


@router.patch("/{collection}/{record_id}", summary="Correct one record of a collection with many")
async def rectify_record(
    collection: CollectionName,
    record_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")],
    values: Annotated[dict[str, Any], Body(description="Field name -> corrected value.")],
    me: SubjectCallerDep,
) -> dict[str, Any]:
    return await _rectify(me, collection, values, record_id)


async def _rectify(
    me: SubjectCaller, collection: str, values: dict[str, Any], record_id: str | None
) -> dict[str, Any]:
    vault = me.vault
    checked = vault.subjects.check_collection(collection, values)  # names every wrong field
    _still_held(me)
    signs_in = [n for n in checked if (spec := vault.policy.field(f"{collection}.{n}")) and spec.searchable]
    if signs_in:  # a stolen five-minute token must not become a permanent one by a new address
        problems = [
            Problem(n, "identifies you at sign-in: ask the privacy team to change it") for n in signs_in
        ]
        raise InvalidRequest("some fields cannot be changed here", problems)
    if vault.policy.collections[collection].multiple != (record_id is not None):
        raise InvalidRequest(
            f"name the record to correct as /v1/me/{collection}/{{record_id}}"
            if record_id is None
            else f"{collection} holds one record: PATCH /v1/me/{collection}"
        )
    fields = [f"{collection}.{name}" for name in checked]
    store = vault.regions.of(me.subject_id)
    event = me.event(AuditAction.RECORD_WRITE, Outcome.ALLOWED, tuple(fields), reason="rectification")
    await vault.audit.record(event)
    try:
        async with vault.writing_in(store) as connection:
            store.subjects.update(connection, me.subject_id, collection, checked, record_id)
    except Exception:
        await vault.audit.record(replace(event, outcome=Outcome.FAILED, reason="rectification not made"))
        raise
    async with vault.writing() as connection:
        request = _open_and_carry_out(me, connection, RequestKind.RECTIFICATION, {"fields": fields})
    return _answer(me, request)


@router.post("/erasure", status_code=202, summary="Erase my data (Art. 17); the privacy team approves")
async def erase(me: SubjectCallerDep) -> dict[str, Any]:
    return await _request(me, RequestKind.ERASURE)


@router.post("/restriction", summary="Restrict the processing of my data (Art. 18)")
async def restrict(me: SubjectCallerDep) -> dict[str, Any]:
    return await _request(me, RequestKind.RESTRICTION)


@router.post("/objections", summary="Object to a purpose (Art. 21); to direct marketing, absolutely")
async def object_to(body: Objection, me: SubjectCallerDep) -> dict[str, Any]:
    return await _request(me, RequestKind.OBJECTION, {"purposes": [body.purpose]})


@router.post("/consents", status_code=201, summary="Give consent to a purpose")
async def give_consent(body: Consent, me: SubjectCallerDep) -> dict[str, Any]:
    vault = me.vault
    _still_held(me)
    vault.consent.check_consent_purpose(body.purpose)  # before the audit entry says it happened
    await vault.audit.record(me.event(AuditAction.CONSENT_GIVE, Outcome.ALLOWED, purpose=body.purpose))
    async with vault.writing_in(vault.regions.of(me.subject_id)) as connection:
        event = vault.consent.give(
            connection, me.subject_id, body.purpose, notice_version=body.notice_version,
            source=body.source, client_id=SELF_SERVICE,
        )  # fmt: skip
    return {"purpose": event.purpose, "status": event.event.value, "at": event.at.isoformat()}


@router.delete("/consents/{purpose}", summary="Withdraw my consent; effective on the next read")
async def withdraw_consent(
    purpose: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,62}$")], me: SubjectCallerDep
) -> dict[str, Any]:
    vault = me.vault
    _still_held(me)
    vault.consent.check_consent_purpose(purpose)
    await vault.audit.record(me.event(AuditAction.CONSENT_WITHDRAW, Outcome.ALLOWED, purpose=purpose))
    async with vault.writing_in(vault.regions.of(me.subject_id)) as connection:
        event = vault.consent.withdraw(connection, me.subject_id, purpose, client_id=SELF_SERVICE)
    return {"purpose": event.purpose, "status": event.event.value, "at": event.at.isoformat()}


@router.get("/requests", summary="My rights requests and where each stands")
async def my_requests(me: SubjectCallerDep) -> dict[str, Any]:
    vault = me.vault
    await vault.audit.record(me.event(AuditAction.RIGHTS_LIST, Outcome.ALLOWED))
    with read_connection(vault.engine) as connection:
        found = vault.rights.find(connection, subject_id=me.subject_id)
    now = vault.clock.now()
    return {"requests": [_public(r.as_dict(now)) for r in found]}


async def _request(
    me: SubjectCaller, kind: RequestKind, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    vault = me.vault
    details = vault.rights.check_details(kind, details or {})
    _still_held(me)
    await vault.audit.record(me.event(AuditAction.RIGHTS_OPEN, Outcome.ALLOWED, reason=kind.value))
    async with vault.writing() as connection:
        request = _open_and_carry_out(me, connection, kind, details)
    return _answer(me, request)


async def _report(me: SubjectCaller, kind: RequestKind) -> dict[str, Any]:
    vault = me.vault
    store = vault.regions.of(me.subject_id)
    with read_connection(store.engine) as connection:
        fields = tuple(store.subjects.held(connection, me.subject_id))
    # audited before any data leaves, as a report of these fields (breach sizing counts it)
    await vault.audit.record(me.event(AuditAction.RIGHTS_REPORT, Outcome.ALLOWED, fields, reason=kind.value))
    async with vault.writing() as connection:
        _open_and_carry_out(me, connection, kind, {})
    with read_connection(store.engine) as connection:  # not under the write lock: it may be long
        return access_report(
            connection, me.subject_id, subjects=store.subjects, consent=vault.consent,
            policy=vault.policy, now=vault.clock.now(),
        )  # fmt: skip


def _still_held(me: SubjectCaller) -> None:
    """An erased subject's token (alive for minutes more) changes nothing; the report still works."""
    store = me.vault.regions.of(me.subject_id)
    with read_connection(store.engine) as connection:
        if store.subjects.state(connection, me.subject_id).erased:
            raise Conflict("your data was erased: nothing is left to change")


def _open_and_carry_out(
    me: SubjectCaller, connection: Connection, kind: RequestKind, details: dict[str, Any]
) -> RightsRequest:
    rights = me.vault.rights
    request = rights.open(connection, kind, me.subject_id, Channel.SELF_SERVICE, me.subject_id, details)
    return rights.carry_out(connection, request, me.subject_id)


def _answer(me: SubjectCaller, request: RightsRequest) -> dict[str, Any]:
    return _public(request.as_dict(me.vault.clock.now()))


def _public(document: dict[str, Any]) -> dict[str, Any]:
    """What a subject sees of a request: not who in the team handles or approves it."""
    return {k: v for k, v in document.items() if k not in ("handler", "approver")}
