"""The breach register (GDPR Art. 33): what happened, since when the controller knows, whether and
when the supervisory authority was told, and how large the breach is.

Awareness starts a 72-hour clock (Art. 33(1)); the clock stops when the authority is notified, or
when the incident is closed without notification (the controller found no risk to report). The
size of a breach is never stored: it is recomputed from the audit log on every look (see
`dataward.audit.query`), so a late-arriving entry or a widened window shows at once.

The register keeps no subject ids and no values: a title and a description (written by people, so
they are told not to put personal data there), ids of clients and tokens, and times.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dataward.audit.query import AccessWindow, Touched, touched_by
from dataward.clock import Clock, as_utc
from dataward.errors import Conflict, InvalidRequest, NotFound, Problem
from dataward.policy import Policy
from dataward.storage.tables import incidents

__all__ = [
    "NOTIFICATION_DEADLINE",
    "FieldExposure",
    "Incident",
    "IncidentRegister",
    "NotificationClock",
    "Sizing",
    "changes",
    "exposures",
]

NOTIFICATION_DEADLINE = timedelta(hours=72)  # Art. 33(1): "not later than 72 hours after" awareness

_TITLE_MAX = 255
_ID_MAX = 64


@dataclass(frozen=True, slots=True)
class NotificationClock:
    deadline: datetime
    seconds_remaining: int | None  # while the clock runs; None once it stopped
    overdue: bool  # it stopped, or still runs, past the deadline
    stopped_at: datetime | None  # the notification, else the closing


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    description: str | None
    client_id: str | None
    token_id: str | None
    window_from: datetime
    window_to: datetime
    aware_at: datetime
    opened_by: str
    notified_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def window(self) -> AccessWindow:
        return AccessWindow(self.client_id, self.token_id, self.window_from, self.window_to)

    @property
    def deadline(self) -> datetime:
        return self.aware_at + NOTIFICATION_DEADLINE

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def clock(self, now: datetime) -> NotificationClock:
        """The notification clock as it stands at `now`."""
        stopped_at = self.notified_at or self.closed_at
        remaining = None
        if stopped_at is None:
            remaining = max(0, int((self.deadline - now).total_seconds()))
        return NotificationClock(self.deadline, remaining, (stopped_at or now) > self.deadline, stopped_at)


@dataclass(frozen=True, slots=True)
class FieldExposure:
    """A field the breach reached, with its data category as the policy declares it (Art. 33(3)(a))."""

    field: str
    category: str | None  # None: the field is no longer in the policy
    special_category: bool  # Art. 9 data: a higher risk to the subjects
    entries: int
    subjects: int


@dataclass(frozen=True, slots=True)
class Sizing:
    touched: Touched
    fields: tuple[FieldExposure, ...]
    computed_at: datetime


class IncidentRegister:
    """Opens, reads, lists and updates incidents. Writes take the connection of a write transaction."""

    def __init__(self, policy: Policy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock

    def draft(
        self,
        *,
        title: str,
        client_id: str | None,
        token_id: str | None,
        window_from: datetime,
        window_to: datetime,
        opened_by: str,
        description: str | None = None,
        aware_at: datetime | None = None,
    ) -> Incident:
        """A new, checked incident with its id, not yet stored (so its opening can be audited first).
        Awareness defaults to now."""
        problems = []
        title = title.strip()
        if not title or len(title) > _TITLE_MAX:
            problems.append(Problem("title", f"give a title of 1-{_TITLE_MAX} characters"))
        for path, value in (("client_id", client_id), ("token_id", token_id)):
            if value is not None and len(value) > _ID_MAX:
                problems.append(Problem(path, f"longer than {_ID_MAX} characters: no such id"))
        now = self._clock.now()
        if aware_at is not None and aware_at.tzinfo is None:
            problems.append(Problem("aware_at", "give a time zone, such as 2026-03-01T09:00:00Z"))
        elif aware_at is not None and aware_at > now:
            problems.append(Problem("aware_at", "is in the future"))
        try:
            AccessWindow(client_id or None, token_id or None, window_from, window_to)
        except InvalidRequest as exc:
            problems += exc.errors
        if problems:
            raise InvalidRequest("the incident cannot be opened", problems)
        return Incident(
            id=str(uuid.uuid4()),
            title=title,
            description=(description or "").strip() or None,
            client_id=client_id or None,
            token_id=token_id or None,
            window_from=_utc(window_from),
            window_to=_utc(window_to),
            aware_at=_utc(aware_at or now),
            opened_by=opened_by,
        )

    def add(self, connection: Connection, incident: Incident) -> None:
        connection.execute(insert(incidents).values(_row(incident)))

    def get(self, connection: Connection, incident_id: str, *, for_update: bool = False) -> Incident:
        if not _is_id(incident_id):
            raise NotFound("no such incident")
        query = select(incidents).where(incidents.c.id == incident_id)
        row = connection.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound("no such incident")
        return _incident(row)

    def list(self, connection: Connection) -> list[Incident]:
        """Every incident: open ones first, the nearest deadline first; then closed ones, the most
        recently closed first."""
        found = [_incident(row) for row in connection.execute(select(incidents))]
        opened = sorted((i for i in found if i.is_open), key=lambda i: (i.aware_at, i.id))
        closed = sorted(
            (i for i in found if not i.is_open), key=lambda i: (i.closed_at or i.aware_at, i.id), reverse=True
        )
        return opened + closed

    def revise(
        self, incident: Incident, *, notified_at: datetime | None = None, closed: bool | None = None
    ) -> Incident:
        """The incident with the authority's notification recorded and/or closed (`closed=True`) or
        reopened (`closed=False`); not yet stored. Saying again what is recorded changes nothing; a
        different notification time is a conflict (the first one stands)."""
        if notified_at is None and closed is None:
            raise InvalidRequest("nothing to change", [Problem("", "give notified_at, closed or both")])
        now = self._clock.now()
        revised = incident
        if notified_at is not None:
            revised = replace(revised, notified_at=self._notified(incident, notified_at, now))
        if closed is not None:
            revised = replace(revised, closed_at=(incident.closed_at or now) if closed else None)
        return revised

    def save(self, connection: Connection, before: Incident, after: Incident) -> None:
        """Store a revision, unless someone else changed the incident since `before` was read."""
        if after == before:
            return
        c = incidents.c
        query = update(incidents).where(
            c.id == before.id,
            c.notified_at.is_(None) if before.notified_at is None else c.notified_at == before.notified_at,
            c.closed_at.is_(None) if before.closed_at is None else c.closed_at == before.closed_at,
        )
        done = connection.execute(query.values(notified_at=after.notified_at, closed_at=after.closed_at))
        if done.rowcount != 1:
            raise Conflict("the incident changed meanwhile; read it again")

    def update(
        self,
        connection: Connection,
        incident_id: str,
        *,
        notified_at: datetime | None = None,
        closed: bool | None = None,
    ) -> Incident:
        """`revise` and `save` in one write transaction."""
        before = self.get(connection, incident_id, for_update=True)
        after = self.revise(before, notified_at=notified_at, closed=closed)
        self.save(connection, before, after)
        return after

    def size(self, connection: Connection, incident: Incident, *, subject_ids: bool = False) -> Sizing:
        """What the incident's client or token touched in its window, per the audit log, now."""
        touched = touched_by(connection, incident.window, subject_ids=subject_ids)
        return Sizing(touched=touched, fields=exposures(touched, self._policy), computed_at=self._clock.now())

    def clock(self, incident: Incident) -> NotificationClock:
        return incident.clock(self._clock.now())

    @staticmethod
    def _notified(incident: Incident, notified_at: datetime, now: datetime) -> datetime:
        problems = []
        if notified_at.tzinfo is None:
            problems.append(Problem("notified_at", "give a time zone, such as 2026-03-01T09:00:00Z"))
        elif notified_at > now:
            problems.append(Problem("notified_at", "is in the future"))
        elif notified_at < incident.aware_at:
            problems.append(Problem("notified_at", "is before aware_at"))
        if problems:
            raise InvalidRequest("the notification cannot be recorded", problems)
        notified_at = _utc(notified_at)
        if incident.notified_at is not None and incident.notified_at != notified_at:
            raise Conflict(f"the notification is recorded already, at {incident.notified_at.isoformat()}")
        return notified_at


def changes(before: Incident, after: Incident) -> str:
    """What a revision changed, in words for the audit log (no subject is named)."""
    said = []
    if after.notified_at != before.notified_at:
        said.append("authority notified")
    if after.closed_at != before.closed_at:
        said.append("closed" if after.closed_at else "reopened")
    return ", ".join(said) or "no change"


def exposures(touched: Touched, policy: Policy) -> tuple[FieldExposure, ...]:
    """The fields reached, each with its data category from the policy."""
    found = []
    for count in touched.fields:
        spec = policy.field(count.field)
        found.append(
            FieldExposure(
                field=count.field,
                category=spec.category if spec else None,
                special_category=spec.special_category if spec else False,
                entries=count.entries,
                subjects=count.subjects,
            )
        )
    return tuple(found)


def _is_id(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _stored(moment: datetime | None) -> datetime | None:
    """A time as read back: SQLite keeps no zone (the register writes UTC), PostgreSQL answers in
    the session's zone."""
    return None if moment is None else as_utc(moment)


def _row(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "description": incident.description,
        "aware_at": incident.aware_at,
        "client_id": incident.client_id,
        "token_id": incident.token_id,
        "window_from": incident.window_from,
        "window_to": incident.window_to,
        "opened_by": incident.opened_by,
        "notified_at": incident.notified_at,
        "closed_at": incident.closed_at,
    }


def _incident(row: Any) -> Incident:
    def at(name: str) -> datetime:
        moment = _stored(getattr(row, name))
        assert moment is not None, name  # the column is NOT NULL
        return moment

    return Incident(
        id=row.id,
        title=row.title,
        description=row.description,
        client_id=row.client_id,
        token_id=row.token_id,
        window_from=at("window_from"),
        window_to=at("window_to"),
        aware_at=at("aware_at"),
        opened_by=row.opened_by,
        notified_at=_stored(row.notified_at),
        closed_at=_stored(row.closed_at),
    )
