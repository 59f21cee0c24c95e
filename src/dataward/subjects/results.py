"""What the subject service answers: a subject's state, a read's values, an erasure's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataward.subjects.values import Value

__all__ = ["Erasure", "ReadResult", "SubjectState"]


@dataclass(frozen=True, slots=True)
class SubjectState:
    """What the subject has asked for that bears on a read under one purpose."""

    restricted: bool = False  # Art. 18: only legal claims may use the data
    erased: bool = False  # Art. 17: only what a legal obligation keeps remains
    objected: bool = False  # Art. 21: the subject objected to this purpose


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure removed, and what a legal obligation keeps (restricted to that purpose)."""

    removed: list[str]  # `collection.field` paths
    kept: list[str]
    kept_for: list[str]  # the purposes that keep them


@dataclass(frozen=True, slots=True)
class ReadResult:
    values: dict[str, Value] = field(default_factory=dict)  # `collection.field` -> value
    # collections with many records: collection -> record id -> field -> value, oldest record first
    many: dict[str, dict[str, dict[str, Value]]] = field(default_factory=dict)
    integrity_failures: list[str] = field(default_factory=list)

    def nested(self) -> dict[str, Any]:
        """{collection: {field: value}}, and {collection: [{"id": record id, field: value}]} for
        collections with many records."""
        out: dict[str, Any] = {}
        for path, value in self.values.items():
            collection, _, name = path.partition(".")
            out.setdefault(collection, {})[name] = value
        for collection, by_record in self.many.items():
            out[collection] = [{"id": record_id, **values} for record_id, values in by_record.items()]
        return out

    def values_of(self, collection: str) -> dict[str, Value]:
        """A one-record collection's values, by field name."""
        prefix = f"{collection}."
        return {path.removeprefix(prefix): v for path, v in self.values.items() if path.startswith(prefix)}

    def fields(self) -> tuple[str, ...]:
        """The `collection.field` paths returned (for the audit entry: names, never values)."""
        many = {f"{c}.{name}" for c, by_record in self.many.items() for v in by_record.values() for name in v}
        return (*self.values, *sorted(many))
