"""The endpoint inventory as one self-contained HTML page for the security team.

Shadow paths are whatever clients sent (normalised, but still attacker-chosen text), so the
template is rendered with autoescaping on, nothing is ever marked safe, and the page carries a
Content Security Policy that forbids scripts and remote content even if an escape were missed.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from jinja2 import Environment

from dataward.gateway.inventory_report import EndpointClass, Inventory, InventoryEntry
from dataward.html import html_environment

__all__ = ["render_inventory_html"]

_SECTIONS = (
    (
        EndpointClass.SHADOW,
        "Shadow endpoints",
        "Called, but not in the spec. The gateway refuses them; find who calls them.",
    ),
    (
        EndpointClass.ZOMBIE,
        "Zombie endpoints",
        "Deprecated in the spec, and still called. Move their callers, then remove them.",
    ),
    (
        EndpointClass.ORPHAN,
        "Orphan endpoints",
        "In the spec, and never called since the gateway started counting. Dead code?",
    ),
    (EndpointClass.DOCUMENTED, "Documented endpoints", "In the spec, and called."),
)


def render_inventory_html(inventory: Inventory) -> str:
    """The inventory: counts first, then one table per class, inline CSS, no JavaScript."""
    sections = [
        {"kind": kind.value, "title": title, "description": description, "entries": inventory.of(kind)}
        for kind, title, description in _SECTIONS
    ]
    return (
        _environment()
        .get_template("inventory.html.j2")
        .render(inventory=inventory, sections=sections, total_hits=sum(e.hits for e in inventory.entries))
    )


@cache
def _environment() -> Environment:
    return html_environment("dataward.gateway", {"when": _when, "statuses": _statuses, "share": _share})


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


def _statuses(entry: InventoryEntry) -> list[tuple[int, int, str]]:
    """(status, count, css class) per status, most frequent first."""
    ranked = sorted(entry.statuses.items(), key=lambda item: (-item[1], item[0]))
    return [(status, count, f"s{status // 100}") for status, count in ranked]


def _share(entry: InventoryEntry) -> str:
    return f"{100 * entry.authenticated_hits / entry.hits:.0f}%" if entry.hits else ""
