"""Errors of the access domain."""

from __future__ import annotations

from dataward.errors import DatawardError

__all__ = ["Forbidden"]


class Forbidden(DatawardError):
    """The decision point refused: the role lacks the action, or the token lacks the purpose."""

    status = 403
    slug = "forbidden"
    title = "Not allowed"
