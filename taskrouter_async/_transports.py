"""How requests leave the process: the default pure-httpx transport, and the optional aiohttp one.

httpx's connection pool (httpcore) does Python work proportional to its number of connections
and queued requests on every request, so one pool of 100 connections spends most of its CPU
scanning itself under load. The default transport is therefore several small httpx pools used
in turn; see benchmarks/README.md for the measurements behind the sizes.
"""

from __future__ import annotations

import itertools
import math

import httpx

__all__ = ["CONNECTIONS_PER_POOL", "PooledTransport", "aiohttp_transport"]

#: Connections per httpx pool in the default transport: small enough for httpcore's per-request scan to stay cheap.
CONNECTIONS_PER_POOL = 4


class PooledTransport(httpx.AsyncBaseTransport):
    """Requests spread round-robin over several ``httpx.AsyncHTTPTransport`` pools that share ``limits``.

    Works wherever httpx does (asyncio and trio). ``retries`` is always 0: the library retries.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        total = limits.max_connections
        count = 1 if total is None else max(1, math.ceil(total / CONNECTIONS_PER_POOL))
        keepalive = limits.max_keepalive_connections
        pool_limits = httpx.Limits(
            max_connections=None if total is None else math.ceil(total / count),
            max_keepalive_connections=None if keepalive is None else math.ceil(keepalive / count),
            keepalive_expiry=limits.keepalive_expiry,
        )
        ssl_context = httpx.create_ssl_context()  # loading CA certificates costs milliseconds: share one
        self._pools = [
            httpx.AsyncHTTPTransport(verify=ssl_context, limits=pool_limits, retries=0) for _ in range(count)
        ]
        self._next = itertools.cycle(self._pools)

    @property
    def pool_count(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def aiohttp_transport(*, limits: httpx.Limits | None = None) -> httpx.AsyncBaseTransport:
    """An httpx transport over aiohttp's connection pool, for ``AsyncTaskRouter(transport=...)``.

    Needs the ``taskrouter-async[aiohttp]`` extra and asyncio (not trio). Under concurrency it
    costs less CPU per request than httpx's own pools; see benchmarks/README.md.
    """
    from ._client import DEFAULT_LIMITS

    try:
        from ._aiohttp import AiohttpTransport
    except ImportError as exc:
        raise ImportError(
            "aiohttp_transport() needs the aiohttp extra: pip install 'taskrouter-async[aiohttp]'"
        ) from exc
    return AiohttpTransport(limits=DEFAULT_LIMITS if limits is None else limits)
