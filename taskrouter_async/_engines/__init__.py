"""HTTP engines: the pipeline's only way to the network. Each one moves bytes and nothing more."""

from __future__ import annotations

import ssl
from typing import Literal

import httpx

from .base import Engine, EngineClosed, Exchange, UnreadableBody
from .httpcore_engine import HttpcoreEngine
from .httpx_engine import HttpxEngine

__all__ = ["ENGINES", "Engine", "EngineClosed", "EngineName", "Exchange", "UnreadableBody", "open_engine"]

EngineName = Literal["httpx", "aiohttp"]
ENGINES: tuple[EngineName, ...] = ("httpx", "aiohttp")


def open_engine(
    name: EngineName,
    *,
    origin: str,
    limits: httpx.Limits,
    proxy: str | None,
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Engine:
    """The engine for a client's settings; a caller's ``http_client`` or ``transport`` means the httpx engine."""
    if http_client is not None or transport is not None:
        return HttpxEngine(client=http_client, transport=transport)
    # Loading the CA bundle costs milliseconds: one context per client, shared by its connections.
    ssl_context: ssl.SSLContext = httpx.create_ssl_context()
    if name == "aiohttp":
        try:
            from .aiohttp_engine import AiohttpEngine
        except ImportError as exc:
            raise ImportError(
                "engine='aiohttp' needs the aiohttp extra: pip install 'taskrouter-async[aiohttp]'"
            ) from exc
        return AiohttpEngine(limits, ssl_context, proxy)
    return HttpcoreEngine(origin, limits, ssl_context, proxy)
