"""Rights requests (Art. 12, 15-21) as tracked work: who asked for what, when it is due, what was
done, and who approved it.

A request moves through states; every move is kept in `rights_request_events` and, by the routes,
in the audit log. The answer is due one month from receipt (Art. 12(3)), extendable by at most two
further months, and only before the first month has run out. An erasure needs an approver who is
not the request's handler (separation of duties). A request that changed data completes only when
every processor that uses the data acknowledged the notice (Art. 19); until then it is `notifying`.

An approved erasure is made in two transactions. The first marks the request `erasing` and the
subject erased, so from then on every purpose but a keeping obligation is refused; the second
destroys the key and removes the rows. Cut short between the two, it is finished by approving
again, and nothing in between reads as if the erasure had not been approved.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dataward.clock import Clock, as_utc
from dataward.errors import Conflict, InvalidRequest, NotFound, Problem
from dataward.policy import Policy
from dataward.rights.errors import SameHandler
from dataward.rights.models import (
    Channel,
    RequestKind,
    RequestState,
    RightsRequest,
    add_months,
    request_from_row,
)
from dataward.rights.outbox import Outbox
from dataward.rights.webhooks import EventKind
from dataward.storage.tables import rights_request_events, rights_requests
from dataward.subjects import SubjectService
from dataward.subjects.regions import Regions

__all__ = ["Channel", "RequestKind", "RequestState", "RightsRequest", "RightsService", "add_months"]


S = RequestState
# Where each state may go by a person's hand (execution and settling move on by themselves).
_MOVES: dict[RequestState, frozenset[RequestState]] = {
    S.RECEIVED: frozenset({S.VERIFIED, S.REFUSED}),
    S.VERIFIED: frozenset({S.IN_PROGRESS, S.REFUSED}),
    S.IN_PROGRESS: frozenset({S.EXTENDED, S.REFUSED}),
    S.EXTENDED: frozenset({S.EXTENDED, S.REFUSED}),  # a one-month extension can grow to two
    S.AWAITING_APPROVAL: frozenset({S.REFUSED}),
}
_WORKABLE = frozenset({S.VERIFIED, S.IN_PROGRESS, S.EXTENDED})
_CARRIED_OUT = frozenset({S.NOTIFYING, S.COMPLETED})
_MAX_EXTENSION_MONTHS = 2


class RightsService:
    """Requests and what they do. Methods take the caller's connection to the vault's database:
    the routes audit first, then change state inside one transaction (notices to processors
    included). What a request does to the subject's data happens in the subject's region, in the
    same transaction when that is the vault's database, else in one of the region's committed first
    (each change is safe to make again if the request's own transaction then fails)."""

    def __init__(self, regions: Regions, outbox: Outbox, policy: Policy, clock: Clock) -> None:
        self._regions = regions
        self._outbox = outbox
        self._policy = policy
        self._clock = clock

    # -- opening and reading -------------------------------------------------------------------

    def check_details(self, kind: RequestKind, details: dict[str, Any]) -> dict[str, Any]:
        """The details a kind takes, checked: objections name purposes one may object to,
        rectifications name the fields that changed. Never values."""
        if kind is RequestKind.OBJECTION:
            purposes = details.get("purposes")
            if not isinstance(purposes, list) or not purposes:
                raise InvalidRequest("an objection names purposes", [Problem("details.purposes", "required")])
            problems = [
                Problem(f"details.purposes[{i}]", f"{p!s:.64} is not a purpose one can object to")
                for i, p in enumerate(purposes)
                if not (
                    isinstance(p, str)
                    and p in self._policy.purposes
                    and self._policy.purposes[p].objectionable
                )
            ]
            if problems:
                raise InvalidRequest("the objection is not valid", problems)
            return {"purposes": sorted(set(purposes))}
        if kind is RequestKind.RECTIFICATION:
            fields = details.get("fields", [])
            known = set(self._policy.field_paths())
            if not isinstance(fields, list) or any(f not in known for f in fields):
                raise InvalidRequest(
                    "a rectification names fields as collection.field",
                    [Problem("details.fields", "unknown field")],
                )
            return {"fields": sorted(set(fields))}
        return {}

    def open(
        self,
        connection: Connection,
        kind: RequestKind,
        subject_id: str,
        channel: Channel,
        actor: str,
        details: dict[str, Any] | None = None,
        received_at: datetime | None = None,
    ) -> RightsRequest:
        """Receive a request. A self-service request arrives verified (the subject signed in).
        `received_at` is when it reached the controller, if earlier than now (a letter, say): the
        month runs from then."""
        store = self._regions.of(subject_id)
        with self._regions.reading(store, connection) as subject_connection:
            if not store.subjects.exists(subject_connection, subject_id):
                raise NotFound("no such subject")
        checked = self.check_details(kind, details or {})
        now = self._clock.now()
        if received_at is not None:
            if received_at > now:
                raise InvalidRequest(
                    "a request cannot arrive in the future", [Problem("received_at", "later than now")]
                )
            now = received_at
        state = RequestState.VERIFIED if channel is Channel.SELF_SERVICE else RequestState.RECEIVED
        request = RightsRequest(
            id=str(uuid.uuid4()), kind=kind, subject_id=subject_id, state=state, channel=channel,
            received_at=now, due_at=add_months(now, 1),
            handler=actor if channel is Channel.TEAM else None, approver=None, reason=None, details=checked,
        )  # fmt: skip
        now = self._clock.now()
        connection.execute(
            insert(rights_requests).values(
                id=request.id, kind=kind.value, subject_id=subject_id, state=state.value,
                channel=channel.value, received_at=request.received_at, due_at=request.due_at,
                handler=request.handler,
                details=json.dumps(checked), updated_at=now,
            )
        )  # fmt: skip
        self._log(connection, request.id, state, actor, None)
        return request

    def get(self, connection: Connection, request_id: str) -> RightsRequest:
        row = connection.execute(select(rights_requests).where(rights_requests.c.id == request_id)).first()
        if row is None:
            raise NotFound("no such rights request")
        return request_from_row(row)

    def find(
        self,
        connection: Connection,
        *,
        open_only: bool = False,
        overdue: bool = False,
        kind: RequestKind | None = None,
        subject_id: str | None = None,
        limit: int = 100,
    ) -> list[RightsRequest]:
        """Requests, soonest due first; `overdue` keeps the open ones past their due date."""
        query = select(rights_requests).order_by(rights_requests.c.due_at, rights_requests.c.id).limit(limit)
        if open_only or overdue:
            closed = [RequestState.COMPLETED.value, RequestState.REFUSED.value]
            query = query.where(rights_requests.c.state.not_in(closed))
        if overdue:
            query = query.where(rights_requests.c.due_at < self._clock.now())
        if kind is not None:
            query = query.where(rights_requests.c.kind == kind.value)
        if subject_id is not None:
            query = query.where(rights_requests.c.subject_id == subject_id)
        return [request_from_row(row) for row in connection.execute(query)]

    def history(self, connection: Connection, request_id: str) -> list[dict[str, Any]]:
        rows = connection.execute(
            select(rights_request_events)
            .where(rights_request_events.c.request_id == request_id)
            .order_by(rights_request_events.c.id)
        )
        return [
            {"state": r.state, "actor": r.actor, "reason": r.reason, "at": as_utc(r.at).isoformat()}
            for r in rows
        ]

    def recipients(self, request_id: str) -> dict[str, str]:
        """processor -> delivered | pending | failed, for the notices this request sent."""
        return self._outbox.status(request_id)

    # -- moving on -----------------------------------------------------------------------------

    def check_move(self, request: RightsRequest, to: RequestState) -> None:
        """`Conflict` unless a person may move `request` to `to` now (checked before auditing)."""
        if to not in _MOVES.get(request.state, frozenset()):
            raise Conflict(f"a request that is {request.state.value} cannot become {to.value}")
        if to is RequestState.EXTENDED and request.overdue(self._clock.now()):
            raise Conflict("the due date has passed: an extension must be decided within it")

    def move(
        self,
        connection: Connection,
        request: RightsRequest,
        to: RequestState,
        actor: str,
        reason: str | None = None,
        *,
        months: int = 0,
    ) -> RightsRequest:
        """Verify, start, extend (by `months`, with a reason) or refuse (with a reason)."""
        self.check_move(request, to)
        if to in (RequestState.EXTENDED, RequestState.REFUSED) and not reason:
            raise InvalidRequest(f"say why the request is {to.value}", [Problem("reason", "required")])
        due = request.due_at
        if to is RequestState.EXTENDED:
            due = add_months(request.due_at, months)
            latest = add_months(request.received_at, 1 + _MAX_EXTENSION_MONTHS)
            if not 1 <= months <= _MAX_EXTENSION_MONTHS or due > latest:
                raise InvalidRequest(
                    "a request can be extended by at most two further months",
                    [Problem("months", f"at most {_MAX_EXTENSION_MONTHS} months in all")],
                )
        return self._set(connection, request, to, actor, reason, due_at=due)

    def check_work(self, request: RightsRequest, *, approving: bool = False) -> None:
        """`Conflict` unless the request can be carried out (or, `approving`, approved) now."""
        if approving:
            approvable = (RequestState.AWAITING_APPROVAL, RequestState.ERASING)
            if request.kind is not RequestKind.ERASURE or request.state not in approvable:
                raise Conflict("only an erasure awaiting approval can be approved")
        elif request.state not in _WORKABLE:
            raise Conflict(f"a request that is {request.state.value} cannot be carried out")

    def check_approver(self, connection: Connection, request: RightsRequest, actor: str) -> None:
        """Separation of duties: nobody who handled the request, or asked for it, approves it."""
        involved = {h["actor"] for h in self.history(connection, request.id)} | {request.handler}
        if request.state is RequestState.ERASING:  # finishing: the approver, or another outsider
            involved.discard(request.approver)
        if actor in involved:
            raise SameHandler("an erasure needs an approver who has not handled the request")

    def approve(self, connection: Connection, request: RightsRequest, actor: str) -> RightsRequest:
        """Approve an erasure: the subject reads as erased from now on (see the module docstring);
        `carry_out` then destroys the key and the rows."""
        self.check_work(request, approving=True)
        self.check_approver(connection, request, actor)
        if request.state is RequestState.ERASING:
            return request
        store = self._regions.of(request.subject_id)
        with self._regions.writing(store, connection) as subject_connection:
            store.subjects.mark_erased(subject_connection, request.subject_id)
            held = store.subjects.held(subject_connection, request.subject_id)
        # What the subject held is kept with the request: if the erasure is cut short after the
        # rows went, finishing it still knows which fields the processors must hear of.
        details = {**request.details, "held": held}
        return self._set(
            connection, request, RequestState.ERASING, actor, None, details=details, approver=True
        )

    def carry_out(self, connection: Connection, request: RightsRequest, actor: str) -> RightsRequest:
        """Do what the request asks. An erasure first waits for an approver (`approve`); once
        approved, this erases. Data changes send notices to processors; the request then completes
        when they all acknowledged."""
        sid = request.subject_id
        details = dict(request.details)
        erasing = request.kind is RequestKind.ERASURE and request.state is RequestState.ERASING
        if not erasing:
            self.check_work(request)
            if request.kind is RequestKind.ERASURE:
                return self._set(connection, request, RequestState.AWAITING_APPROVAL, actor, None)
        store = self._regions.of(sid)
        with self._regions.writing(store, connection) as subject_connection:
            notices = _change(store.subjects, subject_connection, request, details)
        sent = self._outbox.enqueue(connection, notices[0], sid, notices[1], request.id) if notices else []
        details["notices"] = len(sent)
        to = RequestState.NOTIFYING if sent else RequestState.COMPLETED
        return self._set(connection, request, to, actor, None, details=details)

    def check_lift(self, request: RightsRequest) -> None:
        if request.kind is not RequestKind.RESTRICTION or request.state not in _CARRIED_OUT:
            raise Conflict("only a restriction that was carried out can be lifted")
        if "lifted_at" in request.details:
            raise Conflict("the restriction was lifted already")

    def lift_restriction(
        self, connection: Connection, request: RightsRequest, actor: str, reason: str
    ) -> RightsRequest:
        """Lift a restriction (Art. 18(3): tell the subject first; the reason says when and why).
        Processors hear of it as they heard of the restriction."""
        self.check_lift(request)
        sid = request.subject_id
        store = self._regions.of(sid)
        with self._regions.writing(store, connection) as subject_connection:
            store.subjects.restrict(subject_connection, sid, restricted=False)
            fields = store.subjects.held(subject_connection, sid)
        sent = self._outbox.enqueue(connection, EventKind.RESTRICTION_LIFTED, sid, fields, request.id)
        details = {**request.details, "lifted_at": self._clock.now().isoformat(), "lift_reason": reason}
        details["notices"] = int(details.get("notices", 0)) + len(sent)
        to = RequestState.NOTIFYING if sent else request.state
        return self._set(connection, request, to, actor, f"restriction lifted: {reason}", details=details)

    def retry_notices(self, request: RightsRequest) -> int:
        """Give every failed notice of `request` a fresh set of attempts; return how many."""
        failed = [e for e in self._outbox.events(request.id) if e.state == "failed"]
        return sum(self._outbox.retry(e.id) for e in failed)

    def check_report(self, request: RightsRequest, kind: RequestKind) -> None:
        """`Conflict` unless `request` is a verified request of `kind` (reports are for the subject)."""
        if request.kind is not kind:
            raise Conflict(f"this is {request.kind.value} request, not {kind.value}")
        if request.state in (RequestState.RECEIVED, RequestState.REFUSED):
            raise Conflict(
                f"a request that is {request.state.value} has no report: verify the requester first"
            )

    def settle(self, connection: Connection, request: RightsRequest) -> RightsRequest:
        """Complete a `notifying` request once every processor acknowledged its notice."""
        if request.state is not RequestState.NOTIFYING:
            return request
        status = self.recipients(request.id)
        if any(state != "delivered" for state in status.values()):
            return request
        return self._set(
            connection, request, RequestState.COMPLETED, "outbox", "every processor acknowledged"
        )

    def settle_all(self, connection: Connection, limit: int = 200) -> int:
        """Settle up to `limit` notifying requests, oldest first; return how many completed."""
        rows = connection.execute(
            select(rights_requests)
            .where(rights_requests.c.state == RequestState.NOTIFYING.value)
            .order_by(rights_requests.c.updated_at)
            .limit(limit)
        )
        waiting = [request_from_row(row) for row in rows]
        return sum(self.settle(connection, r).state is RequestState.COMPLETED for r in waiting)

    # -- storage -------------------------------------------------------------------------------

    def _set(
        self,
        connection: Connection,
        request: RightsRequest,
        to: RequestState,
        actor: str,
        reason: str | None,
        *,
        due_at: datetime | None = None,
        details: dict[str, Any] | None = None,
        approver: bool = False,
    ) -> RightsRequest:
        """Move `request` to `to` if nobody moved it meanwhile (`Conflict` otherwise)."""
        values: dict[str, Any] = {"state": to.value, "updated_at": self._clock.now()}
        if reason is not None:
            values["reason"] = reason
        if due_at is not None:
            values["due_at"] = due_at
        if details is not None:
            values["details"] = json.dumps(details)
        if approver:
            values["approver"] = actor
        changed = connection.execute(
            update(rights_requests)
            .where(rights_requests.c.id == request.id, rights_requests.c.state == request.state.value)
            .values(values)
        ).rowcount
        if not changed:
            raise Conflict("the request changed meanwhile; read it again")
        self._log(connection, request.id, to, actor, reason)
        return self.get(connection, request.id)

    def _log(
        self, connection: Connection, request_id: str, state: RequestState, actor: str, reason: str | None
    ) -> None:
        connection.execute(
            insert(rights_request_events).values(
                request_id=request_id, state=state.value, actor=actor, reason=reason, at=self._clock.now()
            )
        )


def _change(
    subjects: SubjectService, connection: Connection, request: RightsRequest, details: dict[str, Any]
) -> tuple[EventKind, list[str]] | None:
    """Make the request's change to the subject's data (in its region); return the notice it
    owes processors, if any. `details` gains what the change did."""
    sid = request.subject_id
    if request.kind is RequestKind.ERASURE:
        held = details.pop("held", None) or subjects.held(connection, sid)  # set by `approve`
        if not subjects.exists(connection, sid):  # erased already, and nothing was kept: finish
            details.update(removed=held, kept=[], kept_for=[])
        else:
            erasure = subjects.erase(connection, sid)
            details.update(removed=erasure.removed, kept=erasure.kept, kept_for=erasure.kept_for)
        return (EventKind.ERASURE, held)  # processors keep nothing: the obligation is ours
    if request.kind is RequestKind.RESTRICTION:
        subjects.restrict(connection, sid, restricted=True)
        return (EventKind.RESTRICTION, subjects.held(connection, sid))
    if request.kind is RequestKind.OBJECTION:
        for purpose in details["purposes"]:
            subjects.object_to(connection, sid, purpose, request.id)
        return None
    if request.kind is RequestKind.RECTIFICATION:
        return (EventKind.RECTIFICATION, details.get("fields") or subjects.held(connection, sid))
    return None  # access and portability change nothing
