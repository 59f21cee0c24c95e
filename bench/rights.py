"""Benchmark: erasure and the access export, against baselines measured in the same run.

Erasure: subjects holding 10, 1,000 and 100,000 field values (orders, 3 fields each, plus a
profile) are erased. What makes the data unreadable, the destruction of the subject's data key
(crypto-shredding), should not grow with the data: the figure to read is the ratio of the largest
subject's key destruction to the smallest's (target: flat, about 1). Removing the rows afterwards
does grow with them, and is printed too.

Access export: the Art. 15 report of a subject with 10,000 order records (30,000 values) is built
(target: under 1 s), against the baseline of merely selecting the same rows without opening them.

    python bench/rights.py [--values 10,1000,100000] [--records 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select

from dataward.clock import SystemClock
from dataward.keys import LocalKeyring, field_aad
from dataward.keys.subject_keys import KeySlot
from dataward.policy import load_policy
from dataward.rights.report import access_report
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate, read_connection, write_transaction
from dataward.storage.tables import field_values, records

ROOT = Path(__file__).resolve().parents[1]
FIELDS_PER_ORDER = 3
console = Console()


def build_vault(home: Path) -> Vault:
    settings = Settings.load(home, {})
    home.mkdir(parents=True, exist_ok=True)
    keyring = LocalKeyring.generate(settings.keyring_path)
    engine = create_database_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    return Vault.build(settings, policy=load_policy(ROOT / "examples" / "saas.yaml"), keyring=keyring)


def subject_with_orders(vault: Vault, orders: int) -> str:
    """A subject with a profile (e-mail only: nothing a legal obligation keeps) and `orders` orders,
    sealed exactly as the service seals them, inserted in bulk."""
    with write_transaction(vault.engine) as connection:
        sid = vault.subjects.create(connection)
        vault.subjects.write(
            connection, sid, "profile", vault.subjects.check_collection("profile", {"email": "b@example.com"})
        )
    key = vault.key_store.keys(sid).open_key(KeySlot.DATA)
    assert key is not None
    now = datetime.now(UTC)
    record_rows, value_rows = [], []
    for n in range(orders):
        record_id = f"{n:08d}-0000-4000-8000-{sid[-12:]}"
        record_rows.append(
            {"id": record_id, "subject_id": sid, "collection": "orders", "created_at": now, "updated_at": now}
        )
        order = {"product": f"Product {n}", "amount_cents": n, "ordered_on": date(2026, 1, 1).isoformat()}
        for name, value in order.items():
            sealed = key.seal(json.dumps(value).encode(), field_aad(sid, "orders", name, record_id))
            value_rows.append(
                {
                    "record_id": record_id,
                    "field": name,
                    "ciphertext": sealed,
                    "updated_at": now,
                    "key_slot": 0,
                }
            )
    with write_transaction(vault.engine) as connection:
        for start in range(0, len(record_rows), 5000):
            connection.execute(insert(records), record_rows[start : start + 5000])
        for start in range(0, len(value_rows), 5000):
            connection.execute(insert(field_values), value_rows[start : start + 5000])
    return sid


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def bench_erasure(vault: Vault, sizes: list[int], repeat: int) -> dict[int, tuple[float, float]]:
    """values -> (median seconds to destroy the key, median seconds to remove the rows after)."""
    out: dict[int, tuple[float, float]] = {}
    for values in sizes:
        orders = max(0, (values - 1) // FIELDS_PER_ORDER)
        shred, rows = [], []
        for _ in range(repeat):
            sid = subject_with_orders(vault, orders)
            os.sync()  # the setup's bulk writes reach the disk first: only the erasure is timed
            gc.collect()  # and the setup's garbage is collected before, not during, the timing
            started = time.perf_counter()
            vault.key_store.destroy(sid)  # from here on, every copy of the data is unreadable
            shred.append(time.perf_counter() - started)
            with write_transaction(vault.engine) as connection:  # the rest of the erasure
                started = time.perf_counter()
                vault.subjects.erase(connection, sid)
                rows.append(time.perf_counter() - started)
        out[1 + orders * FIELDS_PER_ORDER] = (statistics.median(shred), statistics.median(rows))
    return out


def bench_export(vault: Vault, orders: int, repeat: int) -> tuple[float, float]:
    """(median seconds to build the Art. 15 report, median seconds to select the same rows)."""
    sid = subject_with_orders(vault, orders)
    clock = SystemClock()

    def report() -> object:
        with read_connection(vault.engine) as connection:
            built = access_report(
                connection, sid, subjects=vault.subjects, consent=vault.consent, policy=vault.policy,
                now=clock.now(),
            )  # fmt: skip
        assert len(built["data"]["orders"]) == orders
        return built

    def select_rows() -> object:
        with read_connection(vault.engine) as connection:
            return connection.execute(
                select(field_values.c.ciphertext).join(records).where(records.c.subject_id == sid)
            ).all()

    report()  # warm up
    return (
        statistics.median(timed(report) for _ in range(repeat)),
        statistics.median(timed(select_rows) for _ in range(repeat)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--values", default="10,1000,100000", help="field values per erased subject")
    parser.add_argument("--records", type=int, default=10_000, help="order records of the exported subject")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(v) for v in args.values.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        vault = build_vault(Path(tmp) / "home")
        try:
            erasure = bench_erasure(vault, sizes, args.repeat)
            export, baseline = bench_export(vault, args.records, args.repeat)
        finally:
            vault.close()

    table = Table("field values", "key destroyed: unreadable", "then rows and indexes removed")
    for values, (shred, whole) in erasure.items():
        table.add_row(f"{values:,}", f"{shred * 1000:.2f} ms", f"{whole * 1000:.1f} ms")
    console.print(table)
    smallest, largest = erasure[min(erasure)], erasure[max(erasure)]
    console.print(
        f"crypto-shredding, largest / smallest subject: [bold]{largest[0] / smallest[0]:.2f}[/] "
        f"(target: flat, ~1); row removal: {largest[1] / smallest[1]:.0f}x"
    )
    console.print(
        f"access report of {args.records:,} records ({args.records * FIELDS_PER_ORDER:,} values): "
        f"[bold]{export * 1000:.0f} ms[/] (target < 1,000 ms); "
        f"selecting the rows alone: {baseline * 1000:.0f} ms (ratio {export / baseline:.1f}x)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
