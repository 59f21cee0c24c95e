"""Errors of the audit domain."""

from __future__ import annotations

from dataward.errors import DatawardError

__all__ = ["AuditUnavailable"]


class AuditUnavailable(DatawardError):
    """The audit entry could not be made durable, so the operation does not go ahead (fail closed)."""

    status = 503
    slug = "audit-unavailable"
    title = "The audit log is unavailable"
