"""Typed audit actions: `domain:object:action`, as in warehouse's `events/tags.py`."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AuditAction"]


class AuditAction(StrEnum):
    SUBJECT_CREATE = "subject:subject:create"
    RECORD_WRITE = "subject:record:write"
    RECORD_READ = "subject:record:read"
    SUBJECT_LOOKUP = "subject:subject:lookup"
    CONSENT_GIVE = "consent:consent:give"
    CONSENT_WITHDRAW = "consent:consent:withdraw"
    AUDIT_READ = "audit:log:read"
    RECORDS_READ = "policy:records:read"  # the records of processing (Art. 30)
    TOKEN_ISSUE = "identity:token:issue"  # noqa: S105 - an event name, not a secret
    TOKEN_REFRESH = "identity:token:refresh"  # noqa: S105 - refused with a reason on refresh-token reuse
    TOKEN_EXCHANGE = "identity:token:exchange"  # noqa: S105 - a narrower token made from another
    TOKEN_REVOKE = "identity:token:revoke"  # noqa: S105
    TOKEN_INTROSPECT = "identity:token:introspect"  # noqa: S105
    CLIENT_CREATE = "identity:client:create"
    CLIENT_SUSPEND = "identity:client:suspend"
    CLIENT_REINSTATE = "identity:client:reinstate"
    SUBJECT_CHALLENGE = "identity:subject:challenge"  # a data subject asked for a one-time code
    SUBJECT_TOKEN = "identity:subject:token"  # noqa: S105 - a data subject signed in (code or OIDC)
    RIGHTS_OPEN = "rights:request:open"
    RIGHTS_LIST = "rights:request:list"
    RIGHTS_READ = "rights:request:read"
    RIGHTS_MOVE = "rights:request:move"  # verified, started, extended or refused: the reason says
    RIGHTS_CARRY_OUT = "rights:request:carry_out"  # the request's change is made (erasure, ...)
    RIGHTS_REPORT = "rights:report:read"  # an Art. 15 report or Art. 20 export was produced
    RETENTION_SWEEP = "retention:field:erase"  # values no purpose justifies any more were erased
    KEK_ROTATE = "keys:kek:rotate"
    KEK_RETIRE = "keys:kek:retire"
    INCIDENT_OPEN = "incidents:incident:open"
    INCIDENT_READ = "incidents:incident:read"
    INCIDENT_UPDATE = "incidents:incident:update"
    GATEWAY_RESPONSE = "gateway:response:personal_data"  # an upstream answer carrying personal data
    ANOMALY_ALERT = "guard:anomaly:alert"  # a client read beyond its baseline; the reason explains
    ANOMALY_THROTTLE = "guard:anomaly:throttle"
    ANOMALY_SUSPEND = "guard:anomaly:suspend"  # its tokens revoked, suspended until reinstated
    FAILURES_ALERT = "guard:failures:alert"  # a burst of failed authentications or denials
    FAILURES_THROTTLE = "guard:failures:throttle"
