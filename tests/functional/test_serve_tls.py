"""`dataward serve` over TLS, and its refusal to serve plain HTTP on a non-loopback address."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support import self_signed_certificate

BIN = Path(sys.executable).parent


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DATAWARD_HOME": str(home), "DATAWARD_LOG_LEVEL": "WARNING"}
    env.pop("DATAWARD_DATABASE_URL", None)
    return env


def test_serves_over_tls_with_hsts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run([BIN / "dataward", "init"], env=_env(home), check=True, capture_output=True)
    cert, key = self_signed_certificate(tmp_path)
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
