"""The consent ledger. Consent is given and withdrawn by appending events; nothing is updated or
deleted (until erasure removes the subject). The newest event for a purpose is its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select

from dataward.access import ConsentStatus
from dataward.clock import Clock
from dataward.errors import InvalidRequest, NotFound, Problem
from dataward.policy import Policy
from dataward.storage.tables import consent_events

__all__ = ["ConsentEvent", "ConsentLedger"]

_STATUS = (
    select(consent_events.c.event)
    .where(
        consent_events.c.subject_id == bindparam("subject_id"),
        consent_events.c.purpose == bindparam("purpose"),
    )
    .order_by(consent_events.c.id.desc())
    .limit(1)
)  # built once: every read under a consent purpose runs it


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    purpose: str
    event: ConsentStatus
    notice_version: str | None
    source: str | None
    client_id: str
    at: datetime


class ConsentLedger:
    """Every method works inside the caller's transaction, so consent and the data it governs agree."""

    def __init__(self, policy: Policy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock

    def give(
        self,
        connection: Connection,
        subject_id: str,
        purpose: str,
        *,
        notice_version: str,
        source: str,
        client_id: str,
    ) -> ConsentEvent:
        self.check_consent_purpose(purpose)
        event = ConsentEvent(
            purpose, ConsentStatus.GIVEN, notice_version, source, client_id, self._clock.now()
        )
        return self._append(connection, subject_id, event)

    def check_consent_purpose(self, purpose: str) -> None:
        """`InvalidRequest` unless `purpose` is declared and rests on consent."""
        spec = self._policy.purposes.get(purpose)
        if spec is None or not spec.needs_consent:
            why = "unknown purpose" if spec is None else f"purpose {purpose} does not rest on consent"
            raise InvalidRequest("consent cannot be recorded", [Problem("purpose", why)])

    def withdraw(
        self, connection: Connection, subject_id: str, purpose: str, *, client_id: str
    ) -> ConsentEvent:
        if self.status(connection, subject_id, purpose) is not ConsentStatus.GIVEN:
            raise NotFound(f"no consent to purpose {purpose} is in force")
        event = ConsentEvent(purpose, ConsentStatus.WITHDRAWN, None, None, client_id, self._clock.now())
        return self._append(connection, subject_id, event)

    def status(self, connection: Connection, subject_id: str, purpose: str) -> ConsentStatus:
        row = connection.execute(_STATUS, {"subject_id": subject_id, "purpose": purpose}).first()
        return ConsentStatus(row.event) if row else ConsentStatus.NEVER_GIVEN

    def history(self, connection: Connection, subject_id: str) -> list[ConsentEvent]:
        rows = connection.execute(
            select(consent_events)
            .where(consent_events.c.subject_id == subject_id)
            .order_by(consent_events.c.id)
        )
        return [
            ConsentEvent(r.purpose, ConsentStatus(r.event), r.notice_version, r.source, r.client_id, r.at)
            for r in rows
        ]

    def _append(self, connection: Connection, subject_id: str, event: ConsentEvent) -> ConsentEvent:
        connection.execute(
            insert(consent_events).values(
                subject_id=subject_id,
                purpose=event.purpose,
                event=event.event.value,
                notice_version=event.notice_version,
                source=event.source,
                client_id=event.client_id,
                at=event.at,
            )
        )
        return event
