"""Request and response bodies of the incident API (the CLI prints the same shapes as JSON).
Unknown keys are refused; every time carries a time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dataward.incidents.service import Incident, NotificationClock, Sizing

__all__ = [
    "ActionView",
    "ClockView",
    "FieldView",
    "IncidentList",
    "IncidentView",
    "OpenIncident",
    "SizingView",
    "UpdateIncident",
]

Id = Annotated[str | None, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenIncident(_Strict):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[
        str | None,
        Field(max_length=10_000, description="What happened and what was done. No personal data here."),
    ] = None
    client_id: Annotated[Id, Field(description="The client whose access is in question.")] = None
    token_id: Annotated[Id, Field(description="The access token (its jti) in question.")] = None
    window_from: Annotated[AwareDatetime, Field(description="Start of the access window (included).")]
    window_to: Annotated[AwareDatetime, Field(description="End of the access window (included).")]
    aware_at: Annotated[
        AwareDatetime | None,
        Field(description="When the controller became aware: starts the 72-hour clock. Default: now."),
    ] = None


class UpdateIncident(_Strict):
    notified_at: Annotated[
        AwareDatetime | None, Field(description="When the supervisory authority was notified.")
    ] = None
    closed: Annotated[bool | None, Field(description="true closes the incident, false reopens it.")] = None


class ClockView(_Strict):
    deadline: datetime
    seconds_remaining: int | None = Field(description="While the clock runs; null once it stopped.")
    overdue: bool
    stopped_at: datetime | None

    @classmethod
    def of(cls, clock: NotificationClock) -> ClockView:
        return cls(
            deadline=clock.deadline,
            seconds_remaining=clock.seconds_remaining,
            overdue=clock.overdue,
            stopped_at=clock.stopped_at,
        )


class FieldView(_Strict):
    field: str
    category: str | None
    special_category: bool
    entries: int
    subjects: int


class ActionView(_Strict):
    action: str
    outcome: str
    entries: int


class SizingView(_Strict):
    affected_subjects: int
    subject_ids: list[str] | None = None
    fields: list[FieldView]
    actions: list[ActionView]
    entries: int = Field(description="Audit entries that touched personal data.")
    attempts: int = Field(description="Refused attempts: they touched nothing.")
    first_at: str | None
    last_at: str | None
    as_of_seq: int = Field(description="The newest audit entry counted in.")
    computed_at: datetime

    @classmethod
    def of(cls, sizing: Sizing) -> SizingView:
        touched = sizing.touched
        return cls(
            affected_subjects=touched.subjects,
            subject_ids=None if touched.subject_ids is None else list(touched.subject_ids),
            fields=[
                FieldView(
                    field=f.field,
                    category=f.category,
                    special_category=f.special_category,
                    entries=f.entries,
                    subjects=f.subjects,
                )
                for f in sizing.fields
            ],
            actions=[
                ActionView(action=a.action, outcome=a.outcome, entries=a.entries) for a in touched.actions
            ],
            entries=touched.entries,
            attempts=touched.attempts,
            first_at=touched.first_at,
            last_at=touched.last_at,
            as_of_seq=touched.as_of_seq,
            computed_at=sizing.computed_at,
        )


class IncidentView(_Strict):
    id: str
    status: Literal["open", "closed"]
    title: str
    description: str | None
    client_id: str | None
    token_id: str | None
    window_from: datetime
    window_to: datetime
    aware_at: datetime
    opened_by: str
    notified_at: datetime | None
    closed_at: datetime | None
    clock: ClockView
    sizing: SizingView | None = None

    @classmethod
    def of(cls, incident: Incident, clock: NotificationClock, sizing: Sizing | None = None) -> IncidentView:
        return cls(
            id=incident.id,
            status="open" if incident.is_open else "closed",
            title=incident.title,
            description=incident.description,
            client_id=incident.client_id,
            token_id=incident.token_id,
            window_from=incident.window_from,
            window_to=incident.window_to,
            aware_at=incident.aware_at,
            opened_by=incident.opened_by,
            notified_at=incident.notified_at,
            closed_at=incident.closed_at,
            clock=ClockView.of(clock),
            sizing=None if sizing is None else SizingView.of(sizing),
        )


class IncidentList(_Strict):
    incidents: list[IncidentView]
