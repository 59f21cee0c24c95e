"""Benchmark: the vault's purpose-bound read against a bare FastAPI endpoint, in one run.

The vault's read of a 5-field record verifies the bearer token, asks the decision point, opens five
AES-GCM ciphertexts under the subject's data key, and makes an audit entry durable before it
answers. The bare endpoint returns the same JSON from the same SQLite file with no controls. Both
run under uvicorn with one worker; rounds alternate so that noise on this shared machine hits both.

    python bench/read_path.py [--subjects 500] [--seconds 5] [--rounds 3] [--connections 32]

Prints both throughputs, the ratio (target: at least 0.8), latencies, and the audit entries made.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from sqlalchemy import func, insert, select

from dataward.keys import LocalKeyring
from dataward.policy import load_policy
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate, write_transaction
from dataward.storage.tables import audit_entries
from loadgen import LoadResult, run_load
from servers import bare_metadata, bare_records

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

PROFILE = {
    "email": "person{}@example.com",
    "full_name": "Person Number {}",
    "phone": "+49 30 1234{:04d}",
    "birth_date": "1990-01-{:02d}",
    "country": "DE",
}


def prepare(home: Path, subjects: int) -> tuple[list[str], str]:
    """An installation with `subjects` 5-field profiles, the bare table, and a support-agent token."""
    settings = Settings.load(home, {})
    home.mkdir(parents=True, exist_ok=True)
    # The example policy, with limits no benchmark reaches: the limiter still counts every call.
    policy = yaml.safe_load((ROOT / "examples" / "saas.yaml").read_text())
    policy["rate_limits"] = {"default": "100000000/minute", "anonymous": "100000000/minute"}
    (home / "dataward.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    LocalKeyring.generate(settings.keyring_path)
    engine = create_database_engine(settings.database_url)
    migrate(engine)
    bare_metadata.create_all(engine)
    engine.dispose()
    vault = Vault.build(settings, policy=load_policy(settings.policy_path))
    ids = []
    try:
        for n in range(subjects):
            profile = {
                k: (v.format(n % 28 + 1) if k == "birth_date" else v.format(n)) for k, v in PROFILE.items()
            }
            with write_transaction(vault.engine) as connection:
                sid = vault.subjects.create(connection)
                vault.subjects.write(
                    connection, sid, "profile", vault.subjects.check_collection("profile", profile)
                )
                stored = vault.subjects.read(connection, sid, [f"profile.{k}" for k in PROFILE]).nested()[
                    "profile"
                ]
                connection.execute(insert(bare_records).values(id=sid, document=json.dumps(stored)))
            ids.append(sid)
        client = vault.clients.add("bench-support", "support-agent", vault.policy)
        token = vault.issuer.issue(vault.clients.authenticate(client.id, client.secret), ["support"])
    finally:
        vault.close()
    return ids, token.access_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(which: str, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    process = subprocess.Popen(
        [sys.executable, str(HERE / "servers.py"), which, str(home), str(port)], env=env
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the {which} server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def audit_count(home: Path) -> int:
    engine = create_database_engine(Settings.load(home, {}).database_url)
    with engine.connect() as connection:
        count = int(connection.execute(select(func.count()).select_from(audit_entries)).scalar_one())
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        ids, token = prepare(home, args.subjects)
        paths = [f"/v1/subjects/{sid}?purpose=support" for sid in ids]
        headers = {"Authorization": f"Bearer {token}"}
        results: dict[str, list[LoadResult]] = {"bare": [], "vault": []}
        audit_before = audit_count(home)
        for round_no in range(args.rounds):
            for which in random.sample(["bare", "vault"], 2):
                process, port = start(which, home)
                try:
                    run_load(port, paths[:50], headers, connections=4, seconds=1.0)  # warm up
                    result = run_load(
                        port, paths, headers, connections=args.connections, seconds=args.seconds
                    )
                finally:
                    stop(process)
                results[which].append(result)
                print(
                    f"round {round_no + 1} {which:5s} {result.throughput:8.0f} req/s  "
                    f"p50 {result.percentile(0.5):6.2f} ms  p99 {result.percentile(0.99):6.2f} ms  "
                    f"errors {result.errors}"
                )
        audited = audit_count(home) - audit_before

    bare = statistics.median(r.throughput for r in results["bare"])
    vault = statistics.median(r.throughput for r in results["vault"])
    vault_requests = sum(r.requests for r in results["vault"])
    print()
    print(f"bare FastAPI endpoint   {bare:8.0f} req/s (median of {args.rounds})")
    print(f"vault purpose-bound read{vault:8.0f} req/s (median of {args.rounds})")
    print(f"ratio vault/bare        {vault / bare:8.2f}  (target >= 0.80)")
    print(f"durable audit entries   {audited} for {vault_requests} measured vault reads (+ warm-up)")
    errors = sum(r.errors for rs in results.values() for r in rs)
    if errors:
        print(f"ERRORS: {errors} non-200 answers")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
