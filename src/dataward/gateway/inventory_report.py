"""The endpoint inventory as a report: the counts `InventoryRecorder` wrote to `gateway_endpoints`,
held against the spec. `build_inventory` classifies every method and path:

- documented: in the spec, and called;
- shadow: called, and not in the spec (or the method is not declared for the path);
- zombie: deprecated in the spec, and still called;
- orphan: in the spec, and never called.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select

from dataward.clock import as_utc
from dataward.gateway.spec import Spec
from dataward.storage.engine import read_connection
from dataward.storage.tables import gateway_endpoints

__all__ = [
    "Authentication",
    "EndpointClass",
    "EndpointRow",
    "Inventory",
    "InventoryEntry",
    "build_inventory",
    "inventory_as_json",
    "load_endpoint_rows",
]


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """One row of `gateway_endpoints`."""

    method: str
    path: str
    documented: bool
    first_seen: datetime
    last_seen: datetime
    hits: int
    authenticated_hits: int
    statuses: Mapping[int, int]


def load_endpoint_rows(engine: Engine) -> list[EndpointRow]:
    with read_connection(engine) as connection:
        rows = connection.execute(select(gateway_endpoints)).all()
    return [
        EndpointRow(
            method=row.method,
            path=row.path,
            documented=bool(row.documented),
            first_seen=as_utc(row.first_seen),
            last_seen=as_utc(row.last_seen),
            hits=int(row.hits),
            authenticated_hits=int(row.authenticated_hits),
            statuses={int(k): int(v) for k, v in json.loads(row.statuses).items()},
        )
        for row in rows
    ]


class EndpointClass(StrEnum):
    SHADOW = "shadow"
    ZOMBIE = "zombie"
    ORPHAN = "orphan"
    DOCUMENTED = "documented"


class Authentication(StrEnum):
    """How many of an endpoint's calls carried a valid token."""

    ALL = "all"
    SOME = "some"
    NONE = "none"
    NEVER_CALLED = "never called"


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    method: str
    path: str
    kind: EndpointClass
    operation_id: str | None = None  # in the spec only
    deprecated: bool = False
    public: bool | None = None  # the spec's security: None for what the spec does not know
    purposes: tuple[str, ...] = ()
    hits: int = 0
    authenticated_hits: int = 0
    statuses: Mapping[int, int] = field(default_factory=dict)
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def authentication(self) -> Authentication:
        if not self.hits:
            return Authentication.NEVER_CALLED
        if self.authenticated_hits >= self.hits:
            return Authentication.ALL
        return Authentication.SOME if self.authenticated_hits else Authentication.NONE


@dataclass(frozen=True, slots=True)
class Inventory:
    title: str  # the spec's
    version: str
    generated_at: datetime
    entries: tuple[InventoryEntry, ...]

    def of(self, kind: EndpointClass) -> list[InventoryEntry]:
        return [e for e in self.entries if e.kind is kind]

    @property
    def counts(self) -> dict[EndpointClass, int]:
        return {kind: len(self.of(kind)) for kind in EndpointClass}


def build_inventory(spec: Spec, rows: Iterable[EndpointRow], *, generated_at: datetime) -> Inventory:
    """Every operation of the spec and every row seen, each in exactly one class."""
    seen = {(row.method, row.path): row for row in rows}
    entries: list[InventoryEntry] = []
    for op in spec.operations:
        row = seen.pop((op.method, op.path), None)
        called = row is not None and row.hits > 0
        kind = (
            (EndpointClass.ZOMBIE if op.deprecated else EndpointClass.DOCUMENTED)
            if called
            else EndpointClass.ORPHAN
        )
        entries.append(
            InventoryEntry(
                method=op.method,
                path=op.path,
                kind=kind,
                operation_id=op.operation_id,
                deprecated=op.deprecated,
                public=op.public,
                purposes=op.purposes,
                **(_counts(row) if row is not None else {}),
            )
        )
    entries.extend(
        InventoryEntry(method=row.method, path=row.path, kind=EndpointClass.SHADOW, **_counts(row))
        for row in seen.values()
    )
    order = list(EndpointClass)
    entries.sort(
        key=lambda e: (
            order.index(e.kind),
            -e.hits if e.kind is not EndpointClass.DOCUMENTED else 0,
            e.path,
            e.method,
        )
    )
    return Inventory(
        title=spec.title, version=spec.version, generated_at=generated_at, entries=tuple(entries)
    )


def _counts(row: EndpointRow) -> dict[str, Any]:
    return {
        "hits": row.hits,
        "authenticated_hits": row.authenticated_hits,
        "statuses": dict(sorted(row.statuses.items())),
        "first_seen": row.first_seen,
        "last_seen": row.last_seen,
    }


def inventory_as_json(inventory: Inventory) -> dict[str, Any]:
    """The inventory as plain JSON-ready data (`dataward gateway inventory --json`)."""
    return {
        "spec": {"title": inventory.title, "version": inventory.version},
        "generated_at": inventory.generated_at.isoformat(),
        "counts": {kind.value: count for kind, count in inventory.counts.items()},
        "endpoints": [_entry_json(e) for e in inventory.entries],
    }


def _entry_json(entry: InventoryEntry) -> dict[str, Any]:
    return {
        "method": entry.method,
        "path": entry.path,
        "class": entry.kind.value,
        "operation_id": entry.operation_id,
        "deprecated": entry.deprecated,
        "public": entry.public,
        "purposes": list(entry.purposes),
        "hits": entry.hits,
        "authenticated_hits": entry.authenticated_hits,
        "authentication": entry.authentication.value,
        "statuses": {str(k): v for k, v in entry.statuses.items()},
        "first_seen": entry.first_seen.isoformat() if entry.first_seen else None,
        "last_seen": entry.last_seen.isoformat() if entry.last_seen else None,
    }
