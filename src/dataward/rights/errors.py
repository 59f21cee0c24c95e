"""Errors of the rights domain."""

from __future__ import annotations

from dataward.access.errors import Forbidden

__all__ = ["SameHandler"]


class SameHandler(Forbidden):
    """Separation of duties: the person who handles an erasure may not also approve it."""
