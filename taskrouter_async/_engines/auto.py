"""``engine="auto"``: the fastest engine installed for the async library the client is first used in.

Clients are often built outside any event loop (at import, in a FastAPI app factory), so the choice
waits until the client is entered (``async with``) or sends its first request, whichever comes first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import httpx
import sniffio

from .base import Engine, EngineClosed, Exchange

if TYPE_CHECKING:
    from . import EngineName

__all__ = ["AutoEngine"]


class AutoEngine:
    """Stands in for the engine ``choose(async library)`` names until the first use, then forwards to it."""

    def __init__(
        self,
        open_named: Callable[[EngineName], Engine],
        choose: Callable[[str], EngineName],
        on_resolved: Callable[[str], str] | None,
    ) -> None:
        self._open_named = open_named
        self._choose = choose
        self._on_resolved = on_resolved
        self._engine: Engine | None = None
        self._closed = False
        #: The User-Agent ``on_resolved`` gave for the chosen engine.
        self._user_agent: str | None = None

    @property
    def name(self) -> str:
        """The chosen engine's name; ``"auto"`` until the client is first used in an event loop."""
        return "auto" if self._engine is None else self._engine.name

    @property
    def closed(self) -> bool:
        return self._closed if self._engine is None else self._engine.closed

    def resolve(self) -> Engine:
        """The engine for the running async library, opened on the first call (inside the event loop)."""
        if self._engine is None:
            if self._closed:
                raise EngineClosed
            engine = self._open_named(self._choose(sniffio.current_async_library()))
            self._engine = engine
            if self._on_resolved is not None:
                self._user_agent = self._on_resolved(engine.name)
        return self._engine

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        phase_timeouts: httpx.Timeout,
        deadline: float | None,
    ) -> Exchange:
        engine = self.resolve()
        user_agent = self._user_agent
        if user_agent is not None and headers.get("User-Agent") != user_agent:
            # The client's headers name the chosen engine from now on; a request that took them before it
            # was chosen (the first one, without ``async with``) is sent with the same User-Agent.
            headers = {**headers, "User-Agent": user_agent}
        return await engine.exchange(method, url, headers, body, phase_timeouts, deadline)

    async def aclose(self) -> None:
        self._closed = True
        if self._engine is not None:
            await self._engine.aclose()
