"""Cells for CSV files that people open in spreadsheets."""

from __future__ import annotations

__all__ = ["safe_cell"]


def safe_cell(text: str) -> str:
    """Text that a spreadsheet would run as a formula (CSV injection) gets a leading '."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
