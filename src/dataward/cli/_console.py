"""Where the CLI writes: results to standard output, messages and progress to standard error.
Kept apart from `_common` (which loads the vault) so that every command can print cheaply."""

from __future__ import annotations

from rich.console import Console

__all__ = ["console", "err_console"]

console = Console()
err_console = Console(stderr=True)
