"""Run an ASGI app under uvicorn the way `dataward serve` does, with the process tuned for serving.

The vault parks every request on its audit entry until the batch is durable, so a few dozen
requests' objects are alive at once; that keeps tripping the cyclic garbage collector, whose full
collections then walk every object loaded at start-up (the policy, the fideslang taxonomy, the
web framework) and stop the event loop for tens of milliseconds. Freezing what exists at start-up
takes it out of every collection; raising the first threshold lets a batch come and go between
collections.
"""

from __future__ import annotations

import gc
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

__all__ = ["freeze_startup_objects", "run_server"]

_GEN0_THRESHOLD = 10_000  # CPython's default is 2,000 on 3.13 and 700 before it


def freeze_startup_objects() -> None:
    """Collect once, then keep everything alive now out of later collections (`gc.freeze`)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(_GEN0_THRESHOLD, gc.get_threshold()[0]), gen1, gen2)


def run_server(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_level: str = "info",
) -> None:
    freeze_startup_objects()
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        access_log=False,  # ours names the route template, never a path with ids in it
        server_header=False,
        proxy_headers=False,
        log_level=log_level,
    )
