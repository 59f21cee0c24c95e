"""A small closed-loop HTTP/1.1 load generator for loopback benchmarks.

`connections` keep-alive connections each send a request, read the whole answer, and send the next,
until `seconds` pass or `max_requests` are sent. Bounded in count and time; loopback only.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LoadResult", "run_load"]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


async def _connection(
    port: int, paths: Sequence[bytes], headers: bytes, deadline: float, budget: list[int], out: list[float]
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            path = random.choice(paths)
            started = time.perf_counter()
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            out.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
    finally:
        writer.close()
    return errors


async def _run(
    port: int, paths: Sequence[bytes], headers: bytes, connections: int, seconds: float, max_requests: int
) -> LoadResult:
    budget = [max_requests]
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    errors = await asyncio.gather(
        *(_connection(port, paths, headers, deadline, budget, latencies) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), sum(errors), elapsed, latencies)


def run_load(
    port: int,
    paths: Sequence[str],
    headers: dict[str, str],
    *,
    connections: int = 32,
    seconds: float = 5.0,
    max_requests: int = 200_000,
) -> LoadResult:
    header_bytes = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    encoded = [p.encode() for p in paths]
    return asyncio.run(_run(port, encoded, header_bytes, connections, seconds, max_requests))
