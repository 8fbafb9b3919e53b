"""Broken and hostile servers, for real, on 127.0.0.1: every case is a typed TaskRouterError, never a hang.

Never KeyError, TypeError, AttributeError or RecursionError; never waiting longer than the
timeout and retry budget allow.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from taskrouter_async import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncTaskRouter,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    TaskReservationUpdate,
    TaskRouterError,
    _retry,
)
from taskrouter_async._engines import base as engine_base

from .helpers import reservation_json
from .loopback import Conn, Handler, LoopbackServer, Request, head
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("engine")]

GOOD = reservation_json()
DEEP = b"[" * 100_000 + b"]" * 100_000
#: Short timeouts (an attempt deadline of 0.55 s) and one retry, so every case ends well within BOUND.
TIMEOUT = httpx.Timeout(0.25, connect=0.1, write=0.1, pool=0.1)
BOUND = 10.0


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.002)


def respond(status: int, body: bytes | str, content_type: str = "application/json", **kwargs: Any) -> Handler:
    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(status, body, content_type=content_type, **kwargs)

    return handler


def raw(data: bytes, then: str = "close") -> Handler:
    """Write ``data`` as is, then close or reset the connection."""

    async def handler(request: Request, conn: Conn) -> None:
        await conn.write(data)
        conn.reset() if then == "reset" else conn.close()

    return handler


async def drip(request: Request, conn: Conn) -> None:
    body = json.dumps(GOOD).encode()
    await conn.write(head(200, content_type="application/json", length=len(body)))
    await conn.drip(body, 0.1)


async def stall(request: Request, conn: Conn) -> None:
    await conn.stall(30)


async def chunked_forever(request: Request, conn: Conn) -> None:
    """A chunked body that never ends: only the size cap stops it."""
    await conn.write(head(200, [("Transfer-Encoding", "chunked")], "application/json", length=None))
    chunk = b"[" + b" " * 65_000
    for _ in range(100):
        if conn.closed:
            return
        await conn.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")


# Cases every call (fetch, update, list) must turn into the given error.
COMMON: dict[str, tuple[Handler, type[TaskRouterError]]] = {
    "truncated json": (respond(200, json.dumps(GOOD)[:25]), APIResponseValidationError),
    "html 200": (respond(200, "<html><body>Welcome!</body></html>", "text/html"), APIResponseValidationError),
    "html 502": (respond(502, "<html><h1>502 Bad Gateway</h1></html>", "text/html"), InternalServerError),
    "html 404": (respond(404, "<!doctype html><title>Not Found</title>", "text/html"), NotFoundError),
    "empty 200": (respond(200, b""), APIResponseValidationError),
    "204 no content": (raw(head(204, length=None)), APIResponseValidationError),
    "json null": (respond(200, "null"), APIResponseValidationError),
    "json number": (respond(200, "12"), APIResponseValidationError),
    "json string": (respond(200, '"ok"'), APIResponseValidationError),
    "deep nesting": (respond(200, DEEP), APIResponseValidationError),
    "deep nesting error": (respond(400, DEEP), BadRequestError),
    "huge number": (respond(200, b"9" * 100_000), APIResponseValidationError),
    "invalid utf-8": (respond(200, b'{"sid": "\xff\xfe"}'), APIResponseValidationError),
    "bad gzip": (respond(200, b"not gzip", headers=[("Content-Encoding", "gzip")]), APIResponseValidationError),
    "error with odd fields": (respond(400, json.dumps({"code": "x", "message": 5, "more_info": []})), BadRequestError),
    "error not an object": (respond(400, "[1, 2]"), BadRequestError),
    "status 599": (respond(599, b""), InternalServerError),
    "status 418": (respond(418, b"teapot", "text/plain"), APIStatusError),
    "redirect 301": (respond(301, b"", headers=[("Location", "https://example.com/")]), APIStatusError),
    "redirect 307": (respond(307, b"", headers=[("Location", "/elsewhere")]), APIStatusError),
    "redirect to an invalid URL": (respond(302, b"", headers=[("Location", "A:0")]), APIStatusError),
    "huge declared body": (respond(200, b"{}", content_length=10 * 1024**3), APIResponseValidationError),
    "huge chunked body": (chunked_forever, APIResponseValidationError),
    "body shorter than declared": (raw(head(200, length=1000) + b'{"sid": "WR'), APIConnectionError),
    "reset mid-body": (raw(head(200, length=1000) + b'{"sid": "WR', then="reset"), APIConnectionError),
    "reset before response": (raw(b"", then="reset"), APIConnectionError),
    "close before response": (raw(b""), APIConnectionError),
    "close mid-headers": (raw(b"HTTP/1.1 200 OK\r\nContent-Len"), APIConnectionError),
    "garbage status line": (raw(b"HELLO WORLD\r\n\r\n"), APIConnectionError),
    "not http at all": (raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 10), APIConnectionError),
    "bad chunked encoding": (
        raw(head(200, [("Transfer-Encoding", "chunked")], length=None) + b"zz\r\nnope\r\n"),
        APIConnectionError,
    ),
    "slow drip": (drip, APITimeoutError),
    "stall": (stall, APITimeoutError),
}

# Fetch and update also check the reservation's shape.
RESERVATION_SHAPES: dict[str, object] = {
    "json list": [GOOD],
    "wrong types": {**GOOD, "sid": 5},
    "bad date": {**GOOD, "date_created": "yesterday"},
    "date not a string": {**GOOD, "date_updated": 1400000000},
    "links not an object": {**GOOD, "links": ["https://example.com"]},
    "links of numbers": {**GOOD, "links": {"task": 1}},
    "status a number": {**GOOD, "reservation_status": 3},
}

# List pages also check meta and the records.
PAGE_SHAPES: dict[str, object] = {
    "missing meta": {"reservations": [GOOD]},
    "meta not an object": {"meta": "yes", "reservations": [GOOD]},
    "meta without key": {"meta": {"next_page_url": None}, "reservations": [GOOD]},
    "meta key not a string": {"meta": {"key": 7}, "reservations": [GOOD]},
    "meta key elsewhere": {"meta": {"key": "workers"}, "reservations": [GOOD]},
    "reservations not a list": {"meta": {"key": "reservations"}, "reservations": {"0": GOOD}},
    "reservations null": {"meta": {"key": "reservations"}, "reservations": None},
    "records not objects": {"meta": {"key": "reservations"}, "reservations": [1, "two", None]},
    "record of wrong types": {"meta": {"key": "reservations"}, "reservations": [GOOD, {"sid": []}]},
    "page a string": {"meta": {"key": "reservations", "page": "1"}, "reservations": []},
    "next_page_url a number": {"meta": {"key": "reservations", "next_page_url": 2}, "reservations": []},
    "next_page_url invalid": {"meta": {"key": "reservations", "next_page_url": "http://[::1"}, "reservations": []},
    "next_page_url foreign": {
        "meta": {"key": "reservations", "next_page_url": "https://evil.example.com/v1/x"},
        "reservations": [],
    },
}


async def fetch(client: AsyncTaskRouter) -> object:
    return await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)


async def update(client: AsyncTaskRouter) -> object:
    accept = TaskReservationUpdate(reservation_status="accepted")
    return await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, accept, etag='"v1"')


async def list_all(client: AsyncTaskRouter) -> object:
    return [r async for r in client.worker_reservations.list(WORKSPACE_SID, "WK" + "d" * 32)]


CALLS = {"fetch": fetch, "update": update, "list": list_all}


async def expect(handler: Handler, call: str, error: type[TaskRouterError]) -> None:
    with LoopbackServer(handler, lifetime=30) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, timeout=TIMEOUT, max_retries=1) as c:
            with pytest.raises(TaskRouterError) as caught:
                await CALLS[call](c)
        assert await server.wait_open(0) == 0
    assert isinstance(caught.value, error), repr(caught.value)
    assert str(caught.value)
    if isinstance(caught.value, APIError):
        assert caught.value.request.url.host == "127.0.0.1"


#: Stopping early inside httpx's stream (async generators in httpx and httpcore) makes trio warn;
#: the connection is closed all the same. httpx issue #3686, unfixed in httpx 0.28.
_HTTPX_GENERATORS = pytest.mark.filterwarnings(r"ignore:Async generator 'http(x|core)\.:ResourceWarning")
_STOPPED_MID_STREAM = {"bad gzip", "huge chunked body"}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize(
    "case", [pytest.param(case, marks=[_HTTPX_GENERATORS] if case in _STOPPED_MID_STREAM else []) for case in COMMON]
)
async def test_broken_responses(case: str, call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_base, "MAX_RESPONSE_BYTES", 1024 * 1024)
    handler, error = COMMON[case]
    await expect(handler, call, error)


@pytest.mark.parametrize("call", ["fetch", "update"])
@pytest.mark.parametrize("case", list(RESERVATION_SHAPES))
async def test_wrong_reservation_shapes(case: str, call: str) -> None:
    await expect(respond(200, json.dumps(RESERVATION_SHAPES[case])), call, APIResponseValidationError)


@pytest.mark.parametrize("case", list(PAGE_SHAPES) + list(RESERVATION_SHAPES))
async def test_wrong_page_shapes(case: str) -> None:
    payload = PAGE_SHAPES.get(case) or {"meta": {"key": "reservations"}, "reservations": [RESERVATION_SHAPES[case]]}
    await expect(respond(200, json.dumps(payload)), "list", APIResponseValidationError)


async def test_a_page_linking_to_itself_stops() -> None:
    async def loop(request: Request, conn: Conn) -> None:
        page = {"meta": {"key": "reservations", "next_page_url": request.target}, "reservations": [GOOD]}
        await conn.respond(200, json.dumps(page))

    await expect(loop, "list", APIResponseValidationError)


async def test_unknown_keys_and_status_are_tolerated() -> None:
    body = {**GOOD, "reservation_status": "teleported", "brand_new_field": {"x": [1, 2]}}
    with LoopbackServer(respond(200, json.dumps(body)), lifetime=30) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url) as client:
            reservation = await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    assert reservation.reservation_status == "teleported"


async def test_a_redirect_to_an_invalid_url_through_a_callers_http_client() -> None:
    """httpx.AsyncClient.send parses a 3xx's Location even when not following it; that is no crash either."""
    with LoopbackServer(respond(302, b"", headers=[("Location", "A:0")]), lifetime=30) as server:
        async with httpx.AsyncClient() as http:
            client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, http_client=http, max_retries=0)
            with anyio.fail_after(BOUND), pytest.raises(APIConnectionError, match="redirect Location"):
                await fetch(client)
