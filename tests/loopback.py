"""A real HTTP/1.1 server on 127.0.0.1 that tests script to behave well or badly.

It runs its own asyncio loop in a daemon thread, so tests on any async backend can talk to it,
and it stops by itself after ``lifetime`` seconds. For every request it calls an async handler
with the parsed request and a ``Conn`` to answer on: reply, drip, stall, reset or close. It
counts open connections, which is how the tests prove the client leaks none.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType

import anyio
import attrs

__all__ = ["Conn", "Handler", "LoopbackServer", "Request", "head", "json_handler"]

_MAX_HEAD = 64 * 1024


@attrs.frozen
class Request:
    """One request as the server read it; header names are lower-case."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class Conn:
    """One client connection, seen from the server: ways to answer, politely or not."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @property
    def closed(self) -> bool:
        return self.writer.transport.is_closing() or self.reader.at_eof()

    async def write(self, data: bytes) -> None:
        if not self.closed:
            self.writer.write(data)
            await self.writer.drain()

    async def respond(
        self,
        status: int = 200,
        body: bytes | str = b"",
        *,
        headers: Iterable[tuple[str, str]] = (),
        content_type: str = "application/json",
        content_length: int | None = None,
    ) -> None:
        """A whole response; ``content_length`` overrides the true length (to lie about it)."""
        data = body.encode() if isinstance(body, str) else body
        await self.write(head(status, headers, content_type, len(data) if content_length is None else content_length))
        await self.write(data)

    async def drip(self, data: bytes, interval: float) -> None:
        """Send ``data`` one byte at a time, ``interval`` seconds apart, until done or the peer leaves."""
        for i in range(len(data)):
            if self.closed:
                return
            await self.write(data[i : i + 1])
            await asyncio.sleep(interval)

    async def stall(self, seconds: float) -> None:
        """Say nothing for ``seconds``, or until the client closes the connection."""
        deadline = time.monotonic() + seconds
        while not self.closed and (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.reader.read(1), left)

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), as a crashing proxy would."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None and not self.writer.transport.is_closing():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def close(self) -> None:
        self.writer.transport.close()


Handler = Callable[[Request, Conn], Awaitable[None]]


def head(status: int, headers: Iterable[tuple[str, str]] = (), content_type: str = "", length: int | None = 0) -> bytes:
    """A status line and headers; ``length=None`` leaves Content-Length out."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Whatever"
    lines = [f"HTTP/1.1 {status} {reason}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_handler(status: int, payload: object, headers: Iterable[tuple[str, str]] = ()) -> Handler:
    """A handler that answers every request with the same JSON."""
    body = json.dumps(payload).encode()
    fixed = tuple(headers)

    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(status, body, headers=fixed)

    return handler


class LoopbackServer:
    """``with LoopbackServer(handler) as server:`` serves on ``server.url`` until the block ends."""

    def __init__(self, handler: Handler, *, lifetime: float = 120.0) -> None:
        self.handler = handler
        self.lifetime = lifetime
        self.requests: list[Request] = []
        self.open_connections = 0
        self.peak_connections = 0
        self.accepted = 0
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended by itself
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def wait_open(self, count: int = 0, within: float = 5.0) -> int:
        """Poll until ``count`` connections are open (or ``within`` seconds pass); return how many are."""
        with anyio.move_on_after(within):
            while self.open_connections != count:  # noqa: ASYNC110 - the counter lives in another thread
                await anyio.sleep(0.01)
        return self.open_connections

    async def wait_requests(self, count: int, within: float = 5.0) -> int:
        """Poll until the server has read ``count`` requests (or ``within`` seconds pass); return how many."""
        with anyio.move_on_after(within):
            while len(self.requests) < count:  # noqa: ASYNC110 - the list lives in another thread
                await anyio.sleep(0.01)
        return len(self.requests)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread by __enter__
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        conns: list[Conn] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            conn = Conn(reader, writer)
            conns.append(conn)
            self.accepted += 1
            self.open_connections += 1
            self.peak_connections = max(self.peak_connections, self.open_connections)
            try:
                while not conn.closed:
                    request = await _read_request(reader)
                    if request is None:
                        break
                    self.requests.append(request)
                    await self.handler(request, conn)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                pass
            finally:
                self.open_connections -= 1
                conns.remove(conn)
                conn.close()
                tasks.discard(task)

        server = await asyncio.start_server(serve, "127.0.0.1", 0, limit=_MAX_HEAD)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        async with server:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.lifetime)
            server.close()
            for conn in list(conns):
                conn.reset()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head_bytes = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, target, headers, body)
