"""Breach sizing from the audit log: which subjects and fields did a client (or one of its tokens)
touch between two moments.

Only entries that touched personal data count as touched: reads, writes, lookups, rights reports
and erasures (`TOUCHING_ACTIONS`) that went ahead (`allowed`) or went wrong part-way (`failed`,
which may still have returned or written something). Refused attempts (`denied`) touched nothing;
they are counted apart, as attempts.

The database does the work: the filter runs on the `client_id` or `token_id` index, and the
counting (distinct subjects, entries per field) is done by SQL aggregates, so a window over a large
log never streams its rows through Python. A lookup's entry names the field searched but not the
subjects it found, so lookups add to a field's entries and never to its subjects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, cast, distinct, func, select
from sqlalchemy.dialects.postgresql import JSON

from dataward.audit.events import Outcome
from dataward.audit.tags import AuditAction
from dataward.errors import InvalidRequest, Problem
from dataward.storage.tables import audit_entries

__all__ = [
    "TOUCHING_ACTIONS",
    "AccessWindow",
    "ActionCount",
    "FieldCount",
    "Touched",
    "audit_time",
    "touched_by",
]

# The actions that reach personal data: reading it (an Art. 15/20 report is a read of everything),
# changing it, searching it, and destroying it (erasure, rectification: a breach of integrity or
# availability is a breach too). Anything else (tokens, consent, audit reads) is not counted.
TOUCHING_ACTIONS: frozenset[AuditAction] = frozenset(
    {
        AuditAction.RECORD_READ,
        AuditAction.RECORD_WRITE,
        AuditAction.SUBJECT_LOOKUP,
        AuditAction.RIGHTS_REPORT,
        AuditAction.RIGHTS_CARRY_OUT,
    }
)
_TOUCHED: tuple[str, ...] = (Outcome.ALLOWED.value, Outcome.FAILED.value)


def audit_time(moment: datetime) -> str:
    """A moment as the audit log stamps it (see `AuditLog._stamp`): ISO 8601 in UTC, to the
    microsecond. Stamps of this one shape sort as text in the order of time."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime names no moment")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class AccessWindow:
    """Whose access (a client, a token, or a token of that client) from `start` to `end`, both
    included. Times must carry a time zone."""

    client_id: str | None
    token_id: str | None
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        problems = []
        if not self.client_id and not self.token_id:
            problems.append(Problem("client_id", "name a client_id, a token_id, or both"))
        naive = [
            path for path, at in (("window_from", self.start), ("window_to", self.end)) if at.tzinfo is None
        ]
        problems += [Problem(path, "give a time zone, such as 2026-03-01T09:00:00Z") for path in naive]
        if not naive and self.end < self.start:
            problems.append(Problem("window_to", "window_to is before window_from"))
        if problems:
            raise InvalidRequest("the access window is not valid", problems)


@dataclass(frozen=True, slots=True)
class FieldCount:
    field: str  # `collection.field`
    entries: int  # entries that touched it (reads, writes and lookups)
    subjects: int  # distinct subjects it was touched for (lookups name none)


@dataclass(frozen=True, slots=True)
class ActionCount:
    action: str
    outcome: str
    entries: int


@dataclass(frozen=True, slots=True)
class Touched:
    """What the window's access reached."""

    window: AccessWindow
    subjects: int  # distinct subjects touched
    fields: tuple[FieldCount, ...]  # by field name
    actions: tuple[ActionCount, ...]  # every data action, denied ones included
    entries: int  # entries that touched data
    attempts: int  # refused attempts: they touched nothing
    first_at: str | None  # the first and last touch, as stamped
    last_at: str | None
    as_of_seq: int  # the newest entry counted in: the same question gives the same answer
    subject_ids: tuple[str, ...] | None = None  # sorted; only when asked for

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.window.client_id,
            "token_id": self.window.token_id,
            "window_from": audit_time(self.window.start),
            "window_to": audit_time(self.window.end),
            "subjects": self.subjects,
            "subject_ids": None if self.subject_ids is None else list(self.subject_ids),
            "fields": [{"field": f.field, "entries": f.entries, "subjects": f.subjects} for f in self.fields],
            "actions": [
                {"action": a.action, "outcome": a.outcome, "entries": a.entries} for a in self.actions
            ],
            "entries": self.entries,
            "attempts": self.attempts,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "as_of_seq": self.as_of_seq,
        }


def touched_by(connection: Connection, window: AccessWindow, *, subject_ids: bool = False) -> Touched:
    """Size what `window`'s client or token touched; with `subject_ids`, list the subjects too.

    Every count stops at the newest entry when the sizing began, so entries appended meanwhile
    never make the counts disagree with each other.
    """
    c = audit_entries.c
    as_of = int(connection.execute(select(func.coalesce(func.max(c.seq), 0))).scalar_one())
    scope = _scope(connection, window, as_of)
    actions = connection.execute(
        select(c.action, c.outcome, func.count(), func.min(c.at), func.max(c.at))
        .where(*scope)
        .group_by(c.action, c.outcome)
        .order_by(c.action, c.outcome)
    ).all()
    touched = [*scope, c.outcome.in_(_TOUCHED)]
    ids: tuple[str, ...] | None = None
    if subject_ids:
        query = select(c.subject_id).distinct().where(*touched, c.subject_id.is_not(None))
        ids = tuple(connection.execute(query.order_by(c.subject_id)).scalars())
        subjects = len(ids)
    else:
        query = select(func.count(distinct(c.subject_id))).where(*touched)
        subjects = int(connection.execute(query).scalar_one())
    fields = connection.execute(_per_field(connection, touched)).all()
    hits = [row for row in actions if row[1] in _TOUCHED]
    return Touched(
        window=window,
        subjects=subjects,
        fields=tuple(FieldCount(str(f), int(n), int(s)) for f, n, s in fields),
        actions=tuple(ActionCount(str(a), str(o), int(n)) for a, o, n, _, _ in actions),
        entries=sum(int(row[2]) for row in hits),
        attempts=sum(int(row[2]) for row in actions if row[1] == Outcome.DENIED),
        first_at=min((str(row[3]) for row in hits), default=None),
        last_at=max((str(row[4]) for row in hits), default=None),
        as_of_seq=as_of,
        subject_ids=ids,
    )


def _scope(connection: Connection, window: AccessWindow, as_of: int) -> list[ColumnElement[bool]]:
    """The window's data actions, up to entry `as_of`; found through the client or token index."""
    c = audit_entries.c
    at: ColumnElement[str] = c.at
    if connection.dialect.name == "postgresql":
        # Compare stamps byte by byte: a locale's collation may weigh punctuation differently.
        at = c.at.collate("C")
    scope = [c.action.in_(sorted(TOUCHING_ACTIONS)), at >= audit_time(window.start)]
    scope += [at <= audit_time(window.end), c.seq <= as_of]
    if window.client_id:
        scope.append(c.client_id == window.client_id)
    if window.token_id:
        scope.append(c.token_id == window.token_id)
    return scope


def _per_field(connection: Connection, where: Iterable[ColumnElement[bool]]) -> Select[Any]:
    """Entries and distinct subjects per field name, the `fields` JSON list unnested in SQL."""
    c = audit_entries.c
    if connection.dialect.name == "postgresql":
        unnest = func.json_array_elements_text(cast(c.fields, JSON))
    elif connection.dialect.name == "sqlite":
        unnest = func.json_each(c.fields)
    else:  # pragma: no cover - the storage layer speaks SQLite and PostgreSQL only
        raise NotImplementedError(connection.dialect.name)
    element = unnest.table_valued("value", joins_implicitly=True)
    return (
        select(element.c.value, func.count(), func.count(distinct(c.subject_id)))
        .select_from(audit_entries)
        .join(element, element.c.value.is_not(None))
        .where(*where)
        .group_by(element.c.value)
        .order_by(element.c.value)
    )
