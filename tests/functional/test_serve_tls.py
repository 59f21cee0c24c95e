"""`dataward serve` over TLS, and its refusal to serve plain HTTP on a non-loopback address."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIN = Path(sys.executable).parent


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
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


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DATAWARD_HOME": str(home), "DATAWARD_LOG_LEVEL": "WARNING"}
    env.pop("DATAWARD_DATABASE_URL", None)
    return env


def test_serves_over_tls_with_hsts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run([BIN / "dataward", "init"], env=_env(home), check=True, capture_output=True)
    cert, key = _self_signed(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (tmp_path / "serve.log").open("wb") as log:
        command = [
            str(BIN / "dataward"),
            "serve",
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ]
        process = subprocess.Popen(command, env=_env(home), stdout=log, stderr=log)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/.well-known/jwks.json", verify=context)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "serve.log"
                ).read_text()
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert answer.json()["keys"][0]["alg"] == "EdDSA"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_refuses_plain_http_on_a_public_address(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run([BIN / "dataward", "init"], env=_env(home), check=True, capture_output=True)
    refused = subprocess.run(
        [BIN / "dataward", "serve", "--host", "0.0.0.0", "--port", "1"],  # noqa: S104 - the point of the test
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "plain HTTP" in refused.stderr and "--insecure" in refused.stderr
