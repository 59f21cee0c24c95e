"""The connection to the upstream API: one pooled httpx client, TLS with an optional client
certificate (mutual TLS between services), and the header hygiene of a proxy (RFC 9110 section 7.6.1:
hop-by-hop headers end at the proxy, and so does the caller's `Host`)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx

from dataward.net import is_private_channel

__all__ = ["HOP_BY_HOP", "UpstreamSettings", "forwardable", "open_upstream"]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",  # recomputed by whoever sends the body on
    }
)


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    url: str  # "http://127.0.0.1:9000" or "https://orders.internal:8443/api"
    ca_file: Path | None = None  # the authority that signed the upstream's certificate
    client_cert: Path | None = None  # our certificate, for mutual TLS
    client_key: Path | None = None
    timeout_seconds: float = 30.0
    max_connections: int = 200

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("--upstream must be an http:// or https:// URL")
        if not is_private_channel(self.url):
            raise ValueError("--upstream must be https:// (plain http only to this machine)")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("give both --client-cert and --client-key, or neither")
        if self.client_cert is not None and not self.url.startswith("https://"):
            raise ValueError("a client certificate needs an https:// upstream")


def open_upstream(settings: UpstreamSettings) -> httpx.AsyncClient:
    """A pooled client for the upstream. Redirects are passed back to the caller, never followed."""
    verify: ssl.SSLContext | bool = True
    if settings.url.startswith("https://"):
        context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
        if settings.client_cert is not None and settings.client_key is not None:
            context.load_cert_chain(settings.client_cert, settings.client_key)
        verify = context
    return httpx.AsyncClient(
        base_url=settings.url.rstrip("/"),
        verify=verify,
        timeout=httpx.Timeout(settings.timeout_seconds, connect=5.0),
        limits=httpx.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
        ),
        follow_redirects=False,
        trust_env=False,  # no proxy settings from the environment between us and the upstream
    )


def forwardable(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers a proxy passes on: hop-by-hop ones and those the `Connection` header names dropped."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    return [(n, v) for n, v in headers if (lower := n.lower()) not in HOP_BY_HOP and lower not in named]
