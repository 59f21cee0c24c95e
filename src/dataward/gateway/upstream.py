"""The connection to the upstream API: one pooled aiohttp client session, TLS with an optional
client certificate (mutual TLS between services), and the header hygiene of a proxy (RFC 9110
section 7.6.1: hop-by-hop headers end at the proxy, and so does the caller's `Host`).

Why aiohttp and not httpx, which the rest of Dataward uses for its webhooks: the gateway makes one
upstream call per request, and on the benchmark machine an httpx call costs about 1 ms of CPU
against 0.16 ms for aiohttp (`docs/PERFORMANCE.md`), while the whole gateway has 1 ms to spend.

No cookie jar: the session is shared by every caller, and a cookie the upstream set for one must
never ride along on another's request. No automatic decompression or headers: what the caller
sent is what the upstream gets, and what it answers passes through as it came."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from dataward.errors import DatawardError
from dataward.net import is_private_channel

__all__ = ["HOP_BY_HOP", "Upstream", "UpstreamSettings", "UpstreamUnavailable", "forwardable", "to_upstream"]

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


class UpstreamUnavailable(DatawardError):
    """The upstream API could not be reached, or did not answer in time."""

    status = 502
    slug = "bad-gateway"
    title = "Bad gateway"


class Upstream:
    """A pooled client for the upstream, opened on the event loop that serves. Redirects are passed
    back to the caller, never followed."""

    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self._base = settings.url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is not None:
            return
        settings = self.settings
        context: ssl.SSLContext | bool = False
        if settings.url.startswith("https://"):
            context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
            if settings.client_cert is not None and settings.client_key is not None:
                context.load_cert_chain(settings.client_cert, settings.client_key)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.max_connections, ssl=context),
            timeout=aiohttp.ClientTimeout(total=settings.timeout_seconds, sock_connect=5.0),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
            trust_env=False,  # no proxy settings from the environment between us and the upstream
        )

    async def send(
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> aiohttp.ClientResponse:
        """Send a request (`target`: the path and query, as the caller sent them) and return the
        answer once its headers are in; its body is read by the caller, who then releases it."""
        if self._session is None:
            await self.open()
        assert self._session is not None
        try:
            return await self._session.request(
                method,
                URL(self._base + target, encoded=True),  # as the caller encoded it: never re-quoted
                headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
                data=body or None,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError, ssl.SSLError) as error:
            raise UpstreamUnavailable(f"the upstream API did not answer ({type(error).__name__})") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def forwardable(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers a proxy passes on: hop-by-hop ones and those the `Connection` header names dropped."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    return [(n, v) for n, v in headers if (lower := n.lower()) not in HOP_BY_HOP and lower not in named]


_OURS = frozenset({b"x-request-id", b"x-forwarded-for"})
_OURS_AND_TOKEN = _OURS | {b"authorization"}


def to_upstream(headers: list[tuple[bytes, bytes]], *, checked_token: bool) -> list[tuple[bytes, bytes]]:
    """A caller's headers as the upstream may see them. What the gateway vouches for is said by it
    alone: a caller's own `X-Dataward-*`, `X-Request-Id` or `X-Forwarded-For` never pass, nor does a
    bearer token the gateway `checked_token` (the upstream learns the client and purpose from the
    gateway; a token it never sees, it cannot replay)."""
    dropped = _OURS_AND_TOKEN if checked_token else _OURS
    return [
        (n, v) for n, v in forwardable(headers) if (lower := n.lower()) not in dropped
        and not lower.startswith(b"x-dataward-")
    ]  # fmt: skip
