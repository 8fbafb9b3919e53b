"""Issue 17's "Done when" rules, through the public client only (``AsyncTaskRouter`` wired to the emulator).

Each rule cites the Twilio page it comes from (https://www.twilio.com/docs/taskrouter/...):
ACTIVITIES = api/activity; CHANNELS = api/task-channel; WORKSPACE = api/workspace;
WORKFLOWS = workflow-configuration; ASSIGNMENT = lifecycle-task-workflows-and-assignment;
TASK_STATE = lifecycle-task-state; EXPRESSIONS = expression-syntax; QUEUES = api/task-queue;
WORKERS = api/worker; EVENTS = api/event/reference; RESERVATIONS = api/reservations;
MULTI = https://www.twilio.com/en-us/blog/route-tasks-even-faster-with-taskrouter-multi-reservation-html.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from taskrouter_async import (
    AsyncTaskRouter,
    BadRequestError,
    TaskCreate,
    TaskQueueCreate,
    TaskReservationUpdate,
    TaskUpdate,
    WorkerCreate,
    WorkerUpdate,
    WorkflowCreate,
    WorkspaceCreate,
)
from taskrouter_async.testing import FakeTaskRouter

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> FakeTaskRouter:
    return FakeTaskRouter()


@pytest.fixture
async def client(fake: FakeTaskRouter) -> AsyncIterator[AsyncTaskRouter]:
    async with fake.connect(max_retries=0) as connected:
        yield connected


class Support:
    """A workspace built through the client the way the docs build one."""

    def __init__(self, client: AsyncTaskRouter, ws: str) -> None:
        self.client = client
        self.ws = ws

    @classmethod
    async def create(cls, client: AsyncTaskRouter) -> Support:
        workspace = await client.workspaces.create(WorkspaceCreate(friendly_name="Support"))
        return cls(client, workspace.sid)

    async def activity(self, name: str) -> str:
        [activity] = [a async for a in self.client.activities.list(self.ws, friendly_name=name)]
        return activity.sid

    async def queue(self, name: str, target_workers: str = "1==1", **more: Any) -> str:
        params = TaskQueueCreate(friendly_name=name, target_workers=target_workers, **more)
        return (await self.client.task_queues.create(self.ws, params)).sid

    async def workflow(self, routing: dict[str, Any], **more: Any) -> str:
        params = WorkflowCreate(friendly_name="Main", configuration={"task_routing": routing}, **more)
        return (await self.client.workflows.create(self.ws, params)).sid

    async def routing(self, target_workers: str = "1==1", **queue: Any) -> str:
        sid = await self.queue("Everyone", target_workers, **queue)
        await self.workflow({"filters": [], "default_filter": {"queue": sid}})
        return sid

    async def worker(self, name: str, attributes: dict[str, Any] | None = None, *, available: bool = True) -> str:
        activity = await self.activity("Available" if available else "Offline")
        params = WorkerCreate(friendly_name=name, attributes=attributes or {}, activity_sid=activity)
        return (await self.client.workers.create(self.ws, params)).sid

    async def task(self, attributes: dict[str, Any] | None = None, **more: Any) -> str:
        return (await self.client.tasks.create(self.ws, TaskCreate(attributes=attributes or {}, **more))).sid

    async def status(self, task_sid: str) -> str:
        return str((await self.client.tasks.fetch(self.ws, task_sid)).assignment_status)

    async def reservations(self, task_sid: str) -> list[tuple[str, str, str]]:
        """(reservation SID, worker SID, status) of each of the task's reservations, oldest first."""
        listed = self.client.task_reservations.list(self.ws, task_sid)
        return [(r.sid, r.worker_sid, str(r.reservation_status)) async for r in listed]

    async def accept(self, task_sid: str, reservation_sid: str) -> None:
        await self.client.task_reservations.update(self.ws, task_sid, reservation_sid, TaskReservationUpdate.accept())


async def test_a_new_workspace_starts_with_taskrouters_defaults(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    workspace = await client.workspaces.fetch(support.ws)
    # ACTIVITIES: new workspaces get the Offline, Unavailable and Available activities.
    activities = {(a.friendly_name, a.available) async for a in client.activities.list(support.ws)}
    assert activities == {("Offline", False), ("Available", True), ("Unavailable", False)}
    # WORKSPACE: the default and the timeout activity (Offline).
    assert (workspace.default_activity_name, workspace.timeout_activity_name) == ("Offline", "Offline")
    # CHANNELS: the default, voice, chat, sms and video task channels.
    channels = sorted([c.unique_name async for c in client.task_channels.list(support.ws)])
    assert channels == ["chat", "default", "sms", "video", "voice"]


async def test_each_task_goes_to_the_first_matching_filter_else_the_default(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    tickets, sales, everyone = [await support.queue(name) for name in ("Tickets", "Sales", "Everyone")]
    await support.workflow(
        {
            # WORKFLOWS: "The Task will be routed based on the first expression matched."
            "filters": [
                {"expression": "type == 'ticket'", "targets": [{"queue": tickets}]},
                {"expression": "type == 'ticket' OR type == 'sale'", "targets": [{"queue": sales}]},
            ],
            # ASSIGNMENT: no filter matches: the default_filter's queue.
            "default_filter": {"queue": everyone},
        }
    )
    routed = []
    for kind in ("ticket", "sale", "refund"):
        task = await client.tasks.fetch(support.ws, await support.task({"type": kind}))
        routed.append(task.task_queue_sid)
    assert routed == [tickets, sales, everyone]


@pytest.mark.parametrize(
    ("target_workers", "chosen"),
    [
        ("skills HAS 'support'", "Ann"),  # QUEUES, EXPRESSIONS: HAS on a list attribute
        ("language == 'es'", "Bob"),  # == on a string
        ("level >= 3", "Cat"),  # a numeric comparison
    ],
)
async def test_target_workers_choose_who_is_reserved(client: AsyncTaskRouter, target_workers: str, chosen: str) -> None:
    support = await Support.create(client)
    await support.routing(target_workers)
    workers = {
        "Ann": await support.worker("Ann", {"skills": ["support"], "language": "en", "level": 1}),
        "Bob": await support.worker("Bob", {"skills": ["sales"], "language": "es", "level": 2}),
        "Cat": await support.worker("Cat", {"skills": ["billing"], "language": "en", "level": 5}),
    }
    task = await support.task()
    [(_, worker, status)] = await support.reservations(task)
    assert (worker, status) == (workers[chosen], "pending")


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("language IN ['en', 'es']", ["Ann", "Bob"]),
        ("language NOT IN ['en', 'es']", ["Cat"]),
        ("email CONTAINS '@example.com'", ["Ann", "Cat"]),
        ("level > 1 AND language == 'en'", []),
        ("(level > 1 AND language == 'es') OR skills HAS 'billing'", ["Bob", "Cat"]),
    ],
)
async def test_the_workers_list_filters_by_target_workers_expression(
    client: AsyncTaskRouter, expression: str, names: list[str]
) -> None:
    support = await Support.create(client)
    await support.worker("Ann", {"language": "en", "email": "ann@example.com", "level": 1, "skills": ["support"]})
    await support.worker("Bob", {"language": "es", "email": "bob@example.org", "level": 2, "skills": []})
    await support.worker("Cat", {"language": "fr", "email": "cat@example.com", "level": 1, "skills": ["billing"]})
    # WORKERS: TargetWorkersExpression, in the expression syntax (EXPRESSIONS).
    found = [w.friendly_name async for w in client.workers.list(support.ws, target_workers_expression=expression)]
    assert found == names


async def test_unavailable_or_non_matching_workers_are_never_reserved(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing("skills HAS 'support'")
    # ACTIVITIES: a worker in an unavailable activity "will not be considered for assignment".
    await support.worker("Offline Ann", {"skills": ["support"]}, available=False)
    await support.worker("Sales Bob", {"skills": ["sales"]})
    task = await support.task()
    assert (await support.status(task), await support.reservations(task)) == ("pending", [])


async def test_a_worker_becoming_available_is_reserved_for_a_waiting_task(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing()
    ann = await support.worker("Ann", available=False)
    task = await support.task()
    assert await support.status(task) == "pending"
    # ACTIVITIES: moving a worker to an available activity signals that it can be assigned new tasks.
    await client.workers.update(support.ws, ann, WorkerUpdate(activity_sid=await support.activity("Available")))
    [(_, worker, status)] = await support.reservations(task)
    assert (worker, status, await support.status(task)) == (ann, "pending", "reserved")


async def test_multi_reservation_rescinds_the_others_when_one_accepts(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing(max_reserved_workers=3)
    for name in ("Ann", "Bob", "Cat"):
        await support.worker(name)
    task = await support.task()
    # MULTI: MaxReservedWorkers workers are reserved at once; the first to accept gets the task.
    reservations = await support.reservations(task)
    assert [status for _, _, status in reservations] == ["pending"] * 3
    await support.accept(task, reservations[1][0])
    assert [status for _, _, status in await support.reservations(task)] == ["rescinded", "accepted", "rescinded"]
    assert await support.status(task) == "assigned"


async def test_accepting_a_reservation_no_longer_pending_is_refused(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing(max_reserved_workers=2)
    await support.worker("Ann")
    await support.worker("Bob")
    task = await support.task()
    (first, _, _), (second, _, _) = await support.reservations(task)
    await support.accept(task, first)
    before = await client.task_reservations.fetch(support.ws, task, second)
    # RESERVATIONS: only a pending reservation can be accepted (400, Twilio code 20001).
    with pytest.raises(BadRequestError) as refused:
        await support.accept(task, second)
    after = await client.task_reservations.fetch(support.ws, task, second)
    assert (refused.value.status_code, refused.value.code) == (400, 20001)
    assert (after.reservation_status, after.etag) == ("rescinded", before.etag)


async def test_completing_an_assigned_task_and_wrapping_up_before_completing(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing()
    await support.worker("Ann")
    direct, wrapped = await support.task({"n": 1}), await support.task({"n": 2}, task_channel="chat")
    for task in (direct, wrapped):
        [(reservation, _, _)] = await support.reservations(task)
        await support.accept(task, reservation)
    # TASK_STATE: assigned -> completed, or assigned -> wrapping -> completed.
    done = await client.tasks.update(support.ws, direct, TaskUpdate(assignment_status="completed", reason="solved"))
    assert (done.assignment_status, done.reason) == ("completed", "solved")
    wrapping = await client.tasks.update(support.ws, wrapped, TaskUpdate(assignment_status="wrapping"))
    assert wrapping.assignment_status == "wrapping"
    assert [status for _, _, status in await support.reservations(wrapped)] == ["wrapping"]
    completed = await client.tasks.update(support.ws, wrapped, TaskUpdate(assignment_status="completed"))
    assert completed.assignment_status == "completed"


async def test_a_pending_task_can_be_canceled_an_assigned_one_cannot(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing()
    waiting = await support.task()
    # TASK_STATE: "At any point until the Task has been assigned, the Task can be canceled."
    canceled = await client.tasks.update(support.ws, waiting, TaskUpdate(assignment_status="canceled"))
    assert canceled.assignment_status == "canceled"
    await support.worker("Ann")
    task = await support.task()
    [(reservation, _, _)] = await support.reservations(task)
    await support.accept(task, reservation)
    with pytest.raises(BadRequestError) as refused:
        await client.tasks.update(support.ws, task, TaskUpdate(assignment_status="canceled"))
    assert refused.value.code == 20001
    assert await support.status(task) == "assigned"


async def test_the_events_of_a_simple_flow_in_order(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing()
    ann = await support.worker("Ann")
    task = await support.task({"type": "chat"})
    [(reservation, _, _)] = await support.reservations(task)
    await support.accept(task, reservation)
    await client.task_reservations.update(support.ws, task, reservation, TaskReservationUpdate.complete())
    # EVENTS: the documented event types, in the order things happened.
    assert [e.event_type async for e in client.events.list(support.ws, task_sid=task)] == [
        "task.created",
        "workflow.entered",
        "task-queue.entered",
        "reservation.created",
        "reservation.accepted",
        "reservation.completed",
        "task.completed",
    ]
    assert [e.resource_sid async for e in client.events.list(support.ws, event_type="worker.created")] == [ann]


async def test_an_invalid_expression_is_refused(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    # EXPRESSIONS; the error points at the offending token.
    with pytest.raises(BadRequestError) as refused:
        await support.queue("Broken", "skills HAS")
    assert refused.value.code == 20001
    assert "position 10" in refused.value.message
    with pytest.raises(BadRequestError):
        [w async for w in client.workers.list(support.ws, target_workers_expression="(a == 1")]


async def test_a_reservation_timeout_moves_the_worker_to_the_timeout_activity(
    client: AsyncTaskRouter, fake: FakeTaskRouter
) -> None:
    support = await Support.create(client)
    queue = await support.queue("Everyone")
    await support.workflow({"filters": [], "default_filter": {"queue": queue}}, task_reservation_timeout=30)
    ann = await support.worker("Ann")
    task = await support.task()
    # RESERVATIONS: unanswered within TaskReservationTimeout, it times out; WORKSPACE: the worker goes to the
    # TimeoutActivity; TASK_STATE: the task is pending again.
    await fake.advance(30)
    assert [status for _, _, status in await support.reservations(task)] == ["timeout"]
    assert (await client.workers.fetch(support.ws, ann)).activity_name == "Offline"
    assert await support.status(task) == "pending"


async def test_a_workflow_target_timeout_with_no_next_target_cancels_the_task(
    client: AsyncTaskRouter, fake: FakeTaskRouter
) -> None:
    support = await Support.create(client)
    queue = await support.queue("Everyone")
    await support.workflow({"filters": [{"expression": "1==1", "targets": [{"queue": queue, "timeout": 60}]}]})
    task = await support.task()
    await fake.advance(59)
    assert await support.status(task) == "pending"
    # ASSIGNMENT: past the final step "a WorkflowTimeout event will fire and the Task will be canceled".
    await fake.advance(1)
    canceled = await client.tasks.fetch(support.ws, task)
    assert (canceled.assignment_status, canceled.reason) == ("canceled", "Workflow Timeout")
    assert [e.event_type async for e in client.events.list(support.ws, event_type="workflow.timeout")] == [
        "workflow.timeout"
    ]


async def test_tasks_and_workers_take_etag(client: AsyncTaskRouter) -> None:
    support = await Support.create(client)
    await support.routing()
    ann = await client.workers.fetch(support.ws, await support.worker("Ann", available=False))
    assert ann.etag is not None
    await client.workers.update(support.ws, ann.sid, WorkerUpdate(attributes={"level": 2}), etag=ann.etag)
    with pytest.raises(Exception, match="412"):
        await client.workers.update(support.ws, ann.sid, WorkerUpdate(attributes={"level": 3}), etag=ann.etag)
