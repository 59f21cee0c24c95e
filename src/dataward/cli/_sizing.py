"""What `dataward audit touched` and `dataward incidents` share: times from options, and the tables
that show what an access reached."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dataward.errors import InvalidRequest, Problem
from dataward.incidents.schemas import ActionView, FieldView

__all__ = ["parse_time", "print_reach"]


def parse_time(option: str, text: str) -> datetime:
    """An ISO 8601 time with its time zone, such as 2026-03-01T09:00:00Z."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            "a time is not valid", [Problem(option, "not an ISO 8601 time, such as 2026-03-01T09:00:00Z")]
        ) from None
    if moment.tzinfo is None:
        raise InvalidRequest(
            "a time is not valid", [Problem(option, "give a time zone, such as 2026-03-01T09:00:00Z")]
        )
    return moment


def print_reach(console: Console, subjects: int, fields: list[FieldView], actions: list[ActionView]) -> None:
    """The subjects and fields an access reached, and its audit entries by action and outcome."""
    console.print(f"[bold]{subjects}[/] subject(s) reached")
    if fields:
        table = Table("field", "category", "entries", "subjects", title="fields reached")
        for f in fields:
            category = escape(f.category or "(not in the policy)")
            if f.special_category:
                category += " [red](special category)[/]"
            table.add_row(escape(f.field), category, str(f.entries), str(f.subjects))
        console.print(table)
    if actions:
        table = Table("action", "outcome", "entries", title="audit entries")
        for a in actions:
            table.add_row(a.action, a.outcome, str(a.entries))
        console.print(table)
