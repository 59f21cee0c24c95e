"""A small HTTP/1.1 load generator for loopback benchmarks. Bounded in count and time; loopback only.

Closed loop (`run_load`): `connections` keep-alive connections each send a request, read the whole
answer, and send the next, until `seconds` pass or `max_requests` are sent: how much a server can do.

Paced, open loop (`run_paced`): requests go out on a fixed schedule, `rate` a second, dealt in turn
to `connections` keep-alive connections (request i on connection i mod n, as wrk2 does). A
connection still waiting for an answer when its next request is due sends it as soon as the answer
is in, so a slow answer delays what follows it; the latency counted from the scheduled time includes
that wait (no coordinated omission), the one counted from the actual send does not.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LoadResult", "PacedResult", "percentile", "run_load", "run_paced"]


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


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank `p` quantile (0.5, 0.99) of `values`; 0.0 for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


@dataclass(frozen=True)
class PacedResult:
    rate: float  # requests a second, as scheduled
    scheduled: int  # requests the schedule held
    requests: int  # answered
    errors: int  # answered, but not 200
    seconds: float
    latencies_ms: list[float]  # from the actual send to the last byte of the answer
    from_schedule_ms: list[float]  # from the scheduled send to the last byte (includes any wait)
    send_lag_ms: list[float]  # how late each request went out (timer granularity, busy connection)
    header_values: dict[str, list[float]]  # the numbers in each of `capture_headers`, where present

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @property
    def missed(self) -> int:
        """Scheduled requests never sent: the run hit its time bound while behind the schedule."""
        return self.scheduled - self.requests


@dataclass
class _PacedLog:
    latencies: list[float]
    from_schedule: list[float]
    lag: list[float]
    header_values: dict[str, list[float]]


async def _paced_connection(
    port: int,
    paths: Sequence[bytes],
    headers: bytes,
    times: Sequence[float],
    deadline: float,
    capture: dict[bytes, str],
    log: _PacedLog,
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        for scheduled in times:
            now = time.perf_counter()
            if now >= deadline:
                break
            if scheduled > now:
                await asyncio.sleep(scheduled - now)
            path = random.choice(paths)
            sent = time.perf_counter()
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            values = []
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                name = name.lower()
                if name == b"content-length":
                    length = int(value)
                elif name in capture:
                    values.append((capture[name], float(value)))
            await reader.readexactly(length)
            done = time.perf_counter()
            log.latencies.append((done - sent) * 1000)
            log.from_schedule.append((done - scheduled) * 1000)
            log.lag.append(max(0.0, sent - scheduled) * 1000)
            for header, number in values:
                log.header_values[header].append(number)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
    finally:
        writer.close()
    return errors


async def _run_paced(
    port: int,
    paths: Sequence[bytes],
    headers: bytes,
    rate: float,
    connections: int,
    seconds: float,
    capture: dict[bytes, str],
) -> PacedResult:
    total = max(1, int(rate * seconds))
    log = _PacedLog([], [], [], {header: [] for header in capture.values()})
    lead = 0.05  # the connections are opened before the first request is due
    start = time.perf_counter() + lead
    schedule = [[start + i / rate for i in range(c, total, connections)] for c in range(connections)]
    deadline = start + seconds + max(1.0, seconds / 4)  # far behind schedule: stop, count the rest
    errors = await asyncio.gather(
        *(_paced_connection(port, paths, headers, times, deadline, capture, log) for times in schedule)
    )
    elapsed = time.perf_counter() - start
    return PacedResult(
        rate,
        total,
        len(log.latencies),
        sum(errors),
        elapsed,
        log.latencies,
        log.from_schedule,
        log.lag,
        log.header_values,
    )


def run_paced(
    port: int,
    paths: Sequence[str],
    headers: dict[str, str],
    *,
    rate: float = 1000.0,
    connections: int = 8,
    seconds: float = 5.0,
    capture_headers: Sequence[str] = (),
) -> PacedResult:
    """Send `rate` requests a second for `seconds` (open loop), over `connections` connections.
    `capture_headers` name response headers with a number in them to collect, such as a server's
    own timings."""
    header_bytes = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    encoded = [p.encode() for p in paths]
    capture = {header.lower().encode(): header for header in capture_headers}
    return asyncio.run(_run_paced(port, encoded, header_bytes, rate, connections, seconds, capture))
