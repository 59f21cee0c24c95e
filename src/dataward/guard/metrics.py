"""Prometheus metrics for the vault and the gateway, served at `/metrics`.

Labels are route templates, methods, status codes and reason slugs: never a path with an id in it,
never a client's name or a subject, so no label carries personal data and none grows without bound.
Each app has a registry of its own (no process-wide default), so tests and two apps in one process
do not share counts.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From 100 microseconds (a cached read) to 10 seconds (a slow upstream).
_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "dataward_requests",
            "Requests answered, by route template and status.",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "dataward_request_duration_seconds",
            "Time to answer a request (for the gateway: its own share, upstream excluded).",
            ["service", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._upstream = Histogram(
            "dataward_upstream_duration_seconds",
            "Time the upstream API took to answer (gateway only).",
            ["service"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._denials = Counter(
            "dataward_denials",
            "Requests refused, by reason (invalid-token, forbidden, rate-limited, shadow-endpoint, ...).",
            ["service", "reason"],
            registry=self.registry,
        )
        self._anomalies = Counter(
            "dataward_anomalies",
            "Anomaly verdicts, by what was watched (reads, failures) and the step taken.",
            ["service", "kind", "level"],
            registry=self.registry,
        )
        self._removed = Counter(
            "dataward_fields_removed",
            "Personal-data fields removed from responses by minimisation (gateway only).",
            ["service"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled children are looked up once per (method, route, status): the lookup costs
        # more than counting. Routes are templates, so the cache stays as small as the API.
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._requests.labels(self.service, method, route, str(status)),
                self._latency.labels(self.service, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def upstream(self, seconds: float) -> None:
        self._upstream.labels(self.service).observe(seconds)

    def denial(self, reason: str) -> None:
        self._denials.labels(self.service, reason).inc()

    def anomaly(self, kind: str, level: str) -> None:
        self._anomalies.labels(self.service, kind, level).inc()

    def fields_removed(self, count: int) -> None:
        self._removed.labels(self.service).inc(count)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
