"""The decision point: role x action x purpose x field x the subject's consent. Deny by default."""

from dataward.access.decision import (
    ConsentStatus,
    Decision,
    Withheld,
    authorize,
    decide_access,
    permitted_purpose,
    subject_refusal,
)
from dataward.access.errors import Forbidden

__all__ = [
    "ConsentStatus",
    "Decision",
    "Forbidden",
    "Withheld",
    "authorize",
    "decide_access",
    "permitted_purpose",
    "subject_refusal",
]
