"""The tamper-evident audit log: every touch of personal data, hash-chained and signed."""

from dataward.audit.errors import AuditUnavailable
from dataward.audit.events import AuditEntry, AuditEvent, Outcome
from dataward.audit.log import AuditLog
from dataward.audit.tags import AuditAction
from dataward.audit.verify import VerifyReport, verify_log

__all__ = [
    "AuditAction",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditUnavailable",
    "Outcome",
    "VerifyReport",
    "verify_log",
]
