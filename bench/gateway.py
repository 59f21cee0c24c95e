"""Benchmark: the gateway's added latency and throughput, against the upstream called directly and
against nginx proxying to the same upstream, in one run on loopback.

The upstream is a minimal asyncio server started here (small fixed JSON, no framework), so what the
proxies add is not lost in the upstream's own time. Two routes: `GET /v1/health`, public and free of
personal data (pure proxy overhead: routing, the anonymous rate limit, streaming the answer back),
and `GET /v1/customers/{id}` with a support-agent token (token check, scope and purpose, the
client's rate limit, minimisation of an answer with an `x-pii` property, and a durable audit entry
before the answer goes out). nginx (Debian's, one worker, upstream keep-alive) proxies the same
upstream. Each round measures every route through every path, interleaved in a random order, so
that noise on this shared machine hits all three:

- paced, open loop: `--rate` requests a second over a few keep-alive connections; latency from the
  actual send to the last byte of the answer (p50/p90/p99), and from the scheduled send for p99
  (which counts the wait of a request due while its connection was busy);
- closed loop: `--connections` connections as fast as they go: requests a second.

    python bench/gateway.py [--quick] [--rounds 3] [--rate 1000] [--tmp /dev/shm] [--json FILE]

Prints a table (medians over the rounds), the added latency of each proxy over calling the upstream
directly, the throughput ratios, the CPU time each process spent a request, the gateway's own
timing headers (`X-Dataward-Proxy-Latency`, `X-Dataward-Upstream-Latency`) as a cross-check, and
whether the target holds: added p50 under 1 ms at 1,000 requests a second. The load generator is
Python as well; the direct column includes its cost, which the differences cancel. An audit entry
is durable before the answer leaves, so the personal route waits for an fsync of the installation's
disk (measured and printed); `--tmp /dev/shm` puts the installation on tmpfs to see the rest.

The upstream runs from this file too (`--serve-upstream PORT`), so dataward and SQLAlchemy are
imported only where the set-up uses them: the upstream starts at once and carries no large heap.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from rich.console import Console
from rich.table import Table

from loadgen import percentile, run_load, run_paced

NGINX = Path("/usr/sbin/nginx")
TARGET_ADDED_P50_MS = 1.0
TOKEN_TTL_SECONDS = 900  # the longest a vault token may live; refreshed before it runs out
CUSTOMERS = 1000
CONFIGS = ("direct", "gateway", "nginx")
ROUTES = ("public", "personal")
ROUTE_LABELS = {"public": "GET /v1/health", "personal": "GET /v1/customers/{id}"}
OWN, UPSTREAM = "X-Dataward-Proxy-Latency", "X-Dataward-Upstream-Latency"  # the gateway's timings, ms

SPEC = """\
openapi: 3.1.0
info: {title: Dataward gateway benchmark upstream, version: "1"}
paths:
  /v1/health:
    get:
      operationId: getHealth
      security: []
      responses:
        "200":
          description: Up
          content:
            application/json:
              schema:
                type: object
                properties:
                  status: {type: string}
  /v1/customers/{customer_id}:
    parameters:
      - name: customer_id
        in: path
        required: true
        schema: {type: integer, minimum: 1}
    get:
      operationId: getCustomer
      x-dataward-purpose: support
      security:
        - dataward: [support]
      responses:
        "200":
          description: The customer
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: integer}
                  email: {type: string, x-pii: profile.email}
                  plan: {type: string}
components:
  securitySchemes:
    dataward:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: http://127.0.0.1:8000/oauth/token
          scopes: {support: Answer support tickets}
"""

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-client-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    upstream app {{
        server 127.0.0.1:{upstream};
        keepalive 32;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 1000000;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


# -- the upstream: a minimal HTTP/1.1 server (GET only, keep-alive, fixed small JSON) -------------


def _answer(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


_HEALTH = _answer(b"200 OK", b'{"status":"ok"}')
_NOT_FOUND = _answer(b"404 Not Found", b'{"detail":"not found"}')
_CUSTOMERS_PREFIX = b"/v1/customers/"


def _upstream_answer(target: bytes) -> bytes:
    path = target.split(b"?", 1)[0]
    if path == b"/v1/health":
        return _HEALTH
    if path.startswith(_CUSTOMERS_PREFIX) and path[len(_CUSTOMERS_PREFIX) :].isdigit():
        n = int(path[len(_CUSTOMERS_PREFIX) :])
        return _answer(b"200 OK", b'{"id":%d,"email":"person%d@example.com","plan":"basic"}' % (n, n))
    return _NOT_FOUND


class _Upstream(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            lines = head.split(b"\r\n")
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if len(self.buffer) < end + 4 + length:
                return  # the body is still on its way
            self.buffer = self.buffer[end + 4 + length :]
            parts = lines[0].split(b" ")
            self.transport.write(_upstream_answer(parts[1]) if len(parts) == 3 else _NOT_FOUND)
            if close:
                self.transport.close()
                return


async def _serve_upstream(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Upstream, "127.0.0.1", port, backlog=1024)
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    server.close()


def serve_upstream(port: int) -> None:
    try:
        import uvloop  # noqa: PLC0415 - the gateway's uvicorn runs on it as well

        uvloop.run(_serve_upstream(port))
    except ImportError:
        asyncio.run(_serve_upstream(port))


# -- the installation, the token and the processes ------------------------------------------------


def dataward(*args: str) -> str:
    """Run the `dataward` command of this interpreter's environment; its standard output."""
    command = Path(sys.executable).with_name("dataward")
    done = subprocess.run([str(command), *args], capture_output=True, text=True, check=False, env=clean_env())
    if done.returncode != 0:
        raise RuntimeError(f"dataward {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def clean_env() -> dict[str, str]:
    """This environment without DATAWARD_* settings, so that the gateway and the token agree."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DATAWARD_")}


def prepare(home: Path) -> tuple[str, str]:
    """An installation whose limits are out of the way (the bench measures the proxy, not the
    limiter or anomaly response), and a support-agent client: its id and secret."""
    dataward("init", "--dir", str(home))
    policy_path = home / "dataward.yaml"
    policy = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    policy["rate_limits"] = {"default": "1000000/minute", "anonymous": "1000000/minute"}
    policy["anomaly"] = {
        **policy.get("anomaly", {}),
        "learning_records_per_hour": 100_000_000,
        "learning_subjects_per_hour": 100_000_000,
    }
    policy_path.write_text(yaml.safe_dump(policy, sort_keys=False, allow_unicode=True), encoding="utf-8")
    client = json.loads(
        dataward("clients", "add", "bench-gateway", "--role", "support-agent", "--dir", str(home), "--json")
    )
    return str(client["client_id"]), str(client["client_secret"])


@dataclass
class Token:
    home: Path
    client_id: str
    secret: str
    value: str = ""
    expires: float = 0.0  # time.monotonic()

    def fresh(self, needed_seconds: float) -> str:
        """A token that outlives the next `needed_seconds` (plus a minute), minted in-process."""
        if time.monotonic() + needed_seconds + 60 >= self.expires:
            from dataward.services import Vault  # noqa: PLC0415 - see the note on imports at the top
            from dataward.settings import Settings  # noqa: PLC0415

            settings = Settings.load(self.home, {"DATAWARD_TOKEN_TTL": str(TOKEN_TTL_SECONDS)})
            vault = Vault.build(settings)
            try:
                issued = vault.issuer.issue(
                    vault.clients.authenticate(self.client_id, self.secret), ["support"]
                )
            finally:
                vault.close()
            self.value, self.expires = issued.access_token, time.monotonic() + TOKEN_TTL_SECONDS - 5
        return self.value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(process: subprocess.Popen[bytes], port: int, name: str, log: Path | None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    process.kill()
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{name} did not start\n{tail}")


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGINT) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Servers:
    tmp: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    stop_signals: dict[str, int] = field(default_factory=dict)

    def start(self, name: str, command: list[str], port: int, stop_signal: int = signal.SIGINT) -> None:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=clean_env())
        self.processes[name], self.stop_signals[name] = process, stop_signal
        wait_for_port(process, port, name, log)

    def stop_all(self) -> None:
        for name, process in reversed(self.processes.items()):
            stop(process, self.stop_signals[name])

    def cpu_seconds(self, name: str) -> float | None:
        """User + system CPU time of the process (every thread), from /proc; None elsewhere."""
        process = self.processes.get(name)
        try:
            stat = Path(f"/proc/{process.pid}/stat").read_text() if process else ""
        except OSError:
            return None
        if not stat:
            return None
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_servers(tmp: Path, home: Path, spec: Path, with_nginx: bool) -> Servers:
    servers = Servers(tmp)
    try:
        upstream_port = free_port()
        servers.start(
            "upstream",
            [sys.executable, str(Path(__file__).resolve()), "--serve-upstream", str(upstream_port)],
            upstream_port,
        )
        servers.ports["direct"] = upstream_port
        gateway_port = free_port()
        command = Path(sys.executable).with_name("dataward")
        gateway = [str(command), "gateway", "--dir", str(home), "--spec", str(spec)]
        gateway += [
            "--upstream",
            f"http://127.0.0.1:{upstream_port}",
            "--listen",
            f"127.0.0.1:{gateway_port}",
        ]
        servers.start("gateway", gateway, gateway_port)
        servers.ports["gateway"] = gateway_port
        if with_nginx:
            nginx_port = free_port()
            conf = tmp / "nginx.conf"
            conf.write_text(NGINX_CONF.format(tmp=tmp, upstream=upstream_port, port=nginx_port))
            servers.start(
                "nginx",
                [str(NGINX), "-e", str(tmp / "nginx-error.log"), "-p", str(tmp), "-c", str(conf)],
                nginx_port,
                signal.SIGTERM,
            )
            servers.ports["nginx"] = nginx_port
    except BaseException:
        servers.stop_all()
        raise
    return servers


def fsync_ms(directory: Path, count: int = 50) -> float:
    """The median time of an fsync in `directory`: what the durable audit entry waits for."""
    times = []
    probe = directory / "fsync-probe"
    with probe.open("wb") as f:
        for _ in range(count):
            f.write(b"x" * 4096)
            f.flush()
            started = time.perf_counter()
            os.fsync(f.fileno())
            times.append((time.perf_counter() - started) * 1000)
    probe.unlink()
    return statistics.median(times)


def audit_count(home: Path) -> int:
    from sqlalchemy import func, select  # noqa: PLC0415 - see the note on imports at the top

    from dataward.settings import Settings  # noqa: PLC0415
    from dataward.storage import create_database_engine  # noqa: PLC0415
    from dataward.storage.tables import audit_entries  # noqa: PLC0415

    engine = create_database_engine(Settings.load(home, {}).database_url)
    with engine.connect() as connection:
        count = int(connection.execute(select(func.count()).select_from(audit_entries)).scalar_one())
    engine.dispose()
    return count


def check_answers(ports: dict[str, int], token: str) -> None:
    """One request per route and path before anything is timed: the same answer every way."""
    for config, port in ports.items():
        if config not in CONFIGS:
            continue
        for route, path in (("public", "/v1/health"), ("personal", "/v1/customers/7")):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                headers = {"Authorization": f"Bearer {token}"} if route == "personal" else {}
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = json.loads(response.read())
                own = response.getheader("X-Dataward-Proxy-Latency")
            finally:
                connection.close()
            expected = (
                {"status": "ok"}
                if route == "public"
                else {"id": 7, "email": "person7@example.com", "plan": "basic"}
            )
            if response.status != 200 or body != expected:
                raise RuntimeError(f"{config} {path}: {response.status} {body}")
            if config == "gateway" and own is None:
                raise RuntimeError("the gateway's answer has no X-Dataward-Proxy-Latency header")


# -- measuring --------------------------------------------------------------------------------------


@dataclass
class Load:
    paths: list[str]
    headers: dict[str, str]


def routes(token: str) -> dict[str, Load]:
    customers = [f"/v1/customers/{n}" for n in range(1, CUSTOMERS + 1)]
    return {
        "public": Load(["/v1/health"], {}),
        "personal": Load(customers, {"Authorization": f"Bearer {token}"}),
    }


Stats = dict[str, float]
Row = dict[str, float | None]


def cpu_snapshot(servers: Servers, config: str) -> dict[str, float | None]:
    return {
        "client": time.process_time(),
        "upstream": servers.cpu_seconds("upstream"),
        "proxy": servers.cpu_seconds(config) if config != "direct" else None,
    }


def cpu_used(servers: Servers, config: str, before: dict[str, float | None], requests: int) -> Stats:
    """CPU microseconds a request, since `before`: the load generator, the upstream, the proxy."""
    after = cpu_snapshot(servers, config)
    out: Stats = {}
    for name, then in before.items():
        now = after[name]
        if then is not None and now is not None and requests:
            out[f"{name}_cpu_us"] = (now - then) / requests * 1e6
    return out


def paced_phase(servers: Servers, config: str, load: Load, args: argparse.Namespace) -> Stats:
    before = cpu_snapshot(servers, config)
    result = run_paced(
        servers.ports[config],
        load.paths,
        load.headers,
        rate=args.rate,
        connections=args.paced_connections,
        seconds=args.paced_seconds,
        capture_headers=(OWN, UPSTREAM) if config == "gateway" else (),
    )
    stats = {
        "p50": percentile(result.latencies_ms, 0.5),
        "p90": percentile(result.latencies_ms, 0.9),
        "p99": percentile(result.latencies_ms, 0.99),
        "sched_p50": percentile(result.from_schedule_ms, 0.5),
        "sched_p99": percentile(result.from_schedule_ms, 0.99),
        "lag_p50": percentile(result.send_lag_ms, 0.5),
        "lag_p99": percentile(result.send_lag_ms, 0.99),
        "achieved_rate": result.throughput,
        "requests": float(result.requests),
        "missed": float(result.missed),
        "errors": float(result.errors),
        **cpu_used(servers, config, before, result.requests),
    }
    for header, key in ((OWN, "own"), (UPSTREAM, "upstream_header")):
        if values := result.header_values.get(header):
            stats[f"{key}_p50"] = percentile(values, 0.5)
            stats[f"{key}_p99"] = percentile(values, 0.99)
    return stats


def closed_phase(servers: Servers, config: str, load: Load, args: argparse.Namespace) -> Stats:
    before = cpu_snapshot(servers, config)
    result = run_load(
        servers.ports[config],
        load.paths,
        load.headers,
        connections=args.connections,
        seconds=args.closed_seconds,
    )
    return {
        "rps": result.throughput,
        "p50": result.percentile(0.5),
        "p99": result.percentile(0.99),
        "requests": float(result.requests),
        "errors": float(result.errors),
        **cpu_used(servers, config, before, result.requests),
    }


@dataclass
class Results:
    phases: list[dict[str, Any]] = field(default_factory=list)

    def add(self, round_no: int, kind: str, route: str, config: str, stats: Stats) -> None:
        self.phases.append({"round": round_no, "kind": kind, "route": route, "config": config, **stats})

    def median(self, kind: str, route: str, config: str, key: str) -> float | None:
        values = [
            float(p[key])
            for p in self.phases
            if (p["kind"], p["route"], p["config"]) == (kind, route, config) and key in p
        ]
        return statistics.median(values) if values else None

    def total(self, key: str, **where: str) -> float:
        return sum(float(p.get(key, 0)) for p in self.phases if all(p[k] == v for k, v in where.items()))


_PACED_KEYS = tuple(
    "p50 p90 p99 sched_p99 lag_p50 lag_p99 achieved_rate own_p50 own_p99 upstream_header_p50 "
    "upstream_header_p99 proxy_cpu_us upstream_cpu_us client_cpu_us".split()
)
_CLOSED_KEYS = ("rps", "p50", "p99", "proxy_cpu_us", "upstream_cpu_us", "client_cpu_us")


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summarise(results: Results, configs: list[str]) -> dict[str, dict[str, Row]]:
    """Per route and path: the medians over the rounds, and what each proxy adds to direct."""
    summary: dict[str, dict[str, Row]] = {}
    for route in ROUTES:
        rows: dict[str, Row] = {}
        for config in configs:
            row: Row = {f"paced_{k}": results.median("paced", route, config, k) for k in _PACED_KEYS}
            row |= {f"closed_{k}": results.median("closed", route, config, k) for k in _CLOSED_KEYS}
            rows[config] = row
        direct = rows["direct"]
        for config in configs[1:]:
            row = rows[config]
            row["added_p50"] = _minus(row["paced_p50"], direct["paced_p50"])
            row["added_p99"] = _minus(row["paced_p99"], direct["paced_p99"])
            row["rps_vs_direct"] = _ratio(row["closed_rps"], direct["closed_rps"])
        if "nginx" in rows:
            gateway, nginx = rows["gateway"], rows["nginx"]
            gateway["rps_vs_nginx"] = _ratio(gateway["closed_rps"], nginx["closed_rps"])
            gateway["added_p50_over_nginx"] = _minus(gateway["added_p50"], nginx["added_p50"])
        summary[route] = rows
    return summary


def verdicts(summary: dict[str, dict[str, Row]]) -> dict[str, bool]:
    """Per route: whether the gateway's added p50 at the paced rate is under the target."""
    out = {}
    for route, rows in summary.items():
        added = rows["gateway"]["added_p50"]
        out[route] = added is not None and added < TARGET_ADDED_P50_MS
    return out


# -- reporting --------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def report(summary: dict[str, dict[str, Row]], configs: list[str], args: argparse.Namespace) -> None:
    console = Console(width=160)
    paced = Table(
        title=f"Paced (open loop): {args.rate:,.0f} req/s scheduled over {args.paced_connections} keep-alive "
        f"connections, {args.paced_seconds:g} s a phase. Latency in ms from the actual send to the last byte "
        f"(p99 from schedule: from when it was due). Medians of {args.rounds} round(s).",
        title_justify="left",
    )
    columns = (
        "route",
        "via",
        "done req/s",
        "p50",
        "p90",
        "p99",
        "added p50",
        "added p99",
        "p99 from schedule",
        "gateway's own p50 / p99",
        "proxy CPU µs/req",
    )
    for name in columns:
        paced.add_column(name, justify="left" if name in ("route", "via") else "right")
    closed = Table(
        title=f"Closed loop: {args.connections} connections as fast as they go, {args.closed_seconds:g} s a "
        f"phase. Medians of {args.rounds} round(s).",
        title_justify="left",
    )
    for name in ("route", "via", "req/s", "x direct", "x nginx", "p50 ms", "p99 ms", "proxy CPU µs/req"):
        closed.add_column(name, justify="left" if name in ("route", "via") else "right")
    for route in ROUTES:
        for config in configs:
            row = summary[route][config]
            label = ROUTE_LABELS[route] if config == configs[0] else ""
            own = (
                f"{_f(row['paced_own_p50'], 3)} / {_f(row['paced_own_p99'], 3)}"
                if config == "gateway"
                else ""
            )
            paced.add_row(
                label,
                config,
                _f(row["paced_achieved_rate"], 0),
                _f(row["paced_p50"]),
                _f(row["paced_p90"]),
                _f(row["paced_p99"]),
                _signed(row.get("added_p50")),
                _signed(row.get("added_p99")),
                _f(row["paced_sched_p99"]),
                own,
                _f(row["paced_proxy_cpu_us"], 0),
            )
            closed.add_row(
                label,
                config,
                _f(row["closed_rps"], 0),
                _f(row.get("rps_vs_direct"), 2) if config != "direct" else "1.00",
                _f(row.get("rps_vs_nginx"), 2) if config == "gateway" else "",
                _f(row["closed_p50"]),
                _f(row["closed_p99"]),
                _f(row["closed_proxy_cpu_us"], 0),
            )
        if route != ROUTES[-1]:
            paced.add_section()
            closed.add_section()
    console.print(paced)
    console.print(closed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one short round (about half a minute)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3, quick 1)")
    parser.add_argument("--rate", type=float, default=1000.0, help="paced requests a second")
    parser.add_argument("--paced-seconds", type=float, default=None, help="default 4, quick 2")
    parser.add_argument("--paced-connections", type=int, default=8)
    parser.add_argument("--closed-seconds", type=float, default=None, help="default 3, quick 1.5")
    parser.add_argument("--connections", type=int, default=32, help="closed-loop connections")
    parser.add_argument(
        "--tmp",
        type=Path,
        default=None,
        help="where the installation goes (its disk sets the audit's fsync time); default: the temp folder",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--serve-upstream", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.paced_seconds = args.paced_seconds or (2.0 if args.quick else 4.0)
    args.closed_seconds = args.closed_seconds or (1.5 if args.quick else 3.0)
    return args


@dataclass
class Run:
    results: Results
    audited: int  # durable audit entries made while the bench ran (measured and warm-up)
    fsync_ms: float
    gateway_warnings: list[str]  # the gateway's log lines at warning level or above


def warm_up(servers: Servers, configs: list[str], token: str) -> None:
    """Connections, pools and caches, before anything is timed."""
    for config in configs:
        for load in routes(token).values():
            warm = run_load(servers.ports[config], load.paths[:50], load.headers, connections=4, seconds=0.5)
            if warm.errors:
                raise RuntimeError(f"{config}: {warm.errors} errors while warming up")


def run_rounds(servers: Servers, configs: list[str], token: Token, args: argparse.Namespace) -> Results:
    results = Results()
    round_seconds = len(configs) * len(ROUTES) * (args.paced_seconds * 1.25 + args.closed_seconds)
    for round_no in range(1, args.rounds + 1):
        loads = routes(token.fresh(round_seconds + 30))
        for kind, phase in (("paced", paced_phase), ("closed", closed_phase)):
            for route in ROUTES:
                for config in random.sample(configs, len(configs)):  # a new order every time
                    stats = phase(servers, config, loads[route], args)
                    results.add(round_no, kind, route, config, stats)
                    figure = (
                        f"{stats['achieved_rate']:5.0f} req/s done  p50 {stats['p50']:6.2f}  "
                        f"p99 {stats['p99']:6.2f} ms"
                        if kind == "paced"
                        else f"{stats['rps']:5.0f} req/s  p50 {stats['p50']:6.2f}  p99 {stats['p99']:6.2f} ms"
                    )
                    errors = f"errors {stats['errors']:.0f}"
                    print(f"round {round_no} {kind:6s} {route:8s} {config:7s} {figure}  {errors}")
    return results


def warnings_in(log: Path) -> list[str]:
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if any(f'"{level}"' in line for level in ("warning", "error", "critical"))]


def run(args: argparse.Namespace, configs: list[str]) -> Run:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp_name:
        tmp = Path(tmp_name)
        home, spec = tmp / "home", tmp / "openapi.yaml"
        spec.write_text(SPEC)
        client_id, secret = prepare(home)
        token = Token(home, client_id, secret)
        token.fresh(0)
        fsync = fsync_ms(home)
        servers = start_servers(tmp, home, spec, "nginx" in configs)
        try:
            check_answers(servers.ports, token.value)
            gc.collect()
            gc.freeze()  # what the set-up loaded stays out of the load generator's collections
            audit_before = audit_count(home)
            warm_up(servers, configs, token.value)
            results = run_rounds(servers, configs, token, args)
            time.sleep(0.5)  # the last audit batch
            audited = audit_count(home) - audit_before
        finally:
            servers.stop_all()
        return Run(results, audited, fsync, warnings_in(tmp / "gateway.log"))


def print_findings(
    outcome: Run, summary: dict[str, dict[str, Row]], args: argparse.Namespace, elapsed: float
) -> None:
    met = verdicts(summary)
    for route in ROUTES:
        gateway, nginx = summary[route]["gateway"], summary[route].get("nginx")
        verdict = "met" if met[route] else "MISSED"
        done = gateway["paced_achieved_rate"]
        if done is not None and done < 0.95 * args.rate:
            verdict += f" (it answered {done:,.0f} of the {args.rate:,.0f} req/s scheduled)"
        beside = f"; nginx adds {_signed(nginx['added_p50'])} ms" if nginx else ""
        print(
            f"target {ROUTE_LABELS[route]:24s} gateway adds p50 {_signed(gateway['added_p50'])} ms at "
            f"{args.rate:,.0f} req/s (< {TARGET_ADDED_P50_MS:g} ms): {verdict}{beside}"
        )
    for route in ROUTES:
        gateway, direct = summary[route]["gateway"], summary[route]["direct"]
        print(
            f"gateway headers, {ROUTE_LABELS[route]}: its own share (X-Dataward-Proxy-Latency) p50 "
            f"{_f(gateway['paced_own_p50'], 3)} / p99 {_f(gateway['paced_own_p99'], 3)} ms; its call to "
            f"the upstream (X-Dataward-Upstream-Latency) p50 {_f(gateway['paced_upstream_header_p50'], 3)} "
            f"/ p99 {_f(gateway['paced_upstream_header_p99'], 3)} ms, against {_f(direct['paced_p50'], 3)} "
            f"/ {_f(direct['paced_p99'], 3)} ms for the same upstream called directly"
        )
    direct = summary["public"]["direct"]
    print(
        "the load generator is Python too, and the direct column includes it: "
        f"{_f(direct['paced_client_cpu_us'], 0)} µs CPU a request paced, "
        f"{_f(direct['closed_client_cpu_us'], 0)} µs closed (the upstream: "
        f"{_f(direct['paced_upstream_cpu_us'], 0)} µs); paced sends went out late by "
        f"p50 {_f(direct['paced_lag_p50'])} / p99 {_f(direct['paced_lag_p99'])} ms (timer granularity)"
    )
    answers = outcome.results.total("requests", config="gateway", route="personal")
    print(
        f"fsync on the installation's disk: {outcome.fsync_ms:.2f} ms (median); durable audit entries: "
        f"{outcome.audited} for {answers:.0f} measured personal-data answers through the gateway (+ warm-up)"
    )
    missed = outcome.results.total("missed")
    if missed:
        print(f"paced requests never sent (a path fell more than a quarter phase behind): {missed:.0f}")
    for line in outcome.gateway_warnings[:5]:
        print(f"gateway log: {line}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{os.cpu_count()} CPUs (load average {load:.1f} at the end), Python {platform.python_version()}, "
        f"whole run {elapsed:.0f} s"
    )


def write_json(
    path: Path, outcome: Run, summary: dict[str, dict[str, Row]], args: argparse.Namespace, elapsed: float
) -> None:
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    settings.pop("serve_upstream", None)
    document = {
        "settings": settings,
        "environment": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(),
            "nginx": nginx_version() if NGINX.exists() else None,
            "fsync_ms": outcome.fsync_ms,
        },
        "target": {
            "added_p50_ms_below": TARGET_ADDED_P50_MS,
            "at_rate": args.rate,
            "met": verdicts(summary),
        },
        "summary": summary,
        "audit_entries": outcome.audited,
        "gateway_warnings": outcome.gateway_warnings,
        "phases": outcome.results.phases,
        "seconds": elapsed,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path}")


def nginx_version() -> str:
    done = subprocess.run([str(NGINX), "-v"], capture_output=True, text=True, check=False)
    return done.stderr.strip().removeprefix("nginx version: ")


def main() -> None:
    args = parse_args()
    if args.serve_upstream is not None:
        serve_upstream(args.serve_upstream)
        return
    configs = [c for c in CONFIGS if c != "nginx" or NGINX.exists()]
    if "nginx" not in configs:
        print(f"nginx not found at {NGINX}: its column is skipped (apt-get install nginx-light)")
    began = time.monotonic()
    outcome = run(args, configs)
    elapsed = time.monotonic() - began
    summary = summarise(outcome.results, configs)
    print()
    report(summary, configs, args)
    print()
    print_findings(outcome, summary, args, elapsed)
    if args.json is not None:
        write_json(args.json, outcome, summary, args, elapsed)
    errors = outcome.results.total("errors")
    if errors:
        print(f"ERRORS: {errors:.0f} answers were not 200")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
