"""The engine for a caller's own ``http_client=`` or ``transport=``: httpx objects all the way.

A client passed in keeps its hooks, auth, mounts and proxies (``AsyncClient.send``); a transport
passed in (a mock, an ASGI app, a custom stack) gets the request directly. Either way the
response is streamed, decoded and capped (``read_capped``), and closed before the pipeline sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import httpx

from . import base
from .base import DeadlineByAnyio, EngineClosed, Exchange, UnreadableBody, read_capped

__all__ = ["HttpxEngine"]


class HttpxEngine(DeadlineByAnyio):
    """Sends through ``AsyncClient.send`` or straight to an ``httpx.AsyncBaseTransport``."""

    name = "httpx"

    def __init__(
        self, *, client: httpx.AsyncClient | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if (client is None) == (transport is None):
            raise TypeError("HttpxEngine takes a client or a transport")
        self._client = client
        self._transport = transport
        self.closed = False
        self._send: Callable[[httpx.Request], Awaitable[httpx.Response]] = (
            self._through_client if client is not None else self._through_transport
        )

    async def _through_client(self, request: httpx.Request) -> httpx.Response:
        assert self._client is not None
        if self._client.is_closed:
            raise EngineClosed
        return await self._client.send(request, stream=True, follow_redirects=False)

    async def _through_transport(self, request: httpx.Request) -> httpx.Response:
        assert self._transport is not None
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: httpx.Timeout
    ) -> Exchange:
        if self.closed:
            raise EngineClosed
        request = httpx.Request(method, url, headers=headers, content=body, extensions={"timeout": timeout.as_dict()})
        try:
            response = await self._send(request)
        except httpx.InvalidURL as exc:  # AsyncClient.send parses a 3xx's Location even when not following it
            raise httpx.RemoteProtocolError(f"unusable redirect Location: {exc}", request=request) from None
        try:
            status, headers = response.status_code, response.headers
            if response.is_stream_consumed:
                # Built from bytes (a mock's ``content=``): httpx has read and decoded it already; only the cap is left.
                return status, headers, _capped(response.content, status, headers)
            # The raw bytes: ``read_capped`` decodes them with the size bounded, which aiter_bytes() would not.
            return status, headers, await read_capped(response.aiter_raw(), status, headers)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close the transport passed in; a client passed in belongs to the caller and stays open."""
        self.closed = True
        if self._transport is not None:
            await self._transport.aclose()


def _capped(body: bytes, status: int, headers: httpx.Headers) -> bytes:
    if len(body) > base.MAX_RESPONSE_BYTES:
        raise UnreadableBody(f"the decoded body is over the {base.MAX_RESPONSE_BYTES}-byte limit", status, headers)
    return body
