"""The fictional staff of Acme HR, the company both scan targets serve, and their SQLite table.

Nobody here exists: e-mail addresses are on example.com (RFC 2606), telephone numbers lie in
555-0100..0199 (kept for fiction), and every national id has area number 000, which is never issued.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from fastapi import Request

__all__ = [
    "DEMO_PASSWORDS",
    "DEPARTMENTS",
    "STAFF",
    "StaffMember",
    "StaffTable",
    "StaffTableHolder",
    "store_of",
]


@dataclass(frozen=True, slots=True)
class StaffMember:
    full_name: str
    email: str
    phone: str
    date_of_birth: date
    department: str
    salary: int
    national_id: str
    username: str | None = None  # the three with a login
    password: str | None = None
    role: str = "employee"


STAFF = (
    StaffMember("Alice Example", "alice@example.com", "+1-202-555-0101", date(1990, 1, 1), "Engineering",
                72_000, "000-00-0001", "alice", "alice-password-1"),
    StaffMember("Bob Example", "bob@example.com", "+1-202-555-0102", date(1988, 2, 2), "Sales",
                64_000, "000-00-0002", "bob", "bob-password-2"),
    StaffMember("Ada Admin", "hr-admin@example.com", "+1-202-555-0103", date(1980, 3, 3), "People",
                80_000, "000-00-0003", "admin", "admin-password-0", role="admin"),
    StaffMember("Carol Example", "carol@example.com", "+1-202-555-0104", date(1992, 4, 4), "Finance",
                68_000, "000-00-0004"),
    StaffMember("Dan Example", "dan@example.com", "+1-202-555-0105", date(1985, 5, 5), "Engineering",
                75_000, "000-00-0005"),
)  # fmt: skip

DEMO_PASSWORDS = {m.username: m.password for m in STAFF if m.username and m.password}
DEPARTMENTS = tuple(sorted({m.department for m in STAFF}))


class StaffTable:
    """The staff in an in-memory SQLite database, one per app instance, opened at start-up.

    `ids` names each member of `STAFF` in turn (integers for one app, UUIDs for the other).
    Requests run in a thread pool, hence one lock around the one connection.
    """

    def __init__(self, ids: Sequence[int | str]) -> None:
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(":memory:", check_same_thread=False)
        self._connection.row_factory = sqlite3.Row
        with self._connection:
            self._connection.execute(
                "CREATE TABLE employees (id PRIMARY KEY, full_name TEXT, email TEXT, phone TEXT,"
                " date_of_birth TEXT, department TEXT, salary INTEGER, national_id TEXT, username TEXT)"
            )
            self._connection.executemany(
                "INSERT INTO employees VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (i, m.full_name, m.email, m.phone, m.date_of_birth.isoformat(), m.department,
                     m.salary, m.national_id, m.username)
                    for i, m in zip(ids, STAFF, strict=True)
                ],
            )  # fmt: skip

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection.execute(sql, parameters).fetchall()
        return [dict(row) for row in rows]

    def close(self) -> None:
        self._connection.close()


_Store = TypeVar("_Store")


class StaffTableHolder:
    """What both apps' stores share: the staff table, open while the app runs."""

    staff: StaffTable | None

    def staff_ids(self) -> Sequence[int | str]:
        raise NotImplementedError

    def open(self) -> None:
        self.staff = StaffTable(ids=self.staff_ids())

    def close(self) -> None:
        if self.staff is not None:
            self.staff.close()
            self.staff = None

    def table(self) -> StaffTable:
        if self.staff is None:
            raise RuntimeError("the staff table opens with the app: use `with TestClient(app)`")
        return self.staff


def store_of(request: Request, kind: type[_Store]) -> _Store:
    """The app's store, of the kind its routes expect."""
    store = request.app.state.store
    if not isinstance(store, kind):
        raise TypeError(f"app.state.store is not a {kind.__name__}")
    return store
