"""What the rate-limit tests share: a server that records arrival times, and helpers.

The client under test comes from conftest's ``make_client``; a test that also asks for the
``engine`` fixture runs on every engine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator

import pytest
import sniffio

from taskrouter_async import AsyncTaskRouter

from .helpers import reservation_json
from .loopback import Conn, LoopbackServer, Request
from .sids import TASK_SID, WORKSPACE_SID

__all__ = ["MakeClient", "RecordingServer", "busiest_window", "recording_server", "reservation_sid", "running_tasks"]

#: conftest's ``make_client``: ``make_client(base_url=..., rate_limit=..., **options)``.
MakeClient = Callable[..., AsyncTaskRouter]


class RecordingServer(LoopbackServer):
    """A loopback server that answers every fetch with its reservation and records when each request arrived."""

    def __init__(self, statuses: Iterator[int] | None = None) -> None:
        super().__init__(self._answer)
        #: (time.monotonic() at arrival, path) for every request, in arrival order.
        self.arrivals: list[tuple[float, str]] = []
        self._statuses = statuses

    async def _answer(self, request: Request, conn: Conn) -> None:
        self.arrivals.append((time.monotonic(), request.path))
        status = next(self._statuses, 200) if self._statuses is not None else 200
        if status != 200:
            await conn.respond(status, json.dumps({"code": 20500, "message": "try again", "status": status}))
            return
        sid = request.path.rsplit("/", 1)[1]
        await conn.respond(200, json.dumps(reservation_json(sid)))

    @property
    def times(self) -> list[float]:
        return [t for t, _ in self.arrivals]

    def fetch_path(self, sid: str, workspace_sid: str = WORKSPACE_SID) -> str:
        return f"/v1/Workspaces/{workspace_sid}/Tasks/{TASK_SID}/Reservations/{sid}"


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def reservation_sid(number: int, owner: int = 0) -> str:
    """A valid reservation SID unique to (owner, number): the server can tell every request apart."""
    return f"WR{owner:08x}{number:024x}"


def busiest_window(times: list[float], width: float = 1.0) -> int:
    """The most timestamps in any half-open window ``[t, t + width)``."""
    ordered = sorted(times)
    best = end = 0
    for start, t in enumerate(ordered):
        while end < len(ordered) and ordered[end] < t + width:
            end += 1
        best = max(best, end - start)
    return best


def running_tasks() -> int:
    """How many tasks the event loop runs right now (the caller's included)."""
    if sniffio.current_async_library() == "asyncio":
        return len(asyncio.all_tasks())
    import trio

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(child) for nursery in task.child_nurseries for child in nursery.child_tasks)

    return count(trio.lowlevel.current_root_task())
