"""HTTP engines: the pipeline's only way to the network. Each one moves bytes and nothing more."""

from __future__ import annotations

import importlib.util
import ssl
import sys
from collections.abc import Callable
from typing import Literal

import httpx

from .auto import AutoEngine
from .base import Engine, EngineClosed, Exchange, UnreadableBody
from .httpcore_engine import HttpcoreEngine
from .httpx_engine import HttpxEngine

__all__ = [
    "ENGINES",
    "AutoEngine",
    "Engine",
    "EngineChoice",
    "EngineClosed",
    "EngineName",
    "Exchange",
    "UnreadableBody",
    "auto_engine_name",
    "open_engine",
    "pyreqwest_usable",
]

EngineName = Literal["httpx", "aiohttp", "pyreqwest"]
#: What ``engine=`` accepts: an engine, or ``"auto"`` (the fastest one installed, chosen on first use).
EngineChoice = Literal["auto", "httpx", "aiohttp", "pyreqwest"]
ENGINES: tuple[EngineName, ...] = ("httpx", "aiohttp", "pyreqwest")

_EXTRA_HINT = {
    "aiohttp": "engine='aiohttp' needs the aiohttp extra: pip install 'taskrouter-async[aiohttp]'",
    "pyreqwest": "engine='pyreqwest' needs CPython 3.11 or later and the pyreqwest extra: "
    "pip install 'taskrouter-async[pyreqwest]'",
}


def pyreqwest_usable() -> bool:
    """Whether the pyreqwest engine can run here: CPython 3.11 or later with pyreqwest installed."""
    return sys.version_info >= (3, 11) and importlib.util.find_spec("pyreqwest") is not None


def auto_engine_name(async_library: str) -> EngineName:
    """The fastest engine installed for ``async_library``: pyreqwest, then aiohttp on asyncio; httpx elsewhere."""
    if async_library != "asyncio":
        return "httpx"
    if pyreqwest_usable():
        return "pyreqwest"
    if importlib.util.find_spec("aiohttp") is not None:
        return "aiohttp"
    return "httpx"


def open_engine(
    name: EngineChoice,
    *,
    origin: str,
    limits: httpx.Limits,
    timeout: httpx.Timeout,
    proxy: str | None,
    trust_env: bool,
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_resolved: Callable[[str], str] | None = None,
) -> Engine:
    """The engine for a client's settings; a caller's ``http_client`` or ``transport`` means the httpx engine.

    ``"auto"`` gives an engine that picks one of the others when first used in an event loop
    (``on_resolved`` is told which, and returns the User-Agent that names it).
    """
    if http_client is not None or transport is not None:
        return HttpxEngine(client=http_client, transport=transport)
    if name == "auto":

        def open_named(chosen: EngineName) -> Engine:
            return open_engine(chosen, origin=origin, limits=limits, timeout=timeout, proxy=proxy, trust_env=trust_env)

        return AutoEngine(open_named, auto_engine_name, on_resolved)
    # httpx's CA bundle (certifi, or SSL_CERT_FILE / SSL_CERT_DIR when trust_env) on every engine.
    # Loading it blocks for milliseconds: once per client, and only when the origin or the proxy needs TLS.
    needs_tls = origin.startswith("https:") or (proxy or "").startswith("https:")
    ssl_context: ssl.SSLContext | None = httpx.create_ssl_context(trust_env=trust_env) if needs_tls else None
    if name == "aiohttp":
        try:
            from .aiohttp_engine import AiohttpEngine
        except ImportError as exc:
            raise ImportError(_EXTRA_HINT[name]) from exc
        return AiohttpEngine(origin, limits, ssl_context, proxy)
    if name == "pyreqwest":
        if sys.version_info < (3, 11):
            raise ImportError(_EXTRA_HINT[name])
        try:
            from .pyreqwest_engine import PyreqwestEngine
        except ImportError as exc:
            raise ImportError(_EXTRA_HINT[name]) from exc
        return PyreqwestEngine(limits, timeout, ssl_context, proxy)
    return HttpcoreEngine(origin, limits, ssl_context, proxy)
