"""The clients under test. Each one updates reservation ``i`` (accept it) against the local server.

``CLIENTS`` maps a name to an async context manager factory that yields an ``update(i)`` coroutine
function; ``BULK`` maps names whose whole run goes through ``update_many`` instead.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

import httpx
from server import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKSPACE_SID, reservation_sid

Update = Callable[[int], Awaitable[object]]
Factory = Callable[[str, int], contextlib.AbstractAsyncContextManager[Update]]

BODY = urlencode({"ReservationStatus": "accepted"}).encode()


def update_url(base: str, i: int) -> str:
    return f"{base}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{reservation_sid(i)}"


@contextlib.asynccontextmanager
async def raw_httpx(base: str, concurrency: int) -> AsyncIterator[Update]:
    """A plain httpx.AsyncClient posting a pre-encoded body: the floor for anything built on httpx."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN), limits=limits, headers=headers) as client:

        async def update(i: int) -> object:
            response = await client.post(update_url(base, i), content=BODY)
            response.raise_for_status()
            return response.json()

        yield update


@contextlib.asynccontextmanager
async def raw_aiohttp(base: str, concurrency: int) -> AsyncIterator[Update]:
    """A plain aiohttp session posting a pre-encoded body."""
    import aiohttp

    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auth=auth, headers=headers) as session:

        async def update(i: int) -> object:
            async with session.post(update_url(base, i), data=BODY) as response:
                response.raise_for_status()
                return await response.json()

        yield update


@contextlib.asynccontextmanager
async def twilio_sdk(base: str, concurrency: int) -> AsyncIterator[Update]:
    """The official ``twilio`` package's async client (aiohttp underneath), pointed at the local server."""
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    http_client = AsyncTwilioHttpClient()
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
    client.taskrouter.base_url = base
    reservations = client.taskrouter.v1.workspaces(WORKSPACE_SID).tasks(TASK_SID).reservations
    try:

        async def update(i: int) -> object:
            return await reservations(reservation_sid(i)).update_async(reservation_status="accepted")

        yield update
    finally:
        await http_client.close()


@contextlib.asynccontextmanager
async def raw_httpx_aiohttp(base: str, concurrency: int) -> AsyncIterator[Update]:
    """httpx.AsyncClient over the httpx-aiohttp transport, pre-encoded body."""
    from httpx_aiohttp import AiohttpTransport

    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=concurrency))
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN), headers=headers, transport=transport) as client:

        async def update(i: int) -> object:
            response = await client.post(update_url(base, i), content=BODY)
            response.raise_for_status()
            return response.json()

        yield update


@contextlib.asynccontextmanager
async def direct_transport(base: str, concurrency: int) -> AsyncIterator[Update]:
    """httpx.Request straight into the httpx-aiohttp transport (no AsyncClient.send), pre-encoded body."""
    import base64

    from httpx_aiohttp import AiohttpTransport

    token = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    headers = httpx.Headers(
        {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
    )
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=concurrency))
    ext = {"timeout": httpx.Timeout(30.0).as_dict()}
    try:

        async def update(i: int) -> object:
            request = httpx.Request("POST", update_url(base, i), headers=headers, content=BODY, extensions=ext)
            response = await transport.handle_async_request(request)
            body = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
            return json.loads(body)

        yield update
    finally:
        await transport.aclose()


CLIENTS: dict[str, Factory] = {
    "direct transport (raw)": direct_transport,
    "httpx+aiohttp (raw)": raw_httpx_aiohttp,
    "httpx (raw)": raw_httpx,
    "aiohttp (raw)": raw_aiohttp,
    "twilio SDK": twilio_sdk,
}


# --- taskrouter_async: whole runs through update_many ----------------------------------------

Bulk = Callable[[str, int, int, Callable[[int], None], Callable[[int], None]], Awaitable[None]]


def _bulk(make_client: Callable[[str], object]) -> Bulk:
    async def run(
        base: str, n: int, concurrency: int, started: Callable[[int], None], finished: Callable[[int], None]
    ) -> None:
        from taskrouter_async import AsyncTaskRouter, BulkUpdate, TaskReservationUpdate

        accept = TaskReservationUpdate(reservation_status="accepted")

        def items() -> object:
            for i in range(n):
                started(i)
                yield BulkUpdate(WORKSPACE_SID, TASK_SID, reservation_sid(i), accept)

        client = make_client(base)
        assert isinstance(client, AsyncTaskRouter)
        async with client, client.task_reservations.update_many(items(), concurrency=concurrency) as results:
            async for result in results:
                if result.error is not None:
                    raise result.error
                finished(result.index)

    return run


def _default_client(base: str) -> object:
    from taskrouter_async import AsyncTaskRouter

    return AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=base)


def _aiohttp_client(base: str) -> object:
    from taskrouter_async import AsyncTaskRouter, aiohttp_transport

    return AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=base, transport=aiohttp_transport())


BULK: dict[str, Bulk] = {
    "taskrouter_async": _bulk(_default_client),
    "taskrouter_async[aiohttp]": _bulk(_aiohttp_client),
}
