"""Helpers for tests: an HTTP client with registered clients per role, and a fast password hasher."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
from argon2 import PasswordHasher
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from dataward.identity import NewClient
from dataward.identity.notifiers import MemoryNotifier
from dataward.services import Vault


class _Closing(Protocol):
    async def close(self) -> None: ...


T = TypeVar("T", bound=_Closing)

__all__ = [
    "FAST_HASHER",
    "ApiClient",
    "Page",
    "Ran",
    "certificate_authority",
    "free_port",
    "parse_page",
    "run_dataward",
    "run_on_two",
    "running",
    "self_signed_certificate",
]

# Argon2 with the smallest cost: tests register many clients; production keeps the library default.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class ApiClient:
    """A TestClient with registered clients, one per role, and tokens for them."""

    http: TestClient
    vault: Vault
    credentials: dict[str, NewClient] = field(default_factory=dict)

    def register(self, role: str, name: str | None = None) -> NewClient:
        client = self.vault.clients.add(name or f"{role}-{secrets.token_hex(3)}", role, self.vault.policy)
        self.credentials[role] = client
        return client

    def token(self, role: str, scope: str | None = None) -> str:
        client = self.credentials.get(role) or self.register(role)
        form = {"grant_type": "client_credentials", "client_id": client.id, "client_secret": client.secret}
        if scope is not None:
            form["scope"] = scope
        response = self.http.post("/oauth/token", data=form)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def auth(self, role: str, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, scope)}"}

    def subject_auth(self, email: str) -> dict[str, str]:
        """Sign in as the subject with this e-mail, by one-time code (the vault's notifier must be a
        `MemoryNotifier`, as in the `vault` fixture), and return the Authorization header."""
        started = self.http.post("/v1/me/challenges", json={"field": "profile.email", "value": email})
        assert started.status_code == 202, started.text
        notifier = self.vault.notifier
        assert isinstance(notifier, MemoryNotifier)
        code = notifier.sent[-1].code
        answer = self.http.post(
            "/v1/me/token", json={"challenge_id": started.json()["challenge_id"], "code": code}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def new_subject(self, profile: Mapping[str, object] | None = None) -> str:
        headers = self.auth("signup")
        response = self.http.post("/v1/subjects", headers=headers)
        assert response.status_code == 201, response.text
        subject_id: str = response.json()["id"]
        if profile is not None:
            written = self.http.put(f"/v1/subjects/{subject_id}/profile", headers=headers, json=profile)
            assert written.status_code == 200, written.text
        return subject_id


@dataclass(frozen=True)
class Ran:
    """What a `dataward` command did: its exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_dataward(cwd: Path, *args: str | Path) -> Ran:
    """Run the CLI as a user would, through its entry point in a process of its own, with no
    `DATAWARD_*` settings inherited. Fails the test on any traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAWARD_")}
    env["COLUMNS"] = "200"  # rich wraps at the terminal width; keep each message on one line
    done = subprocess.run(
        [sys.executable, "-c", "from dataward.cli.main import main; main()", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return Ran(done.returncode, done.stdout, done.stderr)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own authority, and its key (0600), as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _answers(url: str) -> bool:
    if url.startswith("https://"):
        port = httpx.URL(url).port
        try:
            socket.create_connection(("127.0.0.1", port or 443), timeout=2).close()
        except OSError:
            return False
        return True
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True


def certificate_authority(folder: Path) -> dict[str, Path]:
    """A small PKI for mutual TLS: an authority (`ca`), a server certificate for 127.0.0.1
    (`server`, `server_key`) and a client certificate (`client`, `client_key`) it signed; keys 0600."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dataward test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    out = {"ca": folder / "ca.pem"}
    out["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for role, name, san in (("server", "127.0.0.1", True), ("client", "gateway", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )  # fmt: skip
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        out[role] = folder / f"{role}.pem"
        out[role].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{role}_key"] = folder / f"{role}-key.pem"
        out[f"{role}_key"].touch(mode=0o600)
        out[f"{role}_key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return out


def run_on_two(make: Callable[[], T], scenario: Callable[[T, T], Awaitable[None]]) -> None:
    """Run `scenario` on two instances from `make` (two replicas, or one shared in memory), in one
    event loop, closing both afterwards."""

    async def main() -> None:
        one, other = make(), make()
        try:
            await scenario(one, other)
        finally:
            await one.close()
            await other.close()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def running(command: list[str], env: Mapping[str, str], ready_url: str, log: Path) -> Iterator[None]:
    """A server process started with `command`, once `ready_url` answers (for an https:// URL: once
    its port takes connections, since it may want a client certificate); stopped (by its own PID)
    afterwards. The test fails with the server's log if it dies or never answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while not _answers(ready_url):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Page(HTMLParser):
    """The tags, attributes and text a browser would see in an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


# -- the scan targets, served ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServedTarget:
    """One of `tests/scan_targets/` running in a process of its own on loopback."""

    name: str
    base_url: str
    spec_path: Path  # its OpenAPI document, fetched once it answered

    def token(self, username: str) -> str:
        from scan_targets.manifest import DEMO_PASSWORDS  # noqa: PLC0415 - only the scan tests need it

        answer = httpx.post(
            f"{self.base_url}/auth/login",
            json={"username": username, "password": DEMO_PASSWORDS[username]},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


@contextmanager
def serving_target(name: str, folder: Path) -> Iterator[ServedTarget]:
    """`tests/scan_targets/<name>.py` (vulnerable_api or clean_api) served until the block ends."""
    port = free_port()
    script = Path(__file__).resolve().parent / "scan_targets" / f"{name}.py"
    base = f"http://127.0.0.1:{port}"
    with running(
        [sys.executable, str(script), "--port", str(port)],
        os.environ,
        f"{base}/openapi.json",
        folder / f"{name}.log",
    ):
        spec = folder / f"{name}-openapi.json"
        spec.write_text(httpx.get(f"{base}/openapi.json", timeout=10).text, encoding="utf-8")
        yield ServedTarget(name, base, spec)
