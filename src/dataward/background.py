"""The vault's background work while it serves: notices to processors (and the rights requests they
complete), retention sweeps on a schedule (expired refresh tokens forgotten with them), and
learning the closed hours of clients that went quiet (anomaly response). Started by
`create_app(..., background=True)`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from dataward.identity.refresh import prune_expired
from dataward.rights.outbox import DeliveryReport, run_outbox
from dataward.services import Vault
from dataward.storage import write_transaction

__all__ = ["run_background"]

log = structlog.get_logger(__name__)


async def run_background(vault: Vault, stop: asyncio.Event) -> None:
    """Run until `stop` is set; each kind of work in a worker thread, off the event loop."""
    settings = vault.settings

    def settle(_report: DeliveryReport) -> None:
        with write_transaction(vault.engine) as connection:
            vault.rights.settle_all(connection)

    def sweep() -> None:
        report = vault.sweep_retention("retention")
        if report.total:
            log.info("retention.swept", values=report.total, subjects=report.subjects)
        with write_transaction(vault.engine) as connection:
            if pruned := prune_expired(connection, vault.clock.now()):
                log.info("refresh_tokens.pruned", rows=pruned)

    if missing := vault.outbox.missing_secrets():
        log.warning("outbox.secrets_missing", variables=missing)
    await asyncio.gather(
        run_outbox(vault.outbox, settings.outbox_interval_seconds, stop, after_round=settle),
        _every(settings.retention_interval_seconds, stop, sweep, "retention"),
        vault.guard.run(stop),
    )


async def _every(interval: float, stop: asyncio.Event, work: Callable[[], None], name: str) -> None:
    """Run `work` in a worker thread now and then every `interval` seconds, until `stop` is set."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(work)
        except Exception as error:  # noqa: BLE001 - a failed round is tried again next time
            log.warning(f"{name}.round_failed", error=type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
