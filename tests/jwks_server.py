"""An external identity provider for tests: a JWKS endpoint on a real 127.0.0.1 server, with keys
made here (RSA, EC P-256, Ed25519), that counts its fetches and can be taken down, slowed, or made
to answer with a body of any size. `Provider.sign` makes the provider's access tokens."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

__all__ = ["PrivateKey", "Provider", "hs256", "key_pair", "public_jwk", "serve_provider"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
ALGORITHM = {"rsa": "RS256", "ec": "ES256", "ed": "EdDSA"}


@cache
def key_pair(kind: str, n: int = 0) -> PrivateKey:
    """The `n`th key of a kind (`rsa`, `ec`, `ed`), made once per test session: RSA is slow."""
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def public_jwk(key: PrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, **extra}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(claims: dict[str, Any], kid: str, secret: bytes) -> str:
    """An HS256 token made by hand: PyJWT refuses to use a public key as an HMAC secret."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{_b64(signature)}"


@dataclass
class Provider:
    """What the JWKS endpoint serves (`published`) and how (`answer`), and what it was asked."""

    issuer: str
    url: str = ""
    keys: dict[str, PrivateKey] = field(default_factory=dict)  # kid -> the private half
    algorithms: dict[str, str] = field(default_factory=dict)  # kid -> the key's algorithm
    published: list[dict[str, Any]] = field(default_factory=list)
    answer: str = "ok"  # ok | down | huge | huge-undeclared | redirect | raw
    raw: bytes = b""  # the body when `answer` is raw
    delay: float = 0.0
    fetches: list[float] = field(default_factory=list)  # when each request arrived (time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, kind: str, kid: str, n: int = 0, **extra: Any) -> None:
        """Add the `n`th key of `kind` to the key set, as `kid`."""
        key = key_pair(kind, n)
        self.keys[kid] = key
        self.algorithms[kid] = ALGORITHM[kind]
        self.published.append(public_jwk(key, kid, **extra))

    def unpublish(self, kid: str) -> None:
        self.published = [k for k in self.published if k["kid"] != kid]

    def sign(
        self, claims: dict[str, Any], kid: str, alg: str | None = None, headers: dict[str, Any] | None = None
    ) -> str:
        """A token signed by the key published as `kid`, with its own algorithm unless told."""
        header = {"kid": kid, **(headers or {})}
        return jwt.encode(claims, self.keys[kid], algorithm=alg or self.algorithms[kid], headers=header)

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.fetches.append(time.monotonic())
        time.sleep(self.delay)
        if self.answer == "down":
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if self.answer == "redirect":
            handler.send_response(302)
            handler.send_header("Location", "http://127.0.0.1:1/elsewhere.json")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        body = self.raw if self.answer == "raw" else json.dumps({"keys": self.published}).encode()
        if self.answer.startswith("huge"):
            body = json.dumps({"keys": self.published, "padding": "x" * 200_000}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if self.answer != "huge-undeclared":
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading
            handler.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    provider: Provider


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.provider.respond(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_provider(issuer: str) -> Iterator[Provider]:
    """A provider whose JWKS is served on 127.0.0.1 until the generator is closed (a fixture's body)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.provider = Provider(issuer=issuer, url=f"http://127.0.0.1:{server.server_address[1]}/jwks.json")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server.provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
