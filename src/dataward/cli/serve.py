"""`dataward serve`: run the vault's HTTP API."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import structlog
import typer

from dataward.api.server import run_server
from dataward.app import create_app
from dataward.cli._common import DirOption, check_listening, err_console, open_vault
from dataward.net import is_loopback
from dataward.storage import migrate


def serve(
    directory: DirOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).", exists=True)] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).", exists=True)] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow plain HTTP on a non-loopback address.")
    ] = False,
    access_log: Annotated[bool, typer.Option(help="Log one JSON line per request.")] = True,
) -> None:
    """Serve the vault's API (OpenAPI at /openapi.json, docs at /docs).

    Example: dataward serve --dir ./vault --port 8000
    """
    check_listening(host, tls_cert, tls_key, insecure)
    configure_logging()
    vault = open_vault(directory)
    if vault.settings.notifier == "console" and not is_loopback(host):
        err_console.print(
            "[yellow]warning:[/] one-time sign-in codes go to this console (DATAWARD_NOTIFIER=console), "
            "and with them the addresses they are for; set DATAWARD_NOTIFIER=smtp or webhook"
        )
    if vault.settings.key_store_url == vault.settings.database_url:
        err_console.print(
            "[yellow]warning:[/] the subjects' keys share the data's database, so its backups hold "
            "both and an erasure does not reach them; set DATAWARD_KEYSTORE_URL to a database "
            "backed up apart"
        )
    migrate(vault.engine)
    vault.regions.migrate()
    app = create_app(vault, access_log=access_log, background=True)
    run_server(app, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)


def configure_logging() -> None:
    level = getattr(logging, os.environ.get("DATAWARD_LOG_LEVEL", "INFO").upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
