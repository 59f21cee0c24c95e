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
    TOKEN_ISSUE = "identity:token:issue"  # noqa: S105 - an event name, not a secret
    CLIENT_CREATE = "identity:client:create"
    KEK_ROTATE = "keys:kek:rotate"
    KEK_RETIRE = "keys:kek:retire"
