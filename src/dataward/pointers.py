"""JSON pointers (RFC 6901): the one way Dataward names a place in a JSON or YAML document."""

from __future__ import annotations

__all__ = ["escape_pointer", "unescape_pointer"]


def escape_pointer(token: str) -> str:
    """One reference token of a JSON pointer: `~` as `~0`, `/` as `~1`."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape_pointer(token: str) -> str:
    """The key a reference token names (URI fragments' percent-escapes are the caller's)."""
    return token.replace("~1", "/").replace("~0", "~")
