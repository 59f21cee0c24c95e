"""`/v1/subjects`: create a subject, write a collection, read under a purpose, look up by a field.

Each handler authenticates, asks the decision point, does the work, and records the audit entry:
before any write happens, and before any read answers — a read whose audit entry cannot be made
durable returns no data.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse

from dataward.access import Forbidden, Withheld, decide_access, permitted_purpose, subject_refusal
from dataward.api.deps import Caller, CallerDep, authenticated_caller, confine_to_subject
from dataward.audit import AuditAction, Outcome
from dataward.errors import InvalidRequest, NotFound
from dataward.policy import Action
from dataward.storage import read_connection
from dataward.subjects.schemas import Created, CreateSubject, LookupRequest, LookupResult, SubjectView
from dataward.subjects.service import is_subject_id

__all__ = ["read_router", "router"]

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
read_router = APIRouter(prefix="/v1/subjects", tags=["subjects"])  # mounted first (see app.py)

SubjectId = Annotated[str, Path(max_length=36, description="The subject's id (a random UUID).")]
Collection = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,62}$", max_length=63)]
Purpose = Annotated[
    str, Query(pattern=r"^[a-z][a-z0-9_-]{0,62}$", max_length=63, description="Why you read.")
]


@router.post("", status_code=201, summary="Create a subject")
async def create_subject(caller: CallerDep, body: Annotated[CreateSubject | None, Body()] = None) -> Created:
    vault = caller.vault
    await caller.require(Action.CREATE, AuditAction.SUBJECT_CREATE)
    region = vault.subjects.check_region(body.region if body else None)
    store, subject_id = vault.regions.store(region), str(uuid.uuid4())
    await vault.audit.record(caller.event(AuditAction.SUBJECT_CREATE, Outcome.ALLOWED, subject_id))
    async with vault.writing() as connection:  # pinned first: a subject is never found elsewhere
        vault.regions.pin(connection, subject_id, store)
    try:
        async with vault.writing_in(store) as connection:
            store.subjects.create(connection, region, subject_id)
    except Exception:
        failed = caller.event(AuditAction.SUBJECT_CREATE, Outcome.FAILED, subject_id, reason="not created")
        await vault.audit.record(failed)
        raise
    return Created(id=subject_id)


@router.put("/{subject_id}/{collection}", summary="Write (replace) a subject's one-record collection")
async def write_collection(
    subject_id: SubjectId,
    collection: Collection,
    values: Annotated[dict[str, Any], Body(description="Field name -> value; fields left out are removed.")],
    caller: CallerDep,
) -> dict[str, Any]:
    return await _write(caller, subject_id, collection, values, many=False)


@router.post(
    "/{subject_id}/{collection}", status_code=201, summary="Add a record to a collection with many records"
)
async def add_record(
    subject_id: SubjectId,
    collection: Collection,
    values: Annotated[dict[str, Any], Body(description="Field name -> value.")],
    caller: CallerDep,
) -> dict[str, Any]:
    return await _write(caller, subject_id, collection, values, many=True)


@router.put("/{subject_id}/{collection}/{record_id}", summary="Replace one record of a collection with many")
async def replace_record(
    subject_id: SubjectId,
    collection: Collection,
    record_id: Annotated[str, Path(max_length=36)],
    values: Annotated[dict[str, Any], Body(description="Field name -> value; fields left out are removed.")],
    caller: CallerDep,
) -> dict[str, Any]:
    if not is_subject_id(record_id):  # record ids are random UUIDs too
        raise NotFound("no such record")
    return await _write(caller, subject_id, collection, values, many=True, record_id=record_id)


async def _write(
    caller: Caller,
    subject_id: str,
    collection: str,
    values: dict[str, Any],
    *,
    many: bool,
    record_id: str | None = None,
) -> dict[str, Any]:
    vault = caller.vault
    sid = _known_id(subject_id)
    await caller.require(Action.WRITE, AuditAction.RECORD_WRITE, sid)
    checked = vault.subjects.check_collection(collection, values)
    if vault.policy.collections[collection].multiple != many:
        holds, hint = (
            ("many records", "POST adds one, PUT …/{record_id} replaces one")
            if not many
            else ("one record", "PUT replaces it whole")
        )
        raise InvalidRequest(f"{collection} holds {holds} per subject: {hint}")
    store = vault.regions.of(sid)
    with read_connection(store.engine) as connection:
        if not store.subjects.exists(connection, sid):
            raise NotFound("no such subject")
    # Audit first: nothing is written that the log does not already hold.
    fields = tuple(f"{collection}.{name}" for name in checked)
    event = caller.event(AuditAction.RECORD_WRITE, Outcome.ALLOWED, sid, fields)
    await vault.audit.record(event)
    try:
        async with vault.writing_in(store) as connection:
            written = store.subjects.write(connection, sid, collection, checked, record_id)
    except Exception:
        await vault.audit.record(replace(event, outcome=Outcome.FAILED, reason="the write was rolled back"))
        raise
    answer = {"id": sid, "collection": collection, "fields": sorted(checked)}
    return {**answer, "record_id": written} if many else answer


@read_router.get("/{subject_id}", response_model=SubjectView, summary="Read a subject under a purpose")
async def read_subject(subject_id: SubjectId, purpose: Purpose, request: Request) -> JSONResponse:
    # The hottest route resolves its caller itself: as a FastAPI dependency it costs ~5% of the read.
    caller = await authenticated_caller(request)
    vault, policy = caller.vault, caller.vault.policy
    sid = _known_id(subject_id)
    try:
        permitted_purpose(caller.principal, purpose, policy)
        if caller.principal.only_subject is not None:  # a token narrowed to one subject (exchange)
            confine_to_subject(caller.principal, sid)
    except Forbidden as exc:
        await vault.audit.record(
            caller.event(AuditAction.RECORD_READ, Outcome.DENIED, sid, (), purpose, exc.detail)
        )
        raise
    store = vault.regions.of(sid)
    with read_connection(store.engine) as connection:
        needs_consent = policy.purposes[purpose].needs_consent
        consent = vault.consent.status(connection, sid, purpose) if needs_consent else None
        decision, result = store.subjects.read_deciding(
            connection,
            sid,
            purpose,
            lambda state: decide_access(caller.principal, purpose, policy, consent, state),
        )
    await caller.watch_read((sid,), 1)
    withheld = dict(decision.withheld)
    withheld.update(dict.fromkeys(result.integrity_failures, Withheld.INTEGRITY_ERROR))
    failed = bool(result.integrity_failures)
    await vault.audit.record(
        caller.event(AuditAction.RECORD_READ, Outcome.FAILED if failed else Outcome.ALLOWED, sid,
            result.fields(), purpose, "integrity check failed" if failed else None,
        )
    )  # fmt: skip
    return JSONResponse(
        {
            "id": sid,
            "purpose": purpose,
            "data": result.nested(),
            "withheld": [{"field": f, "reason": r.value} for f, r in withheld.items()],
        }
    )


@router.post("/lookup", summary="Find subjects by a searchable field (the value stays out of the URL)")
async def lookup(body: LookupRequest, caller: CallerDep) -> LookupResult:
    vault, policy = caller.vault, caller.vault.policy
    action, fields = AuditAction.SUBJECT_LOOKUP, (body.field,)
    try:
        permitted_purpose(caller.principal, body.purpose, policy)
        confine_to_subject(caller.principal, None)  # a lookup names no subject: never for a narrowed token
        if body.field not in policy.purpose_fields(body.purpose):
            raise Forbidden(f"purpose {body.purpose} does not cover {body.field}")
    except Forbidden as exc:
        await vault.audit.record(caller.event(action, Outcome.DENIED, None, fields, body.purpose, exc.detail))
        raise
    purpose = policy.purposes[body.purpose]
    ids: list[str] = []
    for store in vault.regions.all():  # every region: a subject is found wherever it lives
        with read_connection(store.engine) as connection:
            # A subject whose choices keep this purpose from their data is not found for it.
            ids += [
                i
                for i in store.subjects.lookup(connection, body.field, body.value)
                if subject_refusal(
                    purpose,
                    vault.consent.status(connection, i, body.purpose) if purpose.needs_consent else None,
                    store.subjects.state(connection, i, body.purpose),
                )
                is None
            ]
    ids.sort()
    if ids:
        await caller.watch_read(tuple(ids), len(ids))
    reason = f"{len(ids)} match(es)"
    await vault.audit.record(caller.event(action, Outcome.ALLOWED, None, fields, body.purpose, reason))
    return LookupResult(ids=ids)


def _known_id(subject_id: str) -> str:
    """Anything that is not a subject id cannot name one: answer 404 without touching the database."""
    if not is_subject_id(subject_id):
        raise NotFound("no such subject")
    return subject_id
