"""Statements compiled once and run on the driver's own cursor.

For the two hottest statements only (the subject read and the audit insert): there SQLAlchemy's
per-execution work costs more than the query itself. The statement is still written with
SQLAlchemy Core, compiled for whichever dialect the connection speaks, and runs inside the
connection's current transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["RawStatement"]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # bind names in order, for positional drivers (SQLite)
    defaults: dict[str, Any]

    def bind(self, params: Mapping[str, Any]) -> Any:
        if self.defaults:
            params = {**self.defaults, **params}
        return tuple(params[name] for name in self.order) if self.order is not None else params


class RawStatement:
    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            # Values fixed in the statement itself (LIMIT 1, `id = 1`) are binds with defaults.
            defaults = {k: v for k, v in compiled.params.items() if v is not None}
            found = self._compiled[dialect.name] = _Compiled(str(compiled), order, defaults)
        return found

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        compiled = self._for(connection.dialect)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, compiled.bind(params))
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
        return rows

    def run(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; return how many rows it changed."""
        compiled = self._for(connection.dialect)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, compiled.bind(params))
            count: int = cursor.rowcount
        finally:
            cursor.close()
        return count

    def many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        compiled = self._for(connection.dialect)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(compiled.sql, [compiled.bind(row) for row in rows])
        finally:
            cursor.close()
