"""The clean Acme HR's administration, all under `/admin/` and all asking for the "admin" scope,
which no everyday operation asks for."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from scan_targets._clean_auth import AdminCaller, Store
from scan_targets._clean_http import PII, Cursor, Limit, answers, page, purpose, rate_limited
from scan_targets._clean_staff import EmployeeRecord, employee_rows

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"])

HR = "hr-administration"
# One DNS name (RFC 1123 labels); the host goes nowhere near a shell.
HOSTNAME = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"


class AccountView(BaseModel):
    username: Annotated[str, Field(json_schema_extra=PII)]
    display_name: Annotated[str, Field(json_schema_extra=PII)]
    role: Literal["employee", "admin"]


class AccountPage(BaseModel):
    items: list[AccountView]
    next_cursor: str | None


class EmployeePage(BaseModel):
    items: list[EmployeeRecord]
    next_cursor: str | None


class Ping(BaseModel):
    host: str
    output: str


@router.get(
    "/users",
    responses=answers(401, 403, 422),
    openapi_extra=purpose(HR),
    dependencies=[Depends(rate_limited("accounts"))],
)
def list_accounts(store: Store, caller: AdminCaller, limit: Limit = 50, cursor: Cursor = None) -> AccountPage:
    views = [
        AccountView.model_validate({"username": a.username, "display_name": a.display_name, "role": a.role})
        for a in store.accounts.values()
    ]
    items, next_cursor = page(views, limit, cursor)
    return AccountPage(items=items, next_cursor=next_cursor)


@router.get(
    "/employees/export",
    responses=answers(401, 403, 422),
    openapi_extra=purpose(HR),
    dependencies=[Depends(rate_limited("export"))],
)
def export_employees(
    store: Store, caller: AdminCaller, limit: Limit = 50, cursor: Cursor = None
) -> EmployeePage:
    """A page of full employee records, for HR administrators only (and rate limited)."""
    records = [EmployeeRecord.model_validate(row) for row in employee_rows(store)]
    items, next_cursor = page(records, limit, cursor)
    return EmployeePage(items=items, next_cursor=next_cursor)


@router.get("/tools/ping", responses=answers(401, 403, 422))
def ping(caller: AdminCaller, host: Annotated[str, Query(max_length=253, pattern=HOSTNAME)]) -> Ping:
    return Ping(host=host, output=f"pinging {host}")
