"""The one way the guard talks to Redis: a redis-py asyncio client made on first use, so that its
connections belong to the event loop that uses them (a server's, or a CLI command's own)."""

from __future__ import annotations

from redis.asyncio import Redis

__all__ = ["LazyRedis"]


class LazyRedis:
    def __init__(self, url: str) -> None:
        self._url = url
        self._client: Redis | None = None

    @property
    def client(self) -> Redis:
        if self._client is None:
            self._client = Redis.from_url(self._url, socket_timeout=2, socket_connect_timeout=2)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
