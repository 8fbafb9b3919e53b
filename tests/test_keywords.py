"""SIDs by name: ``task_sid=`` on task reservations, ``worker_sid=`` on worker reservations, one implementation."""

from __future__ import annotations

import inspect
from typing import Any
from unittest import mock

import pytest
import respx

from taskrouter_async import (
    AsyncTaskRouter,
    Reservations,
    TaskReservations,
    WorkerReservations,
)

from .helpers import TASK, WORKER, Kind, page_json, reservation_json
from .sids import RESERVATION_SID, WORKER_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

KINDS = pytest.mark.parametrize("kind", [TASK, WORKER], ids=["task", "worker"])


def parent_name(kind: Kind) -> str:
    return f"{kind.name}_sid"


def mock_list(api: respx.MockRouter, kind: Kind) -> respx.Route:
    body = page_json(kind.path(None), [RESERVATION_SID], page=0, page_size=50, next_token=None)
    return api.get(kind.path(None)).respond(200, json=body)


@KINDS
async def test_fetch_and_update_take_every_sid_by_name(
    kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    fetched = api.get(kind.path()).respond(200, json=reservation_json(), headers={"ETag": '"4"'})
    updated = api.post(kind.path()).respond(200, json=reservation_json(status="accepted"))
    resource, parent = kind.resource(client), {parent_name(kind): kind.parent_sid}
    current = await resource.fetch(workspace_sid=WORKSPACE_SID, **parent, reservation_sid=RESERVATION_SID)
    same = await resource.fetch(WORKSPACE_SID, **parent, reservation_sid=RESERVATION_SID)
    accepted = await resource.update(
        workspace_sid=WORKSPACE_SID,
        **parent,
        reservation_sid=RESERVATION_SID,
        params=kind.update_class.accept(),
        etag=current.etag,
    )
    assert current == same
    assert accepted.reservation_status == "accepted"
    assert fetched.call_count == 2
    assert updated.calls.last.request.headers["If-Match"] == '"4"'


@KINDS
async def test_list_and_pages_take_the_parent_by_name(
    kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    route = mock_list(api, kind)
    resource, parent = kind.resource(client), {parent_name(kind): kind.parent_sid}
    listed = [r.sid async for r in resource.list(workspace_sid=WORKSPACE_SID, **parent, reservation_status="pending")]
    paged = [p.items async for p in resource.pages(WORKSPACE_SID, **parent, page_size=50)]
    assert listed == [RESERVATION_SID]
    assert [[r.sid for r in items] for items in paged] == [[RESERVATION_SID]]
    assert [dict(call.request.url.params) for call in route.calls] == [
        {"ReservationStatus": "pending"},
        {"PageSize": "50"},
    ]


async def test_task_reservations_keep_the_worker_filter_beside_task_sid(
    client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    route = mock_list(api, TASK)
    listed = [
        r async for r in client.task_reservations.list(WORKSPACE_SID, task_sid=TASK.parent_sid, worker_sid=WORKER_SID)
    ]
    assert len(listed) == 1
    assert route.calls.last.request.url.params["WorkerSid"] == WORKER_SID


@pytest.mark.parametrize(
    ("kind", "call", "message"),
    [
        (TASK, lambda r: r.fetch(WORKSPACE_SID, worker_sid=WORKER_SID, reservation_sid=RESERVATION_SID), "worker_sid"),
        (
            WORKER,
            lambda r: r.fetch(WORKSPACE_SID, task_sid=TASK.parent_sid, reservation_sid=RESERVATION_SID),
            "task_sid",
        ),
        (TASK, lambda r: r.list(WORKSPACE_SID, TASK.parent_sid, task_sid=TASK.parent_sid), "multiple values"),
        (WORKER, lambda r: r.pages(WORKSPACE_SID, WORKER_SID, worker_sid=WORKER_SID), "multiple values"),
    ],
    ids=["task-fetch-worker_sid", "worker-fetch-task_sid", "task-list-twice", "worker-pages-twice"],
)
async def test_a_wrong_or_repeated_name_is_a_type_error(
    kind: Kind, call: Any, message: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    with pytest.raises(TypeError, match=message):
        await call(kind.resource(client))
    assert not api.calls


async def test_the_one_implementation_serves_both_kinds(client: AsyncTaskRouter) -> None:
    """Both kinds are the generated thin classes over one ``Reservations`` base: no behaviour of their own."""
    task, worker = type(client.task_reservations), type(client.worker_reservations)
    assert (task, worker) == (TaskReservations, WorkerReservations)
    assert task.__bases__ == worker.__bases__ == (Reservations,)
    for name in ("_call", "_list", "_pages", "_update_many", "encode"):
        assert getattr(task, name) is getattr(worker, name) is getattr(Reservations, name)


async def test_coroutine_methods_stay_coroutine_functions(client: AsyncTaskRouter) -> None:
    """So ``mock.create_autospec`` gives users AsyncMocks for them."""
    for resource in (client.task_reservations, client.worker_reservations):
        assert inspect.iscoroutinefunction(resource.fetch)
        assert inspect.iscoroutinefunction(resource.update)
        assert not inspect.iscoroutinefunction(resource.list)
    spec = mock.create_autospec(client.task_reservations, instance=True)
    assert isinstance(spec.fetch, mock.AsyncMock)


@pytest.mark.parametrize("method", ["fetch", "update", "list", "pages", "update_many", "update_all", "encode"])
def test_the_two_kinds_take_the_same_arguments_under_their_parent_name(method: str) -> None:
    """Worker reservations spell task reservations' signature with ``worker_sid`` for ``task_sid``, and
    without the worker filter, since ``worker_sid`` is the parent there."""
    task = inspect.signature(getattr(TaskReservations, method))
    worker = inspect.signature(getattr(WorkerReservations, method))
    expected = [
        ("worker_sid" if p.name == "task_sid" else p.name, p.kind, p.default)
        for p in task.parameters.values()
        if not (p.name == "worker_sid" and p.kind is p.KEYWORD_ONLY)
    ]
    assert [(p.name, p.kind, p.default) for p in worker.parameters.values()] == expected


def test_the_client_is_typed_with_each_kinds_protocol() -> None:
    hints = inspect.get_annotations(AsyncTaskRouter, eval_str=False)
    assert (hints["task_reservations"], hints["worker_reservations"]) == ("TaskReservations", "WorkerReservations")
