"""An external identity provider's signing keys, fetched from its JWKS URL and cached, for code on
the event loop (`dataward.identity.external` verifies access tokens with them).

Why not PyJWT's `PyJWKClient` (which `dataward.identity.oidc` uses from a worker thread): it blocks,
it reads a key set of any size, and it refetches on every unknown `kid`, so a flood of tokens naming
made-up keys becomes a flood of requests to the provider. Here:

- the key set is kept for `lifespan` seconds; a token naming a key we do not have triggers a refetch
  (a key rotation), but at most one attempt per `min_refresh_interval`, and concurrent callers share
  the one fetch in flight;
- when a fetch fails, the keys we have keep serving until they are `max_age` old, so a provider's
  short outage does not lock its clients out; with no keys at all, `IdentityProviderUnavailable`
  (503: the token may be fine, we cannot tell yet);
- a fetch is bounded: `timeout` seconds in all, `max_bytes` of body, `max_keys` keys; redirects are
  not followed; the URL is https, or plain http to this machine only;
- only signing keys we can use are kept: `use` absent or `sig`, RSA (2048 bits or more), EC P-256
  or Ed25519, public halves only, each bound to its one algorithm (RS256, ES256, EdDSA), a `kid`
  that no other usable key shares.

`StaticKeys` is the in-memory implementation of the same `SigningKeys` interface, for tests and for
keys pinned by hand. A `JwksCache` lives on one event loop at a time: its HTTP client is made anew
on another loop (tests run each `TestClient` on a loop of its own).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import structlog
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK, PyJWTError

from dataward.clock import Clock
from dataward.identity.errors import IdentityProviderUnavailable
from dataward.net import is_private_channel

__all__ = ["ALLOWED_ALGORITHMS", "JwksCache", "SigningKeys", "StaticKeys", "parse_key_set"]

log = structlog.get_logger(__name__)

ALLOWED_ALGORITHMS = ("RS256", "ES256", "EdDSA")
_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MAX_KID = 256
_MIN_RSA_BITS = 2048


class SigningKeys(Protocol):
    """Where a provider's public signing keys come from."""

    async def key(self, kid: str) -> PyJWK | None:
        """The usable key named `kid`, or None when the provider has none by that name.
        `IdentityProviderUnavailable` when no key set can be had at all."""
        ...

    async def aclose(self) -> None: ...


def parse_key_set(document: bytes | Mapping[str, Any], max_keys: int = 32) -> dict[str, PyJWK]:
    """The usable signing keys of a JWKS document, by `kid` (see the module's docstring for which
    keys are usable). `ValueError` when the document is not a key set or holds more than `max_keys`
    entries; an entry we cannot use is skipped, never an error, so one exotic key of a provider
    does not lock out the rest."""
    if isinstance(document, bytes | bytearray):
        try:
            document = json.loads(document)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError("the key set is not JSON") from None
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError("the key set has no list of keys")
    if len(entries) > max_keys:
        raise ValueError(f"the key set has more than {max_keys} keys")
    keys: dict[str, PyJWK] = {}
    shared: set[str] = set()
    for entry in entries:
        key = _usable_key(entry)
        if key is None:
            continue
        kid = entry["kid"]
        if kid in keys or kid in shared:  # two keys, one name: which one a token means is unknowable
            keys.pop(kid, None)
            shared.add(kid)
            continue
        keys[kid] = key
    return keys


def _usable_key(entry: object) -> PyJWK | None:
    if not isinstance(entry, dict):
        return None
    kid, alg = entry.get("kid"), entry.get("alg")
    if (
        not isinstance(kid, str)
        or not 0 < len(kid) <= _MAX_KID
        or entry.get("use") not in (None, "sig")
        or entry.get("kty") not in _KEY_TYPES
        or (alg is not None and alg not in ALLOWED_ALGORITHMS)
        or _PRIVATE_MEMBERS & entry.keys()  # a private key published by mistake is not used as one
    ):
        return None
    try:
        key = PyJWK(entry)
    except (PyJWTError, ValueError, TypeError):
        return None
    return key if _fits(key) else None


def _fits(key: PyJWK) -> bool:
    """The key is the public half, of the type and size its one algorithm needs."""
    material, alg = key.key, key.algorithm_name
    if alg == "RS256":
        return isinstance(material, RSAPublicKey) and material.key_size >= _MIN_RSA_BITS
    if alg == "ES256":
        return isinstance(material, EllipticCurvePublicKey) and isinstance(material.curve, SECP256R1)
    if alg == "EdDSA":
        return isinstance(material, Ed25519PublicKey)
    return False


class StaticKeys:
    """A fixed key set: the in-memory `SigningKeys`, for tests and keys pinned by hand."""

    def __init__(self, document: bytes | Mapping[str, Any], max_keys: int = 32) -> None:
        self._keys = parse_key_set(document, max_keys)

    async def key(self, kid: str) -> PyJWK | None:
        return self._keys.get(kid)

    async def aclose(self) -> None:
        return None


class _FetchFailed(Exception):
    """Why a fetch failed, for the log: the status, the size or the error's type, never the body."""


class JwksCache:
    """One provider's key set, fetched from `url` and cached (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        lifespan: float = 300.0,
        min_refresh_interval: float = 30.0,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        max_bytes: int = 64 * 1024,
        max_keys: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not is_private_channel(url):
            raise ValueError("a JWKS URL must be https:// (plain http only to localhost)")
        if not 0 < min_refresh_interval <= lifespan <= max_age:
            raise ValueError("need 0 < min_refresh_interval <= lifespan <= max_age")
        self.url = url
        self._clock = clock
        self._lifespan = lifespan
        self._min_refresh_interval = min_refresh_interval
        self._max_age = max_age
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_keys = max_keys
        self._transport = transport
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # the last fetch that succeeded
        self._attempted_at: float | None = None  # the last fetch begun, whatever came of it
        self._inflight: asyncio.Task[None] | None = None  # held: the loop keeps tasks only weakly
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    async def key(self, kid: str) -> PyJWK | None:
        fetched = self._fetched_at
        now = self._clock.timestamp()
        if fetched is None or now - fetched >= self._lifespan or kid not in self._keys:
            await self._refresh(now)
            fetched = self._fetched_at
        if fetched is None or self._clock.timestamp() - fetched >= self._max_age:
            raise IdentityProviderUnavailable("the identity provider's keys could not be fetched")
        return self._keys.get(kid)

    async def aclose(self) -> None:
        """Close the HTTP client (on its own loop; on another, there is nothing left to close)."""
        http, self._http = self._http, None
        if http is not None and self._http_loop is asyncio.get_running_loop():
            await http.aclose()

    async def _refresh(self, now: float) -> None:
        loop = asyncio.get_running_loop()
        inflight = self._inflight
        if inflight is not None and not inflight.done() and inflight.get_loop() is loop:
            await asyncio.shield(inflight)  # join the fetch under way; a cancelled caller leaves it be
            return
        if self._attempted_at is not None and now - self._attempted_at < self._min_refresh_interval:
            return  # fetched a moment ago: what we have is what the provider has
        self._attempted_at = now
        self._inflight = loop.create_task(self._fetch())
        await asyncio.shield(self._inflight)

    async def _fetch(self) -> None:
        """Replace the keys with a fresh set; on any failure keep the old ones and log why."""
        try:
            keys = parse_key_set(await self._download(), self._max_keys)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the old keys serve on
            reason = str(exc) if isinstance(exc, _FetchFailed | ValueError) else type(exc).__name__
            log.warning("jwks.fetch_failed", url=self.url, reason=reason, keys_kept=len(self._keys))
            return
        self._keys = keys
        self._fetched_at = self._clock.timestamp()

    async def _download(self) -> bytes:
        async with asyncio.timeout(self._timeout):  # the whole fetch, not each read: no slow drip
            async with self._client().stream("GET", self.url, headers=_ACCEPT) as response:
                if response.status_code != 200:
                    raise _FetchFailed(f"the provider answered {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self._max_bytes:
                    raise _FetchFailed(f"the key set is larger than {self._max_bytes} bytes")
                body = bytearray()
                async for chunk in response.aiter_bytes():  # decoded: a compressed bomb is cut short
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise _FetchFailed(f"the key set is larger than {self._max_bytes} bytes")
                return bytes(body)

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            # No keep-alive: a fetch every few minutes gains nothing from it, and a pooled
            # connection would tie the client to a loop that may be gone by the next fetch.
            self._http = httpx.AsyncClient(
                transport=self._transport,
                timeout=self._timeout,
                follow_redirects=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            self._http_loop = loop
        return self._http


_ACCEPT = {"Accept": "application/jwk-set+json, application/json"}
