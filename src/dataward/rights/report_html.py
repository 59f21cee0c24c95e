"""The Art. 15 access report as one self-contained HTML page a data subject can open and print.

Stored values are whatever a client wrote, so they are attacker-controlled: the template is
rendered with autoescaping on, no value is ever marked safe, and the page carries a Content
Security Policy that forbids scripts and remote content even if an escape were ever missed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment

from dataward.html import html_environment

__all__ = ["render_access_report"]


def render_access_report(report: Mapping[str, Any]) -> str:
    """The report (`subject_id`, `generated_at`, `data`, `withheld`, `consent`, `information`)
    as an HTML page with inline CSS and no JavaScript or external assets."""
    return _environment().get_template("access_report.html.j2").render(report=report)


@cache
def _environment() -> Environment:
    return html_environment("dataward.rights", {"shown": _shown})


def _shown(value: object) -> str:
    """A stored value as text; the template escapes it."""
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
