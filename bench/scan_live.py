"""Benchmark: `scan live` against the deliberately vulnerable example API, in requests a second.

The API (`tests/scan_targets/vulnerable_api.py`, FastAPI under uvicorn, one process) is started
here on loopback. Measured in the same run, each `--repeat` times, median:

- baseline: the scanner's own HTTP client (`LiveClient`) calling one cheap documented operation
  (`GET /departments`) in a loop: what the API and the client can do at most;
- the scan: every probe, with two identities and `--allow-destructive`, against a freshly started
  API each time (the probes change its state): requests made, seconds, requests a second, findings.

    python bench/scan_live.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from dataward.scanner.document import parse_document
from dataward.scanner.live.client import LiveClient
from dataward.scanner.live.context import Identity
from dataward.scanner.live_scan import scan_live
from support import serving_target

BASELINE_REQUESTS = 500


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    baseline, scans = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            with serving_target("vulnerable_api", Path(folder)) as target:
                client = LiveClient(target.base_url)
                started = time.perf_counter()
                for _ in range(BASELINE_REQUESTS):
                    client.request("GET", "/departments")
                baseline.append(BASELINE_REQUESTS / (time.perf_counter() - started))
                client.close()
            with serving_target("vulnerable_api", Path(folder)) as target:
                document = parse_document(target.spec_path.read_text(encoding="utf-8"), str(target.spec_path))
                identities = [Identity(name, target.token(name)) for name in ("alice", "bob")]
                started = time.perf_counter()
                result = scan_live(document, target.base_url, identities, allow_destructive=True)
                seconds = time.perf_counter() - started
                requests = int(str(result.details["requests"]))
                scans.append((requests / seconds, requests, seconds, len(result.findings)))
    base = statistics.median(baseline)
    rate, requests, seconds, findings = sorted(scans)[len(scans) // 2]
    table = Table(
        "run", "requests", "seconds", "requests/s", "x baseline", title="scan live on the example API"
    )
    table.add_row(
        "baseline: one cheap GET in a loop", str(BASELINE_REQUESTS), f"{BASELINE_REQUESTS / base:.2f}",
        f"{base:.0f}", "1.00",
    )  # fmt: skip
    table.add_row(
        f"scan live, every probe ({findings} findings)", str(requests), f"{seconds:.2f}", f"{rate:.0f}",
        f"{rate / base:.2f}",
    )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
