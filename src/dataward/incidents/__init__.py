"""The breach register (GDPR Art. 33): incidents, their 72-hour clock, and their size from the audit log."""

from dataward.incidents.service import (
    NOTIFICATION_DEADLINE,
    FieldExposure,
    Incident,
    IncidentRegister,
    NotificationClock,
    Sizing,
)

__all__ = [
    "NOTIFICATION_DEADLINE",
    "FieldExposure",
    "Incident",
    "IncidentRegister",
    "NotificationClock",
    "Sizing",
]
