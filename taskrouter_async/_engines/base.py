"""What every HTTP engine promises the pipeline: move bytes, cap the body, say whether a failure was sent.

An engine knows nothing of TaskRouter: it gets a method, an absolute URL on the client's own
origin, ready-made headers, a body, the phase timeouts and a deadline for the whole attempt, and
returns the status, the headers (a case-insensitive mapping) and the whole body. Failures are
reported as ``httpx.TransportError`` subclasses, which tell the retry layer whether the request
may have reached the server (see ``_retry.was_sent``). Checks, encoding, retries and error
classification stay in the pipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import anyio
import httpx

__all__ = [
    "MAX_RESPONSE_BYTES",
    "DeadlineByAnyio",
    "Engine",
    "EngineClosed",
    "Exchange",
    "UnreadableBody",
    "deadline_exceeded",
    "read_capped",
]

#: A response body larger than this is refused rather than held in memory.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024

#: status, headers (case-insensitive), body.
Exchange = tuple[int, Mapping[str, str], bytes]


class UnreadableBody(Exception):
    """The response arrived but its body is over MAX_RESPONSE_BYTES or cannot be decoded."""

    def __init__(self, message: str, status: int, headers: Mapping[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


class Engine(Protocol):
    """Moves one request's bytes; owned by one client (and its ``with_options`` views)."""

    @property
    def name(self) -> str:
        """Shown in the User-Agent and in logs: ``httpx``, ``aiohttp`` or ``pyreqwest``."""
        ...

    @property
    def closed(self) -> bool:
        """Set by ``aclose``."""
        ...

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        phase_timeouts: httpx.Timeout,
        deadline: float | None,
    ) -> Exchange:
        """Send one request and read the whole (capped) response within ``deadline`` seconds (``None``: no
        bound); raise ``httpx.TransportError`` on failure, ``deadline_exceeded(deadline)`` past the deadline.

        httpx and aiohttp time each phase (and each read) on their own, so a server that drips a byte
        at a time could otherwise hold an attempt forever.
        """
        ...

    async def aclose(self) -> None:
        """Close every connection; later exchanges raise ``EngineClosed``."""
        ...


class EngineClosed(Exception):
    """The client was closed: no request can be sent any more."""


def deadline_exceeded(deadline: float | None) -> httpx.ReadTimeout:
    """What every engine raises when an attempt outlives its deadline (the request may have been sent)."""
    return httpx.ReadTimeout(f"no complete response within the {deadline}s attempt deadline")


class DeadlineByAnyio:
    """For engines with no deadline of their own: ``exchange`` is ``_exchange`` cancelled at the deadline."""

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        phase_timeouts: httpx.Timeout,
        deadline: float | None,
    ) -> Exchange:
        with anyio.move_on_after(deadline):
            return await self._exchange(method, url, headers, body, phase_timeouts)
        raise deadline_exceeded(deadline)

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, phase_timeouts: httpx.Timeout
    ) -> Exchange:
        raise NotImplementedError


async def read_capped(chunks: AsyncIterator[bytes], status: int, headers: Mapping[str, str]) -> bytes:
    """The whole body, refused (``UnreadableBody``) as soon as it is known to be over MAX_RESPONSE_BYTES."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise UnreadableBody(f"Content-Length {declared} is over the {MAX_RESPONSE_BYTES}-byte limit", status, headers)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise UnreadableBody(f"the body is over the {MAX_RESPONSE_BYTES}-byte limit", status, headers)
        parts.append(chunk)
    return b"".join(parts)
