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
    trust_env: bool,
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Engine:
    """The engine for a client's settings; a caller's ``http_client`` or ``transport`` means the httpx engine."""
    if http_client is not None or transport is not None:
        return HttpxEngine(client=http_client, transport=transport)
    # httpx's CA bundle (certifi, or SSL_CERT_FILE / SSL_CERT_DIR when trust_env) on every engine.
    # Loading it blocks for milliseconds: once per client, and only when the origin or the proxy needs TLS.
    needs_tls = origin.startswith("https:") or (proxy or "").startswith("https:")
    ssl_context: ssl.SSLContext | None = httpx.create_ssl_context(trust_env=trust_env) if needs_tls else None
    if name == "aiohttp":
        try:
            from .aiohttp_engine import AiohttpEngine
        except ImportError as exc:
            raise ImportError(
                "engine='aiohttp' needs the aiohttp extra: pip install 'taskrouter-async[aiohttp]'"
            ) from exc
        return AiohttpEngine(origin, limits, ssl_context, proxy)
    return HttpcoreEngine(origin, limits, ssl_context, proxy)
