"""Errors of the guard. `RateLimited` (429) lives beside the limiter, in `ratelimit.py`."""

from __future__ import annotations

from dataward.access import Forbidden

__all__ = ["ClientSuspended"]


class ClientSuspended(Forbidden):
    """Anomaly response suspended the client on this very call: its tokens are revoked and it stays
    suspended until a person reinstates it (`dataward clients reinstate`)."""

    slug = "client-suspended"
    title = "The client has been suspended"

    def __init__(self) -> None:
        super().__init__(
            "this client read far beyond its usual pattern and was suspended; a person must reinstate it"
        )
