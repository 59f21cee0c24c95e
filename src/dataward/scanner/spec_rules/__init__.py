"""The spec rules, grouped by what they look at; `ALL_CHECKS` runs them in a fixed order."""

from __future__ import annotations

from dataward.scanner.spec_rules import access, configuration, gdpr, properties, resources
from dataward.scanner.spec_rules._context import Check, Context

__all__ = ["ALL_CHECKS", "Check", "Context"]

ALL_CHECKS: tuple[Check, ...] = (
    *access.CHECKS,
    *properties.CHECKS,
    *resources.CHECKS,
    *configuration.CHECKS,
    *gdpr.CHECKS,
)
