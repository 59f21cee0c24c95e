"""`GET /v1/ropa`: the records of processing activities (Art. 30), for roles with `records.read`.
They hold no personal data, but reading them is audited like every other privacy-team action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from dataward.api.deps import CallerDep
from dataward.audit import AuditAction, Outcome
from dataward.policy.models import Action
from dataward.policy.records import RecordsFormat, build_records, render_records

__all__ = ["router"]

router = APIRouter(tags=["records"])

_CONTENT: dict[str, dict[str, object]] = {"application/json": {}, "text/markdown": {}, "text/csv": {}}


@router.get(
    "/v1/ropa",
    summary="The records of processing activities (GDPR Art. 30), derived from the policy",
    response_class=Response,
    responses={200: {"content": _CONTENT, "description": "The records, in the format asked for."}},
)
async def records_of_processing(
    caller: CallerDep,
    fmt: Annotated[
        RecordsFormat,
        Query(alias="format", description="json, md (Markdown) or csv (one row per processing activity)."),
    ] = RecordsFormat.JSON,
) -> Response:
    tag = AuditAction.RECORDS_READ
    await caller.require(Action.RECORDS_READ, tag)
    await caller.vault.audit.record(caller.event(tag, Outcome.ALLOWED, reason=f"format {fmt.value}"))
    body = render_records(build_records(caller.vault.policy), fmt)
    filename = f'attachment; filename="records-of-processing.{fmt.value}"'
    headers = {"Content-Disposition": filename} if fmt is RecordsFormat.CSV else {}
    return Response(body, media_type=fmt.media_type, headers=headers)
