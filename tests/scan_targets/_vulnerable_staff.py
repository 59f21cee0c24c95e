"""The vulnerable Acme HR's staff: employees, the directory, reports, webhooks, tools and admin."""

from __future__ import annotations

import subprocess
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Security
from pydantic import BaseModel

from scan_targets._people import DEPARTMENTS
from scan_targets._vulnerable_auth import (
    REPORTS_API_KEY,
    BasicCaller,
    Caller,
    ReportsKey,
    Store,
    bearer,
)
from scan_targets._vulnerable_state import WEAK_SECRET

__all__ = ["router"]

router = APIRouter()

_EMPLOYEE = "SELECT id, full_name, email, phone, date_of_birth, department FROM employees"


class Employee(BaseModel):
    id: int
    full_name: str
    email: str
    phone: str
    date_of_birth: date
    department: str


class EmployeeRecord(Employee):
    salary: int


class EmployeeHit(BaseModel):
    id: int
    full_name: str
    department: str


class SickLeaveIn(BaseModel):
    start: date
    days: int
    health_condition: str


class SickLeave(BaseModel):
    employee_id: int
    start: date
    days: int
    health_condition: str


class DirectoryEntry(BaseModel):
    full_name: str
    email: str
    phone: str
    department: str


class DepartmentSalaries(BaseModel):
    department: str
    total: int


class SalaryBand(BaseModel):
    low: int
    high: int
    employees: int


class Ping(BaseModel):
    host: str
    output: str


class Webhook(BaseModel):
    id: int
    callback_url: str


class EmployeeChanged(BaseModel):
    event: str
    employee_id: int
    full_name: str
    email: str
    phone: str


class Account(BaseModel):
    username: str
    display_name: str
    email: str
    role: str
    is_admin: bool
    password_hash: str  # plants: API3-SECRET-IN-RESPONSE


class Metrics(BaseModel):
    documents: int
    accounts: int
    webhooks: int


# -- employees (the specific paths first: `{employee_id}` would swallow them) ------------------


@router.get("/employees/search", tags=["employees"])  # plants: API4-STRING-NO-MAXLENGTH
def search_employees(q: str, store: Store, caller: Caller) -> list[EmployeeHit]:
    # plants: API8-INJECTION (SQL: a quote answers 500 with SQLite's message, `' OR 1=1 --` all rows)
    sql = f"SELECT id, full_name, department FROM employees WHERE full_name LIKE '%{q}%'"
    return [EmployeeHit.model_validate(row) for row in store.table().query(sql)]


@router.get("/employees/by-email/{email}", tags=["employees"])  # plants: GDPR-PII-IN-URL
def find_employee_by_email(email: str, store: Store, caller: Caller) -> Employee:
    rows = store.table().query(f"{_EMPLOYEE} WHERE email = ?", [email])
    if not rows:
        raise HTTPException(404, "no such employee")
    return Employee.model_validate(rows[0])


@router.get("/employees/export", tags=["employees"])  # plants: GDPR-BULK-EXPORT
def export_employees(store: Store, caller: Caller) -> list[EmployeeRecord]:
    rows = store.table().query("SELECT * FROM employees")
    return [EmployeeRecord.model_validate(row) for row in rows]


# plants: API1-UNPROTECTED-OBJECT, API3-PERSONAL-DATA-NO-PURPOSE
@router.get("/employees/{employee_id}", tags=["employees"])
def read_employee(employee_id: int, store: Store) -> Employee:
    rows = store.table().query(f"{_EMPLOYEE} WHERE id = ?", [employee_id])
    if not rows:
        raise HTTPException(404, "no such employee")
    return Employee.model_validate(rows[0])


# plants: GDPR-SPECIAL-CATEGORY (health data, no purpose declared)
@router.post("/employees/{employee_id}/sick-leave", status_code=201, tags=["employees"])
def report_sick_leave(employee_id: int, body: SickLeaveIn, store: Store, caller: Caller) -> SickLeave:
    leave = SickLeave(employee_id=employee_id, **body.model_dump())
    store.sick_leave.append(leave.model_dump())
    return leave


# -- the directory, in two versions -----------------------------------------------------------


def _directory(store: Store) -> list[DirectoryEntry]:
    rows = store.table().query("SELECT full_name, email, phone, department FROM employees")
    return [DirectoryEntry.model_validate(row) for row in rows]


@router.get("/v1/directory", deprecated=True, tags=["directory"])  # plants: API9-DEPRECATED
def directory_v1(store: Store, caller: Caller) -> list[DirectoryEntry]:  # plants: API9-OLD-VERSION
    return _directory(store)


_ANY_ORIGIN = {"description": "Any site may read this", "schema": {"type": "string", "enum": ["*"]}}


# plants: API2-NO-TOKEN-ACCEPTED (the spec asks for a bearer token; nobody looks at it)
@router.get(
    "/v2/directory",
    dependencies=[Security(bearer, scopes=["hr"])],
    responses={
        200: {"headers": {"Access-Control-Allow-Origin": _ANY_ORIGIN}}
    },  # plants: API8-PERMISSIVE-CORS
    tags=["directory"],
)
def directory_v2(store: Store) -> list[DirectoryEntry]:
    return _directory(store)


@router.get("/departments", tags=["directory"])  # plants: API2-NO-SECURITY
def list_departments() -> list[str]:
    return list(DEPARTMENTS)


# -- reports ----------------------------------------------------------------------------------


@router.get("/reports/headcount", tags=["reports"])
def headcount(store: Store, caller: BasicCaller) -> dict[str, int]:
    rows = store.table().query("SELECT department, COUNT(*) AS n FROM employees GROUP BY department")
    return {row["department"]: row["n"] for row in rows}


@router.get("/reports/salaries", tags=["reports"])
def salaries(store: Store, key: ReportsKey) -> list[DepartmentSalaries]:
    if key != REPORTS_API_KEY:
        raise HTTPException(401, "wrong API key")
    sql = "SELECT department, SUM(salary) AS total FROM employees GROUP BY department"
    return [DepartmentSalaries.model_validate(row) for row in store.table().query(sql)]


# plants: API4-NUMBER-UNBOUNDED, API8-SERVER-ERROR (bands=0 divides by zero: an unhandled 500)
@router.get("/reports/salary-bands", tags=["reports"])
def salary_bands(store: Store, caller: Caller, bands: int = 4) -> list[SalaryBand]:
    amounts = [row["salary"] for row in store.table().query("SELECT salary FROM employees")]
    low, width = min(amounts), (max(amounts) - min(amounts)) // bands + 1
    edges = [(low + i * width, low + (i + 1) * width - 1) for i in range(bands)]
    return [SalaryBand(low=a, high=b, employees=sum(a <= s <= b for s in amounts)) for a, b in edges]


# -- tools, webhooks, admin -------------------------------------------------------------------


@router.get("/tools/ping", tags=["tools"])
def ping(host: str, caller: Caller) -> Ping:
    # plants: API8-INJECTION (a shell sees the host: `127.0.0.1; id` runs `id`)
    done = subprocess.run(
        ["sh", "-c", f"echo pinging {host}"], timeout=5, capture_output=True, text=True, check=False
    )
    return Ping(host=host, output=done.stdout)


events = APIRouter()


# plants: GDPR-CALLBACK-PERSONAL-DATA (name, e-mail and phone go to whatever URL was given)
@events.post("{$request.query.callback_url}")
def employee_changed(body: EmployeeChanged) -> None:
    """What Acme HR posts to a subscriber when an employee changes."""


@router.post("/webhooks", status_code=201, callbacks=events.routes, tags=["webhooks"])
def subscribe(callback_url: str, store: Store, caller: Caller) -> Webhook:  # plants: API7-URL-PARAMETER
    webhook = Webhook(id=len(store.webhooks) + 1, callback_url=callback_url)
    store.webhooks.append(webhook.model_dump())
    return webhook


# plants: API5-ADMIN-SHARED-SCOPES (scope "hr", as everywhere), API5-ADMIN-REACHABLE (no role check)
@router.get("/admin/users", tags=["admin"])
def list_accounts(store: Store, caller: Caller) -> list[Account]:
    return [Account.model_validate(a) for a in store.accounts.values()]


@router.get("/internal/metrics", tags=["ops"])  # plants: API9-INTERNAL-PATH
def metrics(store: Store) -> Metrics:
    return Metrics(documents=len(store.documents), accounts=len(store.accounts), webhooks=len(store.webhooks))


# -- left out of the spec, still answering: plants: API9-SHADOW-ENDPOINT -----------------------


@router.get("/debug/config", include_in_schema=False)
def debug_config() -> dict[str, Any]:
    return {"debug": True, "jwt_secret": WEAK_SECRET.decode(), "database": "sqlite://:memory:"}


@router.get("/old/api/employees", include_in_schema=False)
def old_employees(store: Store) -> list[dict[str, Any]]:
    return store.table().query("SELECT * FROM employees")


@router.get("/admin/backup", include_in_schema=False)
def backup(store: Store) -> dict[str, Any]:
    return {"accounts": list(store.accounts.values()), "documents": list(store.documents.values())}
