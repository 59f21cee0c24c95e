"""The one way live probes talk to the API under test: bounded in requests and in time, never
following redirects, and never writing a token into a URL unless a probe asks to on purpose.

Every answer is read into memory up to a limit, so a probe can compare bodies; a transport failure
is an answer of its own (`status` 0), not an exception a probe must remember to catch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Answer", "Budget", "BudgetExhausted", "LiveClient"]

_MAX_BODY = 2 * 1024 * 1024


class BudgetExhausted(Exception):
    """The scan's request or time budget is spent: the probes stop where they are."""


@dataclass(frozen=True, slots=True)
class Budget:
    max_requests: int = 2000
    max_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 0: no answer (refused, timed out)
    headers: httpx.Headers
    body: bytes
    seconds: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is not."""
        try:
            return httpx.Response(200, content=self.body).json()
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class LiveClient:
    def __init__(
        self,
        base_url: str,
        budget: Budget | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget = budget or Budget()
        self.requests_made = 0
        self._deadline = time.monotonic() + self.budget.max_seconds
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "dataward-scan"},
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Answer:
        """`path` is the path as sent (parameters already in it); `token` goes in the header."""
        if self.requests_made >= self.budget.max_requests or time.monotonic() >= self._deadline:
            raise BudgetExhausted
        self.requests_made += 1
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        try:
            with self._http.stream(
                method, self.base_url + path, params=params, json=json, headers=sent,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            ) as response:  # fmt: skip
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > _MAX_BODY:
                        break
                return Answer(
                    response.status_code, response.headers, bytes(body), time.perf_counter() - started
                )
        except httpx.HTTPError:
            return Answer(0, httpx.Headers(), b"", time.perf_counter() - started)

    def remaining_seconds(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def count(self, requests: int) -> None:
        """Count requests a tool made on its own (Schemathesis); `BudgetExhausted` once over."""
        self.requests_made += requests
        if self.requests_made >= self.budget.max_requests or time.monotonic() >= self._deadline:
            raise BudgetExhausted

    def close(self) -> None:
        self._http.close()
