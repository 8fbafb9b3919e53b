"""What every HTTP engine promises the pipeline: move bytes, cap the body, say whether a failure was sent.

An engine knows nothing of TaskRouter: it gets a method, an absolute URL on the client's own
origin, ready-made headers, a body, the phase timeouts and a deadline for the whole attempt, and
returns the status, the headers (a case-insensitive mapping) and the whole body. Failures are
reported as ``httpx.TransportError`` subclasses, which tell the retry layer whether the request
may have reached the server (see ``_retry.was_sent``). Checks, encoding, retries and error
classification stay in the pipeline.
"""

from __future__ import annotations

import zlib
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
    "no_free_connection",
    "pool_wait_bound",
    "read_capped",
    "seconds",
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
    return httpx.ReadTimeout(f"no complete response within the {seconds(deadline)} attempt deadline")


def no_free_connection(pool_timeout: float | None, deadline: float | None) -> httpx.PoolTimeout:
    """What every engine raises when no connection was free within the pool timeout or the deadline (not sent)."""
    if deadline is not None and (pool_timeout is None or deadline < pool_timeout):
        return httpx.PoolTimeout(f"no free connection within the {seconds(deadline)} attempt deadline")
    return httpx.PoolTimeout(f"no free connection within the {seconds(pool_timeout)} pool timeout")


def pool_wait_bound(pool_timeout: float | None, deadline: float | None) -> float | None:
    """How long an attempt may wait for a connection: the pool timeout or the deadline, whichever ends first."""
    if pool_timeout is None or deadline is None:
        return deadline if pool_timeout is None else pool_timeout
    return min(pool_timeout, deadline)


def seconds(value: float | None) -> str:
    """``2.5s``, not ``2.5000000000000004s``, for a sum of timeouts in a message."""
    return "no limit" if value is None else f"{value:g}s"


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
    """The whole body as received (``chunks``: the bytes on the wire, still content-encoded), decoded.

    Refused (``UnreadableBody``) as soon as it is known to be over MAX_RESPONSE_BYTES, received or
    decoded: a compressed body is decoded chunk by chunk with its output bounded, so a small
    "zip bomb" never grows past the cap in memory. Every engine reads its bodies through here.
    """
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise UnreadableBody(f"Content-Length {declared} is over the {MAX_RESPONSE_BYTES}-byte limit", status, headers)
    decoder = _decoder_for(headers, status)
    parts: list[bytes] = []
    received = size = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > MAX_RESPONSE_BYTES:
                raise UnreadableBody(f"the body is over the {MAX_RESPONSE_BYTES}-byte limit", status, headers)
            if decoder is not None:
                chunk = decoder.decode(chunk, MAX_RESPONSE_BYTES - size)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise UnreadableBody(f"the decoded body is over the {MAX_RESPONSE_BYTES}-byte limit", status, headers)
            parts.append(chunk)
        if decoder is not None:
            tail = decoder.flush(MAX_RESPONSE_BYTES - size)
            if size + len(tail) > MAX_RESPONSE_BYTES:
                raise UnreadableBody(f"the decoded body is over the {MAX_RESPONSE_BYTES}-byte limit", status, headers)
            parts.append(tail)
    except zlib.error as exc:
        raise UnreadableBody(f"the body is not valid {decoder}: {exc}", status, headers) from None
    return b"".join(parts)


#: What a Content-Encoding token needs: gzip and deflate are decoded; encodings httpx decodes only with an
#: optional package (whose decoders cannot bound their output) are refused; any other token is ignored,
#: as httpx ignores it. We never send Accept-Encoding, so a compressed answer is a server's own idea.
_ZLIB_WINDOW = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
_REFUSED_ENCODINGS = frozenset({"br", "zstd"})


def _decoder_for(headers: Mapping[str, str], status: int) -> _Decoder | None:
    """The decoder for the response's Content-Encoding; ``None`` when there is nothing to decode."""
    getall = getattr(headers, "getall", None)  # aiohttp's headers keep repeated fields apart
    value = ",".join(getall("content-encoding", ())) if getall is not None else headers.get("content-encoding", "")
    if not value:
        return None
    layers: list[_Inflater] = []
    for token in value.lower().split(","):
        encoding = token.strip()
        if encoding in _ZLIB_WINDOW:
            layers.append(_Inflater(encoding))
        elif encoding in _REFUSED_ENCODINGS:
            raise UnreadableBody(
                f"the body is {encoding}-encoded, which this client does not decode (it never asks for compression)",
                status,
                headers,
            )
    return _Decoder(layers[::-1]) if layers else None  # the last encoding applied is undone first


class _Inflater:
    """One gzip or deflate layer whose output is bounded on every call (``zlib``'s ``max_length``).

    httpx's own decoders inflate each chunk whole, however large it becomes, which is why this exists.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib = zlib.decompressobj(_ZLIB_WINDOW[encoding])
        #: "deflate" is zlib-wrapped or raw: which one shows at the first chunk (httpx guesses the same way).
        self._may_be_raw = encoding == "deflate"

    def decode(self, data: bytes, room: int) -> bytes:
        """At most ``room + 1`` bytes: one more than room is enough to know the body is too big."""
        try:
            out = self._zlib.decompress(data, room + 1)
        except zlib.error:
            if not self._may_be_raw:
                raise
            self._may_be_raw = False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, room + 1)
        self._may_be_raw = False
        return out

    def flush(self) -> bytes:
        # All input was consumed by ``decode`` (it returned less than its bound), so little is left to flush.
        return self._zlib.flush()


class _Decoder:
    """Content-encoding layers undone in turn, each one's output bounded by the room left in the body."""

    def __init__(self, layers: list[_Inflater]) -> None:
        self._layers = layers

    def __str__(self) -> str:
        return ", ".join(layer.encoding for layer in reversed(self._layers))

    def decode(self, data: bytes, room: int) -> bytes:
        for layer in self._layers:
            data = layer.decode(data, room)
            if len(data) > room:
                break  # the caller refuses the body; the next layers need not see it
        return data

    def flush(self, room: int) -> bytes:
        data = b""
        for layer in self._layers:
            data = (layer.decode(data, room) if data else b"") + layer.flush()
            if len(data) > room:
                break
        return data
