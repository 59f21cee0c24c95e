"""How Dataward renders its self-contained HTML pages (the Art. 15 report, the endpoint inventory).

Every value on such a page came from outside (what clients stored, what callers sent), so the one
environment here autoescapes whatever the template's file name, never marks anything safe, and
fails on an undefined name instead of printing nothing; each page also carries a Content Security
Policy that forbids scripts and remote content, should an escape ever be missed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["html_environment"]


def html_environment(package: str, filters: Mapping[str, Callable[..., Any]]) -> Environment:
    """The environment for the templates in `package`'s `templates/` folder, with `filters`."""
    environment = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,  # every template here is HTML; never rely on the file extension
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(filters)
    return environment
