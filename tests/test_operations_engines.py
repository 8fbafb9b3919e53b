"""One request of each kind over a real socket, on every engine: GET item, GET list, POST form, POST JSON, DELETE.

The server on 127.0.0.1 routes by method and path to the operation the request is for and answers
with that operation's spec example (204 for a delete; 404 for anything else), so a request sent to
the wrong place fails here rather than being answered anyway. ``spec_conformance`` checks every
request against the spec as it left the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
import pytest

from taskrouter_async import AsyncTaskRouter, Task, TaskUpdate

from .loopback import Conn, LoopbackServer, Request
from .sids import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKER_SID, WORKSPACE_SID
from .spec_check import RequestRecorder
from .spec_values import example_answers, library_operations

pytestmark = pytest.mark.anyio

BOUND = 20
ETAG = 'W/"3"'
QUEUE_SIDS = ["WQ" + "1" * 32, "WQ" + "2" * 32]


def _routes() -> list[tuple[str, re.Pattern[str], str]]:
    """Each operation's method, path regex and id; literal paths first (``TaskQueues/Statistics`` is no queue)."""
    routes = [
        (entry.operation.method, re.compile(entry.operation.path.replace("{}", "[^/]+")), operation_id)
        for operation_id, entry in library_operations().items()
    ]
    return sorted(routes, key=lambda route: route[1].pattern.count("[^/]+"))


ROUTES = _routes()


def operation_of(request: Request) -> str | None:
    return next(
        (op for method, regex, op in ROUTES if method == request.method and regex.fullmatch(request.path)), None
    )


async def spec_server(request: Request, conn: Conn) -> None:
    """Answer as TaskRouter would with the spec's example for the operation the request is for."""
    operation_id = operation_of(request)
    if operation_id is None:
        await conn.respond(404, json.dumps({"code": 20404, "message": "no such operation", "status": 404}))
        return
    status, answer = next(iter(example_answers(operation_id).values()))
    if status == 204:
        await conn.respond(204, b"", content_type="")
        return
    if "meta" in answer and "PageToken" not in request.target:  # page 1 points at page 2, on this server
        page_two = f"{request.path}?PageSize=1&PageToken=PT2"
        answer = {**answer, "meta": {**answer["meta"], "next_page_url": page_two}}
    await conn.respond(status, json.dumps(answer), headers=[("ETag", ETAG)])


async def get_item(client: AsyncTaskRouter) -> object:
    task = await client.tasks.fetch(WORKSPACE_SID, TASK_SID)
    assert isinstance(task, Task)
    assert task.etag == ETAG
    return task


async def get_list(client: AsyncTaskRouter) -> object:
    tasks = [task async for task in client.tasks.list(WORKSPACE_SID, assignment_status=["pending"], page_size=1)]
    assert len(tasks) == 2  # the example's one record, on each of two pages
    return tasks


async def post_form(client: AsyncTaskRouter) -> object:
    return await client.tasks.update(
        WORKSPACE_SID, TASK_SID, TaskUpdate(attributes={"skill": "en"}, priority=3), etag=ETAG
    )


async def post_json(client: AsyncTaskRouter) -> object:
    statistics = await client.task_queues.bulk_real_time_statistics(WORKSPACE_SID, QUEUE_SIDS)
    assert statistics.task_queue_response_count == 100
    return statistics


async def delete(client: AsyncTaskRouter) -> object:
    assert await client.workers.delete(WORKSPACE_SID, WORKER_SID, etag=ETAG) is None
    return await client.task_channels.delete(WORKSPACE_SID, "voice")  # a path SID given by unique name


TASKS = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks"
#: Each kind: the call, and the requests the server must have read (method, target, body check, headers).
KINDS: dict[str, tuple[Callable[[AsyncTaskRouter], Any], list[tuple[str, str]]]] = {
    "get-item": (get_item, [("GET", f"{TASKS}/{TASK_SID}")]),
    "get-list": (
        get_list,
        [("GET", f"{TASKS}?AssignmentStatus=pending&PageSize=1"), ("GET", f"{TASKS}?PageSize=1&PageToken=PT2")],
    ),
    "post-form": (post_form, [("POST", f"{TASKS}/{TASK_SID}")]),
    "post-json": (post_json, [("POST", f"/v1/Workspaces/{WORKSPACE_SID}/TaskQueues/RealTimeStatistics")]),
    "delete": (
        delete,
        [
            ("DELETE", f"/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}"),
            ("DELETE", f"/v1/Workspaces/{WORKSPACE_SID}/TaskChannels/voice"),
        ],
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_of_request_over_a_real_socket(
    kind: str, engine: str, spec_conformance: RequestRecorder
) -> None:
    call, expected = KINDS[kind]
    with LoopbackServer(spec_server) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=0) as client:
            assert client.engine == engine
            await call(client)
    assert [(request.method, request.target) for request in server.requests] == expected
    assert len(spec_conformance.sent) == len(expected)
    assert spec_conformance.problems() == []
    first = server.requests[0]
    assert first.headers["authorization"].startswith("Basic ")
    if kind == "post-form":
        assert first.headers["content-type"] == "application/x-www-form-urlencoded"
        assert first.headers["if-match"] == ETAG
        assert dict(parse_qsl(first.body.decode())) == {"Attributes": '{"skill":"en"}', "Priority": "3"}
    elif kind == "post-json":
        assert first.headers["content-type"] == "application/json"
        assert json.loads(first.body) == {"TaskQueueSids": QUEUE_SIDS}
    elif kind == "delete":
        assert first.headers["if-match"] == ETAG
        assert (first.body, "content-type" in first.headers) == (b"", False)
        assert "if-match" not in server.requests[1].headers
    else:
        assert first.body == b""
        assert "if-match" not in first.headers
