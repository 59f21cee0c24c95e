"""What a rights request is: its kind, its states, its channel, and its due date (Art. 12(3))."""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

from dataward.clock import as_utc

__all__ = ["Channel", "RequestKind", "RequestState", "RightsRequest", "add_months", "request_from_row"]


class RequestKind(StrEnum):
    ACCESS = "access"  # Art. 15
    PORTABILITY = "portability"  # Art. 20
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    RESTRICTION = "restriction"  # Art. 18
    OBJECTION = "objection"  # Art. 21


class RequestState(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"  # the requester is the subject
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"  # in progress, with a later due date and a reason
    AWAITING_APPROVAL = "awaiting_approval"  # an erasure waits for a second person
    ERASING = "erasing"  # approved: the subject reads as erased; key and rows are being destroyed
    NOTIFYING = "notifying"  # done here; processors have not all acknowledged
    COMPLETED = "completed"
    REFUSED = "refused"

    @property
    def open(self) -> bool:
        return self not in (RequestState.COMPLETED, RequestState.REFUSED)


class Channel(StrEnum):
    SELF_SERVICE = "self_service"  # the subject, signed in: identity verified by their token
    TEAM = "team"  # the privacy team, on the subject's behalf


@dataclass(frozen=True, slots=True)
class RightsRequest:
    id: str
    kind: RequestKind
    subject_id: str
    state: RequestState
    channel: Channel
    received_at: datetime
    due_at: datetime
    handler: str | None
    approver: str | None
    reason: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def overdue(self, now: datetime) -> bool:
        return self.state.open and now > self.due_at

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "subject_id": self.subject_id,
            "state": self.state.value,
            "channel": self.channel.value,
            "received_at": self.received_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "overdue": self.overdue(now),
            "handler": self.handler,
            "approver": self.approver,
            "reason": self.reason,
            "details": self.details,
        }


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, or the month's last day when it has no such day (a period of
    months ends so under Regulation 1182/71, which Art. 12(3)'s "one month" follows)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def request_from_row(row: Row[Any]) -> RightsRequest:
    return RightsRequest(
        id=row.id, kind=RequestKind(row.kind), subject_id=row.subject_id, state=RequestState(row.state),
        channel=Channel(row.channel), received_at=as_utc(row.received_at), due_at=as_utc(row.due_at),
        handler=row.handler, approver=row.approver, reason=row.reason, details=json.loads(row.details),
    )  # fmt: skip
