"""The clean Acme HR's staff: employee records (one's own, or any for HR admins), the search, sick
leave, the directory, departments, reports and webhooks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from scan_targets._clean_auth import Caller, Store
from scan_targets._clean_http import PII, Cursor, Limit, answers, page, purpose, rate_limited
from scan_targets._clean_state import Account
from scan_targets._people import DEPARTMENTS

__all__ = ["EmployeeRecord", "employee_rows", "router"]

router = APIRouter()

HR = "hr-administration"
EmployeeId = Annotated[uuid.UUID, Path(description="An employee's id")]
Name = Annotated[str, Field(max_length=100, json_schema_extra=PII)]
Email = Annotated[str, Field(max_length=254, json_schema_extra=PII)]
Phone = Annotated[str, Field(max_length=30, json_schema_extra=PII)]


class EmployeeRecord(BaseModel):
    id: uuid.UUID
    full_name: Name
    email: Email
    phone: Phone
    date_of_birth: Annotated[date, Field(json_schema_extra=PII)]
    department: str


class EmployeeSearch(BaseModel):
    """Personal data to search by travels in the body, never in the URL."""

    model_config = ConfigDict(extra="forbid")

    name_contains: Annotated[str, Field(min_length=1, max_length=100, json_schema_extra=PII)] | None = None
    email: Email | None = None
    limit: int = Field(20, ge=1, le=100)


class EmployeeHit(BaseModel):
    id: uuid.UUID
    full_name: Name
    department: str


class EmployeeHits(BaseModel):
    items: list[EmployeeHit]


class SickLeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: date
    days: int = Field(ge=1, le=365)
    health_condition: str = Field(min_length=1, max_length=200, json_schema_extra=PII)


class SickLeave(BaseModel):
    id: uuid.UUID
    employee_id: uuid.UUID
    start: date
    days: int
    health_condition: Annotated[str, Field(json_schema_extra=PII)]


class DirectoryEntry(BaseModel):
    id: uuid.UUID
    full_name: Name
    email: Email
    phone: Phone
    department: str


class DirectoryPage(BaseModel):
    items: list[DirectoryEntry]
    next_cursor: str | None


class DepartmentPage(BaseModel):
    items: list[str]
    next_cursor: str | None


def employee_rows(store: Store, where: str = "", parameters: tuple[object, ...] = ()) -> list[dict[str, Any]]:
    sql = f"SELECT id, full_name, email, phone, date_of_birth, department FROM employees {where}"
    return store.table().query(f"{sql} ORDER BY full_name", parameters)


def _reachable(employee_id: uuid.UUID, caller: Account) -> None:
    if str(employee_id) != caller.employee_id and caller.role != "admin":
        raise HTTPException(404, "No such employee.")


# -- employees --------------------------------------------------------------------------------


@router.post(
    "/employees/search",
    responses=answers(401, 403, 422),
    openapi_extra=purpose(HR),
    dependencies=[Depends(rate_limited("search"))],
    tags=["employees"],
)
def search_employees(body: EmployeeSearch, store: Store, caller: Caller) -> EmployeeHits:
    clauses, parameters = [], []
    if body.name_contains:
        escaped = body.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("full_name LIKE ? ESCAPE '\\'")
        parameters.append(f"%{escaped}%")
    if body.email:
        clauses.append("email = ?")
        parameters.append(body.email)
    if not clauses:
        raise HTTPException(422, "Search by name_contains, email or both.")
    rows = employee_rows(store, "WHERE " + " AND ".join(clauses), tuple(parameters))
    return EmployeeHits(items=[EmployeeHit.model_validate(row) for row in rows[: body.limit]])


@router.get(
    "/employees/{employee_id}",
    responses=answers(401, 403, 404, 422),
    openapi_extra=purpose(HR),
    tags=["employees"],
)
def read_employee(employee_id: EmployeeId, store: Store, caller: Caller) -> EmployeeRecord:
    _reachable(employee_id, caller)
    rows = employee_rows(store, "WHERE id = ?", (str(employee_id),))
    if not rows:
        raise HTTPException(404, "No such employee.")
    return EmployeeRecord.model_validate(rows[0])


@router.post(
    "/employees/{employee_id}/sick-leave",
    status_code=201,
    responses=answers(401, 403, 404, 422),
    openapi_extra=purpose("sick-leave"),
    tags=["employees"],
)
def report_sick_leave(employee_id: EmployeeId, body: SickLeaveIn, store: Store, caller: Caller) -> SickLeave:
    _reachable(employee_id, caller)
    leave = SickLeave(id=uuid.uuid4(), employee_id=employee_id, **body.model_dump())
    store.sick_leave.append(leave.model_dump())
    return leave


# -- the directory and departments ------------------------------------------------------------

_OUR_ORIGIN = {
    "description": "Only the HR web app",
    "schema": {"type": "string", "enum": ["https://hr.acme.example"]},
}


@router.get(
    "/directory",
    responses={200: {"headers": {"Access-Control-Allow-Origin": _OUR_ORIGIN}}, **answers(401, 403, 422)},
    openapi_extra=purpose("staff-directory"),
    dependencies=[Depends(rate_limited("directory"))],
    tags=["directory"],
)
def directory(store: Store, caller: Caller, limit: Limit = 50, cursor: Cursor = None) -> DirectoryPage:
    entries = [DirectoryEntry.model_validate(row) for row in employee_rows(store)]
    items, next_cursor = page(entries, limit, cursor)
    return DirectoryPage(items=items, next_cursor=next_cursor)


@router.get(
    "/departments",
    responses=answers(401, 403, 422),
    dependencies=[Depends(rate_limited("departments"))],
    tags=["directory"],
)
def list_departments(caller: Caller, limit: Limit = 50, cursor: Cursor = None) -> DepartmentPage:
    items, next_cursor = page(DEPARTMENTS, limit, cursor)
    return DepartmentPage(items=items, next_cursor=next_cursor)


# -- reports (counts, never people) -----------------------------------------------------------


@router.get("/reports/headcount", responses=answers(401, 403), tags=["reports"])
def headcount(store: Store, caller: Caller) -> dict[str, int]:
    rows = store.table().query("SELECT department, COUNT(*) AS n FROM employees GROUP BY department")
    return {row["department"]: row["n"] for row in rows}


@router.get("/reports/salary-bands", responses=answers(401, 403, 422), tags=["reports"])
def salary_bands(
    store: Store, caller: Caller, bands: Annotated[int, Query(ge=1, le=20)] = 4
) -> dict[str, int]:
    """Employees per salary band, keyed "low-high"."""
    amounts = [row["salary"] for row in store.table().query("SELECT salary FROM employees")]
    low, width = min(amounts), (max(amounts) - min(amounts)) // bands + 1
    edges = [(low + i * width, low + (i + 1) * width - 1) for i in range(bands)]
    return {f"{a}-{b}": sum(a <= s <= b for s in amounts) for a, b in edges}


# -- webhooks: receivers get an id and fetch what they may see --------------------------------

Event = Literal["employee.updated", "employee.left"]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str = Field(max_length=500, pattern=r"^https://hooks\.acme\.example/[A-Za-z0-9/_-]{0,400}$")
    events: list[Event] = Field(min_length=1, max_length=2)


class Subscription(BaseModel):
    id: uuid.UUID
    callback_url: str
    events: list[Event]


class EmployeeEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: Event
    employee_id: uuid.UUID
    occurred_at: datetime


events = APIRouter()


@events.post("{$request.body#/callback_url}", status_code=204, responses=answers(422))
def employee_event(body: EmployeeEvent) -> None:
    """What Acme HR posts to a subscriber: which employee, what happened, nothing more."""


@router.post(
    "/webhooks", status_code=201, responses=answers(401, 403, 422), callbacks=events.routes, tags=["webhooks"]
)
def subscribe(body: WebhookIn, store: Store, caller: Caller) -> Subscription:
    subscription = Subscription(id=uuid.uuid4(), callback_url=body.callback_url, events=body.events)
    store.subscriptions.append(subscription.model_dump())
    return subscription
