"""The optional aiohttp transport (``taskrouter-async[aiohttp]``): httpx's API, aiohttp's connection pool.

It is httpx-aiohttp's transport with failures reported the way the retry layer needs them:
httpx-aiohttp reports a dropped connection (``ServerDisconnectedError``) as ``ConnectTimeout``,
which would make a POST that may already have been applied look unsent, and so safe to repeat.
Here only failures to connect count as unsent; every other aiohttp failure is a read or
protocol error. Imported only when ``aiohttp_transport()`` is called.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _HttpxAiohttpTransport

__all__ = ["AiohttpTransport"]


class AiohttpTransport(_HttpxAiohttpTransport):
    """httpx-aiohttp's transport with connect-vs-sent failures told apart (asyncio only)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _sent_or_not():
            response = await super().handle_async_request(request)
        response.stream = _CheckedStream(response.stream)
        return response


class _CheckedStream(httpx.AsyncByteStream):
    """A response body whose read failures are mapped like the request's."""

    def __init__(self, stream: httpx.AsyncByteStream | httpx.SyncByteStream) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _sent_or_not():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _sent_or_not():
            await self._stream.aclose()


@contextmanager
def _sent_or_not() -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as exc:
        cause = exc.__cause__
        if isinstance(cause, aiohttp.ClientError):
            raise _httpx_error(cause) from cause
        raise
    except aiohttp.ClientError as exc:  # what httpx-aiohttp leaves unmapped, such as a malformed response
        raise _httpx_error(exc) from exc


def _httpx_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)  # connecting, or waiting for a pooled connection
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return httpx.ReadError(message)
    if isinstance(exc, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        return httpx.UnsupportedProtocol(message)
    return httpx.RemoteProtocolError(message)
