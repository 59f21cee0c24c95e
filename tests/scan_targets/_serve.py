"""Serving a scan target on this machine only: `python tests/scan_targets/<app>.py --port 9100`.

There is no `--host`: these apps are vulnerable or hold demo credentials, so they bind 127.0.0.1.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import uvicorn
from fastapi import FastAPI

__all__ = ["serve"]


def serve(
    create_app: Callable[[], FastAPI], *, name: str, default_port: int, argv: Sequence[str] | None = None
) -> None:
    parser = argparse.ArgumentParser(description=f"Serve {name} on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=default_port, help=f"the port (default: {default_port})")
    arguments = parser.parse_args(argv)
    uvicorn.run(create_app(), host="127.0.0.1", port=arguments.port, log_level="warning")
