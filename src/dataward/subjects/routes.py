"""`/v1/subjects`: create a subject, write a collection, read under a purpose, look up by a field.

Each handler authenticates, asks the decision point, does the work, and records the audit entry
before it answers: a read whose audit entry cannot be made durable returns no data.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from dataward.access import ConsentStatus, Forbidden, Withheld, authorize, decide_access, permitted_purpose
from dataward.api.deps import CurrentPrincipal, RequestId, VaultDep
from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.errors import NotFound
from dataward.identity import Principal
from dataward.policy import Action
from dataward.services import Vault
from dataward.storage import write_transaction
from dataward.subjects.schemas import Created, CreateSubject, LookupRequest, LookupResult, SubjectView
from dataward.subjects.service import is_subject_id

__all__ = ["router"]

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])

SubjectId = Annotated[str, Path(max_length=36, description="The subject's id (a random UUID).")]
Collection = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,62}$", max_length=63)]
Purpose = Annotated[
    str, Query(pattern=r"^[a-z][a-z0-9_-]{0,62}$", max_length=63, description="Why you read.")
]


@router.post("", status_code=201, summary="Create a subject")
async def create_subject(
    vault: VaultDep,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Annotated[CreateSubject | None, Body()] = None,
) -> Created:
    await _authorize(vault, principal, Action.CREATE, AuditAction.SUBJECT_CREATE, request_id, None)
    region = vault.subjects.check_region(body.region if body else None)
    await vault.audit.record(
        AuditEvent(AuditAction.SUBJECT_CREATE, principal.client_id, Outcome.ALLOWED, request_id)
    )
    with write_transaction(vault.engine) as connection:
        subject_id = vault.subjects.create(connection, region)
    return Created(id=subject_id)


@router.put("/{subject_id}/{collection}", summary="Write (replace) one collection of a subject")
async def write_collection(
    subject_id: SubjectId,
    collection: Collection,
    values: Annotated[dict[str, Any], Body(description="Field name -> value; fields left out are removed.")],
    vault: VaultDep,
    principal: CurrentPrincipal,
    request_id: RequestId,
) -> dict[str, Any]:
    sid = _known_id(subject_id)
    await _authorize(vault, principal, Action.WRITE, AuditAction.RECORD_WRITE, request_id, sid)
    checked = vault.subjects.check_collection(collection, values)
    fields = tuple(f"{collection}.{name}" for name in checked)
    with vault.engine.connect() as connection:
        if not vault.subjects.exists(connection, sid):
            raise NotFound("no such subject")
    # Audit first: nothing is written that the log does not already hold.
    event = AuditEvent(
        AuditAction.RECORD_WRITE, principal.client_id, Outcome.ALLOWED, request_id, sid, fields
    )
    await vault.audit.record(event)
    try:
        with write_transaction(vault.engine) as connection:
            vault.subjects.write(connection, sid, collection, checked)
    except Exception:
        await vault.audit.record(replace(event, outcome=Outcome.FAILED, reason="the write was rolled back"))
        raise
    return {"id": sid, "collection": collection, "fields": sorted(checked)}


@router.get("/{subject_id}", response_model=SubjectView, summary="Read a subject under a purpose")
async def read_subject(
    subject_id: SubjectId,
    purpose: Purpose,
    vault: VaultDep,
    principal: CurrentPrincipal,
    request_id: RequestId,
) -> JSONResponse:
    sid = _known_id(subject_id)
    policy = vault.policy
    with vault.engine.connect() as connection:
        try:
            permitted_purpose(principal, purpose, policy)
        except Forbidden as exc:
            await _denied(vault, principal, AuditAction.RECORD_READ, request_id, sid, exc.detail, purpose)
            raise
        consent = (
            vault.consent.status(connection, sid, purpose) if policy.purposes[purpose].needs_consent else None
        )
        decision = decide_access(principal, purpose, policy, consent)
        result = vault.subjects.read(connection, sid, decision.allowed)
    withheld = dict(decision.withheld)
    withheld.update(dict.fromkeys(result.integrity_failures, Withheld.INTEGRITY_ERROR))
    await vault.audit.record(
        AuditEvent(
            AuditAction.RECORD_READ,
            principal.client_id,
            Outcome.FAILED if result.integrity_failures else Outcome.ALLOWED,
            request_id,
            sid,
            tuple(result.values),
            purpose,
            "integrity check failed" if result.integrity_failures else None,
        )
    )
    return JSONResponse(
        {
            "id": sid,
            "purpose": purpose,
            "data": result.nested(),
            "withheld": [{"field": f, "reason": r.value} for f, r in withheld.items()],
        }
    )


@router.post("/lookup", summary="Find subjects by a searchable field (the value stays out of the URL)")
async def lookup(
    body: LookupRequest, vault: VaultDep, principal: CurrentPrincipal, request_id: RequestId
) -> LookupResult:
    action = AuditAction.SUBJECT_LOOKUP
    try:
        permitted_purpose(principal, body.purpose, vault.policy)
        if body.field not in vault.policy.purpose_fields(body.purpose):
            raise Forbidden(f"purpose {body.purpose} does not cover {body.field}")
    except Forbidden as exc:
        await _denied(vault, principal, action, request_id, None, exc.detail, body.purpose, (body.field,))
        raise
    needs_consent = vault.policy.purposes[body.purpose].needs_consent
    with vault.engine.connect() as connection:
        ids = vault.subjects.lookup(connection, body.field, body.value)
        if needs_consent:  # a subject who has not consented to this purpose is not found for it
            ids = [i for i in ids if vault.consent.status(connection, i, body.purpose) is ConsentStatus.GIVEN]
    await vault.audit.record(
        AuditEvent(
            action, principal.client_id, Outcome.ALLOWED, request_id, None, (body.field,), body.purpose,
            f"{len(ids)} match(es)",
        )
    )  # fmt: skip
    return LookupResult(ids=ids)


def _known_id(subject_id: str) -> str:
    """Anything that is not a subject id cannot name one: answer 404 without touching the database."""
    if not is_subject_id(subject_id):
        raise NotFound("no such subject")
    return subject_id


async def _authorize(
    vault: Vault, principal: Principal, action: Action, tag: AuditAction, request_id: str, sid: str | None
) -> None:
    try:
        authorize(principal, action, vault.policy)
    except Forbidden as exc:
        await _denied(vault, principal, tag, request_id, sid, exc.detail)
        raise


async def _denied(
    vault: Vault,
    principal: Principal,
    tag: AuditAction,
    request_id: str,
    sid: str | None,
    reason: str,
    purpose: str | None = None,
    fields: tuple[str, ...] = (),
) -> None:
    await vault.audit.record(
        AuditEvent(tag, principal.client_id, Outcome.DENIED, request_id, sid, fields, purpose, reason)
    )
