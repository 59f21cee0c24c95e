"""Retention: erase what no purpose justifies any more, on demand and on a schedule."""

from dataward.retention.sweep import (
    SweepReport,
    audited_sweep,
    combined,
    retention_rules,
    sweep,
)

__all__ = [
    "SweepReport",
    "audited_sweep",
    "combined",
    "retention_rules",
    "sweep",
]
