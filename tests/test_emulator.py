"""The emulator (FakeTaskRouter) against rules written from Twilio's TaskRouter docs; each test cites its page.

Until the client covers the whole API (issue 15), resources other than reservations are driven
with raw HTTP against the fake's ASGI app; reservations go through the public client. The
requests here use resources outside the reservation subset the ``spec_conformance`` fixture
knows, so the module opts out of it; ``test_every_response_has_the_schema_of_the_spec`` checks
the answers against the full spec instead.

Pages (https://www.twilio.com/docs/taskrouter/...):
ACTIVITIES = api/activity; CHANNELS = api/task-channel; WORKSPACE = api/workspace;
WORKFLOWS = workflow-configuration; ASSIGNMENT = lifecycle-task-workflows-and-assignment;
TASK_STATE = lifecycle-task-state; EXPRESSIONS = expression-syntax; QUEUES = api/task-queue;
WORKERS = api/worker; MULTI = twilio.com/en-us/blog/route-tasks-even-faster-with-taskrouter-multi-reservation-html;
EVENTS = api/event/reference; RESERVATIONS = api/reservations; MULTITASKING = multitasking;
ERRORS = https://www.twilio.com/docs/errors/20001 (and /20404).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from taskrouter_async import BadRequestError, TaskReservationUpdate
from taskrouter_async.testing import FakeTaskRouter
from taskrouter_async.webhooks import verify_request

pytestmark = [pytest.mark.anyio, pytest.mark.nonconforming_requests]

SPEC = json.loads((Path(__file__).parent / "spec" / "twilio_taskrouter_v1.json").read_text(encoding="utf-8"))


class Api:
    """Raw HTTP to the fake: form bodies, Twilio's field names, the answer's JSON."""

    def __init__(self, http: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
        self.http = http
        self.auth = (fake.account_sid, fake.auth_token)
        self.ws = ""
        #: Every answer, for the spec check.
        self.answers: list[tuple[str, str, httpx.Response]] = []

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **params: Any
    ) -> httpx.Response:
        url = path.replace("{ws}", self.ws)
        pairs = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in params.items()]
        if method == "GET":
            response = await self.http.get(url, params=pairs, auth=self.auth)
        elif method == "DELETE":
            response = await self.http.delete(url, auth=self.auth, headers=headers)
        else:
            response = await self.http.post(url, data=dict(pairs), auth=self.auth, headers=headers)
        self.answers.append((method, url, response))
        return response

    async def post(self, path: str, **form: Any) -> dict[str, Any]:
        response = await self.call("POST", path, **form)
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    async def get(self, path: str, **query: Any) -> dict[str, Any]:
        response = await self.call("GET", path, **query)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def error(self, method: str, path: str, **params: Any) -> dict[str, Any]:
        response = await self.call(method, path, **params)
        assert response.status_code >= 400, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == response.status_code
        assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
        return body

    # --- a small workspace, the way the docs build one ---------------------------------------

    async def workspace(self, name: str = "Support") -> dict[str, Any]:
        ws = await self.post("/v1/Workspaces", FriendlyName=name)
        self.ws = ws["sid"]
        return ws

    async def activity(self, name: str) -> str:
        activities = await self.get("/v1/Workspaces/{ws}/Activities", FriendlyName=name)
        sid: str = activities["activities"][0]["sid"]
        return sid

    async def queue(self, name: str, target_workers: str = "1==1", **more: Any) -> str:
        body = await self.post(
            "/v1/Workspaces/{ws}/TaskQueues", FriendlyName=name, TargetWorkers=target_workers, **more
        )
        sid: str = body["sid"]
        return sid

    async def workflow(self, routing: dict[str, Any], **more: Any) -> str:
        body = await self.post(
            "/v1/Workspaces/{ws}/Workflows", FriendlyName="Main", Configuration={"task_routing": routing}, **more
        )
        sid: str = body["sid"]
        return sid

    async def worker(self, name: str, attributes: dict[str, Any], *, available: bool = True) -> str:
        activity = await self.activity("Available" if available else "Offline")
        body = await self.post(
            "/v1/Workspaces/{ws}/Workers", FriendlyName=name, Attributes=attributes, ActivitySid=activity
        )
        sid: str = body["sid"]
        return sid

    async def task(self, attributes: dict[str, Any], **more: Any) -> dict[str, Any]:
        return await self.post("/v1/Workspaces/{ws}/Tasks", Attributes=attributes, **more)

    async def fetch_task(self, sid: str) -> dict[str, Any]:
        return await self.get(f"/v1/Workspaces/{{ws}}/Tasks/{sid}")

    async def reservations(self, task_sid: str, **query: Any) -> list[dict[str, Any]]:
        body = await self.get(f"/v1/Workspaces/{{ws}}/Tasks/{task_sid}/Reservations", **query)
        reservations: list[dict[str, Any]] = body["reservations"]
        return reservations

    async def events(self, **query: Any) -> list[str]:
        body = await self.get("/v1/Workspaces/{ws}/Events", PageSize=1000, **query)
        return [event["event_type"] for event in body["events"]]


@pytest.fixture
def fake() -> FakeTaskRouter:
    return FakeTaskRouter()


@pytest.fixture
async def api(fake: FakeTaskRouter) -> AsyncIterator[Api]:
    async with fake.client() as http:
        yield Api(http, fake)


async def simple_routing(api: Api, target_workers: str = "1==1", **queue: Any) -> tuple[str, str]:
    """One queue, and a workflow whose default filter sends every task to it."""
    await api.workspace()
    queue_sid = await api.queue("Everyone", target_workers, **queue)
    workflow_sid = await api.workflow({"filters": [], "default_filter": {"queue": queue_sid}})
    return queue_sid, workflow_sid


# --- a new workspace -------------------------------------------------------------------------------


async def test_a_new_workspace_starts_with_taskrouters_defaults(api: Api) -> None:
    ws = await api.workspace()
    # ACTIVITIES: "TaskRouter pre-populates new Workspaces with Offline, Unavailable, and Available Activities".
    activities = (await api.get("/v1/Workspaces/{ws}/Activities"))["activities"]
    assert {(a["friendly_name"], a["available"]) for a in activities} == {
        ("Offline", False),
        ("Available", True),
        ("Unavailable", False),
    }
    # WORKSPACE: its default activity and timeout activity (Offline in a new workspace).
    assert (ws["default_activity_name"], ws["timeout_activity_name"]) == ("Offline", "Offline")
    # CHANNELS: the default, voice, chat, sms and video task channels.
    channels = (await api.get("/v1/Workspaces/{ws}/TaskChannels"))["channels"]
    assert sorted(c["unique_name"] for c in channels) == ["chat", "default", "sms", "video", "voice"]
    # WORKSPACE: multi-tasking is the default; no queue or workflow unless Template=FIFO asks for them.
    assert ws["multi_task_enabled"] is True
    assert (await api.get("/v1/Workspaces/{ws}/TaskQueues"))["task_queues"] == []
    fifo = await api.post("/v1/Workspaces", FriendlyName="Sales", Template="FIFO")
    assert len((await api.get(f"/v1/Workspaces/{fifo['sid']}/Workflows"))["workflows"]) == 1


# --- routing -----------------------------------------------------------------------------------------


async def test_a_task_goes_to_the_first_matching_filter_else_the_default_filter(api: Api) -> None:
    await api.workspace()
    support, sales, everyone = [await api.queue(name) for name in ("Support", "Sales", "Everyone")]
    await api.workflow(
        {
            # WORKFLOWS: "The Task will be routed based on the first expression matched."
            "filters": [
                {"filter_friendly_name": "Support", "expression": 'type=="Support"', "targets": [{"queue": support}]},
                {
                    "filter_friendly_name": "Sales",
                    "expression": 'type=="Sales" OR type=="Support"',
                    "targets": [{"queue": sales}],
                },
            ],
            # ASSIGNMENT: a task that matches no filter falls back to the default_filter.
            "default_filter": {"queue": everyone},
        }
    )
    routed = [(await api.task({"type": kind}))["task_queue_sid"] for kind in ("Sales", "Support", "Billing")]
    assert routed == [sales, support, everyone]
    # WORKFLOWS: a target's priority overrides the task's.
    queue = await api.queue("Priority")
    await api.post(
        "/v1/Workspaces/{ws}/Workflows",
        FriendlyName="Prioritised",
        Configuration={
            "task_routing": {
                "filters": [{"expression": "vip == true", "targets": [{"queue": queue, "priority": 10}]}],
                "default_filter": {"queue": everyone},
            }
        },
    )
    workflows = (await api.get("/v1/Workspaces/{ws}/Workflows", FriendlyName="Prioritised"))["workflows"]
    vip = await api.task({"vip": True}, WorkflowSid=workflows[0]["sid"])
    assert (vip["task_queue_sid"], vip["priority"]) == (queue, 10)


@pytest.mark.parametrize(
    ("target_workers", "chosen"),
    [
        # QUEUES / EXPRESSIONS: HAS on a list attribute, == on a string, a numeric comparison.
        ("skills HAS 'support'", "Ann"),
        ("language == 'es'", "Bob"),
        ("level >= 3", "Cat"),
    ],
)
async def test_a_queue_reserves_only_workers_its_target_workers_expression_matches(
    api: Api, target_workers: str, chosen: str
) -> None:
    await simple_routing(api, target_workers)
    workers = {
        "Ann": await api.worker("Ann", {"skills": ["support"], "language": "en", "level": 1}),
        "Bob": await api.worker("Bob", {"skills": ["sales"], "language": "es", "level": 2}),
        "Cat": await api.worker("Cat", {"skills": ["billing"], "language": "en", "level": 5}),
    }
    task = await api.task({"type": "ticket"})
    assert task["assignment_status"] == "reserved"  # TASK_STATE: reserved once a worker is
    [reservation] = await api.reservations(task["sid"])
    assert reservation["worker_sid"] == workers[chosen]


async def test_unavailable_or_non_matching_workers_are_never_reserved(api: Api) -> None:
    await simple_routing(api, "skills HAS 'support'")
    # ACTIVITIES: a worker in an activity whose Available is false "will not be considered for assignment".
    await api.worker("Offline Ann", {"skills": ["support"]}, available=False)
    await api.worker("Sales Bob", {"skills": ["sales"]})
    task = await api.task({})
    assert task["assignment_status"] == "pending"
    assert await api.reservations(task["sid"]) == []


async def test_a_worker_becoming_available_is_reserved_for_a_waiting_task(api: Api) -> None:
    await simple_routing(api)
    ann = await api.worker("Ann", {}, available=False)
    task = await api.task({})
    assert task["assignment_status"] == "pending"
    # ACTIVITIES: "By moving Workers from unavailable to available Activities you signal to TaskRouter that
    # the Worker can be assigned new Tasks."
    await api.post(f"/v1/Workspaces/{{ws}}/Workers/{ann}", ActivitySid=await api.activity("Available"))
    [reservation] = await api.reservations(task["sid"])
    assert (reservation["worker_sid"], reservation["reservation_status"]) == (ann, "pending")
    assert (await api.fetch_task(task["sid"]))["assignment_status"] == "reserved"


async def test_higher_priority_first_then_the_queues_task_order(api: Api) -> None:
    await simple_routing(api, TaskOrder="LIFO")
    first = await api.task({"n": 1})
    second = await api.task({"n": 2})
    urgent = await api.task({"n": 3}, Priority=5)
    normal = await api.task({"n": 4})
    await api.worker("Ann", {})
    # QUEUES: TaskOrder LIFO hands out the newest task first, after priority (WORKFLOWS: higher first).
    assert (await api.fetch_task(urgent["sid"]))["assignment_status"] == "reserved"
    for task in (first, second, normal):
        assert (await api.fetch_task(task["sid"]))["assignment_status"] == "pending"


async def test_channel_capacity_limits_concurrent_tasks(api: Api, fake: FakeTaskRouter) -> None:
    await simple_routing(api)
    ann = await api.worker("Ann", {})
    first, second = await api.task({}, TaskChannel="chat"), await api.task({}, TaskChannel="chat")
    # MULTITASKING: a worker gets a task only with capacity left on the task's channel (default capacity 1).
    assert [(await api.fetch_task(t["sid"]))["assignment_status"] for t in (first, second)] == ["reserved", "pending"]
    await api.post(f"/v1/Workspaces/{{ws}}/Workers/{ann}/Channels/chat", Capacity=2)
    assert (await api.fetch_task(second["sid"]))["assignment_status"] == "reserved"
    channel = await api.get(f"/v1/Workspaces/{{ws}}/Workers/{ann}/Channels/chat")
    assert (channel["configured_capacity"], channel["assigned_tasks"], channel["available_capacity_percentage"]) == (
        2,
        2,
        0,
    )


# --- the lifecycle -----------------------------------------------------------------------------------


async def test_multi_reservation_the_first_to_accept_gets_the_task(api: Api, fake: FakeTaskRouter) -> None:
    await simple_routing(api, MaxReservedWorkers=3)
    workers = [await api.worker(name, {}) for name in ("Ann", "Bob", "Cat", "Dan")]
    task = await api.task({})
    # MULTI: "MaxReservedWorkers ... the maximum number of workers to reserve for a task".
    reservations = await api.reservations(task["sid"])
    assert len(reservations) == 3
    assert {r["worker_sid"] for r in reservations} < set(workers)
    async with fake.connect(max_retries=0) as client:
        accepted = await client.task_reservations.update(
            api.ws, task["sid"], reservations[1]["sid"], TaskReservationUpdate.accept()
        )
    assert accepted.reservation_status == "accepted"
    # MULTI: the first to accept handles the work; the other reservations are rescinded.
    statuses = [r["reservation_status"] for r in await api.reservations(task["sid"])]
    assert statuses == ["rescinded", "accepted", "rescinded"]
    assert (await api.fetch_task(task["sid"]))["assignment_status"] == "assigned"


async def test_accepting_a_reservation_that_is_no_longer_pending_is_refused(api: Api, fake: FakeTaskRouter) -> None:
    await simple_routing(api, MaxReservedWorkers=2)
    for name in ("Ann", "Bob"):
        await api.worker(name, {})
    task = await api.task({})
    first, second = await api.reservations(task["sid"])
    async with fake.connect(max_retries=0) as client:
        await client.task_reservations.update(api.ws, task["sid"], first["sid"], TaskReservationUpdate.accept())
        before = await client.task_reservations.fetch(api.ws, task["sid"], second["sid"])
        # RESERVATIONS: only a pending reservation can be accepted; TaskRouter answers 400, code 20001.
        with pytest.raises(BadRequestError) as refused:
            await client.task_reservations.update(api.ws, task["sid"], second["sid"], TaskReservationUpdate.accept())
        after = await client.task_reservations.fetch(api.ws, task["sid"], second["sid"])
    assert refused.value.code == 20001
    assert "not in expected state [pending]" in refused.value.message
    assert (after.reservation_status, after.etag) == ("rescinded", before.etag)  # no state change


async def test_completing_an_assigned_task_and_wrapping_up_first(api: Api, fake: FakeTaskRouter) -> None:
    await simple_routing(api)
    await api.worker("Ann", {})
    wrapped, direct = await api.task({"n": 1}), await api.task({"n": 2}, TaskChannel="chat")
    async with fake.connect(max_retries=0) as client:
        for task in (wrapped, direct):
            [reservation] = await api.reservations(task["sid"])
            await client.task_reservations.update(
                api.ws, task["sid"], reservation["sid"], TaskReservationUpdate.accept()
            )
    # TASK_STATE: assigned -> wrapping -> completed, or assigned -> completed.
    path = f"/v1/Workspaces/{{ws}}/Tasks/{wrapped['sid']}"
    assert (await api.post(path, AssignmentStatus="wrapping"))["assignment_status"] == "wrapping"
    done = await api.post(path, AssignmentStatus="completed", Reason="resolved")
    assert (done["assignment_status"], done["reason"]) == ("completed", "resolved")
    [reservation] = await api.reservations(wrapped["sid"])
    assert reservation["reservation_status"] == "completed"
    direct_done = await api.post(f"/v1/Workspaces/{{ws}}/Tasks/{direct['sid']}", AssignmentStatus="completed")
    assert direct_done["assignment_status"] == "completed"


async def test_a_pending_task_can_be_canceled_but_an_assigned_one_cannot(api: Api, fake: FakeTaskRouter) -> None:
    await simple_routing(api)
    waiting = await api.task({})
    # TASK_STATE: "At any point until the Task has been assigned, the Task can be canceled."
    canceled = await api.post(f"/v1/Workspaces/{{ws}}/Tasks/{waiting['sid']}", AssignmentStatus="canceled")
    assert canceled["assignment_status"] == "canceled"
    await api.worker("Ann", {})
    task = await api.task({})
    [reservation] = await api.reservations(task["sid"])
    async with fake.connect(max_retries=0) as client:
        await client.task_reservations.update(api.ws, task["sid"], reservation["sid"], TaskReservationUpdate.accept())
    error = await api.error("POST", f"/v1/Workspaces/{{ws}}/Tasks/{task['sid']}", AssignmentStatus="canceled")
    assert (error["status"], error["code"]) == (400, 20001)
    assert (await api.fetch_task(task["sid"]))["assignment_status"] == "assigned"


async def test_a_rejected_reservation_returns_the_task_to_the_queue_for_another_worker(
    api: Api, fake: FakeTaskRouter
) -> None:
    await simple_routing(api)
    ann, bob = await api.worker("Ann", {}), await api.worker("Bob", {})
    task = await api.task({})
    [first] = await api.reservations(task["sid"])
    offline = await api.activity("Offline")
    async with fake.connect(max_retries=0) as client:
        await client.task_reservations.update(
            api.ws, task["sid"], first["sid"], TaskReservationUpdate.reject(worker_activity_sid=offline)
        )
    # TASK_STATE: back to pending when the reservation is rejected, then reserved for the next worker.
    other = ({ann, bob} - {first["worker_sid"]}).pop()
    reservations = await api.reservations(task["sid"])
    assert [(r["worker_sid"], r["reservation_status"]) for r in reservations] == [
        (first["worker_sid"], "rejected"),
        (other, "pending"),
    ]
    rejecter = await api.get(f"/v1/Workspaces/{{ws}}/Workers/{first['worker_sid']}")
    assert rejecter["activity_name"] == "Offline"  # RESERVATIONS: WorkerActivitySid moves the worker


# --- events ----------------------------------------------------------------------------------------------


async def test_the_events_of_a_simple_flow_in_order(api: Api, fake: FakeTaskRouter) -> None:
    await simple_routing(api)
    await api.worker("Ann", {})
    task = await api.task({"type": "chat"})
    [reservation] = await api.reservations(task["sid"])
    async with fake.connect(max_retries=0) as client:
        await client.task_reservations.update(api.ws, task["sid"], reservation["sid"], TaskReservationUpdate.accept())
        await client.task_reservations.update(api.ws, task["sid"], reservation["sid"], TaskReservationUpdate.complete())
    # EVENTS: the documented event types, in the order the changes happened.
    assert await api.events(TaskSid=task["sid"]) == [
        "task.created",
        "workflow.entered",
        "task-queue.entered",
        "reservation.created",
        "reservation.accepted",
        "reservation.completed",
        "task.completed",
    ]
    accepted = (await api.get("/v1/Workspaces/{ws}/Events", EventType="reservation.accepted"))["events"][0]
    assert accepted["resource_sid"] == reservation["sid"]
    assert accepted["event_data"]["task_assignment_status"] == "assigned"
    fetched = await api.get(f"/v1/Workspaces/{{ws}}/Events/{accepted['sid']}")
    assert fetched == accepted


async def test_events_go_to_the_workspaces_callback_url_signed(api: Api, fake: FakeTaskRouter) -> None:
    received: list[dict[str, str]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        url = f"http://app.test{scope['path']}"
        received.append(dict(verify_request(fake.auth_token, url, body, headers[b"x-twilio-signature"].decode())))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    fake.set_callbacks(app=app)
    # EVENTS: TaskRouter POSTs each event to the workspace's EventCallbackUrl (EventsFilter narrows them).
    ws = await api.workspace()
    await api.post(
        f"/v1/Workspaces/{ws['sid']}",
        EventCallbackUrl="http://app.test/events",
        EventsFilter="task.created,task.canceled",
    )
    queue = await api.queue("Everyone")
    await api.workflow({"filters": [], "default_filter": {"queue": queue}})
    task = await api.task({"type": "chat"})
    await api.post(f"/v1/Workspaces/{{ws}}/Tasks/{task['sid']}", AssignmentStatus="canceled", Reason="hangup")
    assert [(e["EventType"], e["TaskSid"]) for e in received] == [
        ("task.created", task["sid"]),
        ("task.canceled", task["sid"]),
    ]
    assert received[1]["TaskCanceledReason"] == "hangup"


# --- expressions in lists and refused expressions ---------------------------------------------------------


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
    api: Api, expression: str, names: list[str]
) -> None:
    await api.workspace()
    await api.worker("Ann", {"language": "en", "email": "ann@example.com", "level": 1, "skills": ["support"]})
    await api.worker("Bob", {"language": "es", "email": "bob@example.org", "level": 2, "skills": []})
    await api.worker("Cat", {"language": "fr", "email": "cat@example.com", "level": 1, "skills": ["billing"]})
    # WORKERS: TargetWorkersExpression filters the list with the expression syntax (EXPRESSIONS).
    found = await api.get("/v1/Workspaces/{ws}/Workers", TargetWorkersExpression=expression)
    assert [w["friendly_name"] for w in found["workers"]] == names


async def test_the_tasks_list_filters_by_evaluate_task_attributes(api: Api) -> None:
    await simple_routing(api)
    await api.task({"type": "support", "priority_level": 2})
    await api.task({"type": "sales"})
    found = await api.get("/v1/Workspaces/{ws}/Tasks", EvaluateTaskAttributes="type == 'support'")
    assert [json.loads(t["attributes"])["type"] for t in found["tasks"]] == ["support"]
    both = await api.get("/v1/Workspaces/{ws}/Tasks", AssignmentStatus="pending,reserved")
    assert len(both["tasks"]) == 2


@pytest.mark.parametrize(
    ("method", "path", "params", "where"),
    [
        ("POST", "/v1/Workspaces/{ws}/TaskQueues", {"FriendlyName": "Q", "TargetWorkers": "skills HAS"}, "position 10"),
        ("GET", "/v1/Workspaces/{ws}/Workers", {"TargetWorkersExpression": "(a == 1"}, "position 7"),
        ("GET", "/v1/Workspaces/{ws}/Tasks", {"EvaluateTaskAttributes": "type === 'x'"}, "position 7"),
    ],
)
async def test_an_invalid_expression_is_refused_with_the_offending_position(
    api: Api, method: str, path: str, params: dict[str, Any], where: str
) -> None:
    await api.workspace()
    error = await api.error(method, path, **params)
    assert (error["status"], error["code"]) == (400, 20001)
    assert where in error["message"]


async def test_an_invalid_workflow_configuration_is_refused(api: Api) -> None:
    await api.workspace()
    queue = await api.queue("Q")
    bad = {"task_routing": {"filters": [{"expression": "type = = 'x'", "targets": [{"queue": queue}]}]}}
    error = await api.error("POST", "/v1/Workspaces/{ws}/Workflows", FriendlyName="W", Configuration=bad)
    assert (error["code"], "task_routing.filters[0].expression" in error["message"]) == (20001, True)
    unknown = {"task_routing": {"filters": [], "default_filter": {"queue": "WQ" + "0" * 32}}}
    error = await api.error("POST", "/v1/Workspaces/{ws}/Workflows", FriendlyName="W", Configuration=unknown)
    assert "not a TaskQueue of this workspace" in error["message"]


# --- the clock ---------------------------------------------------------------------------------------------


async def test_a_reservation_timeout_moves_the_worker_to_the_timeout_activity(api: Api, fake: FakeTaskRouter) -> None:
    await api.workspace()
    queue = await api.queue("Everyone")
    await api.workflow({"filters": [], "default_filter": {"queue": queue}}, TaskReservationTimeout=30)
    ann = await api.worker("Ann", {})
    task = await api.task({})
    await fake.advance(29)
    assert (await api.reservations(task["sid"]))[0]["reservation_status"] == "pending"
    # RESERVATIONS: unanswered within TaskReservationTimeout, the reservation times out; WORKSPACE: the worker
    # moves to the workspace's TimeoutActivity; TASK_STATE: the task goes back to pending.
    await fake.advance(1)
    assert (await api.reservations(task["sid"]))[0]["reservation_status"] == "timeout"
    assert (await api.get(f"/v1/Workspaces/{{ws}}/Workers/{ann}"))["activity_name"] == "Offline"
    assert (await api.fetch_task(task["sid"]))["assignment_status"] == "pending"
    assert (await api.events(EventType="reservation.timeout")) == ["reservation.timeout"]


async def test_a_workflow_target_timeout_moves_on_then_cancels_the_task(api: Api, fake: FakeTaskRouter) -> None:
    await api.workspace()
    first, second = await api.queue("First"), await api.queue("Second")
    await api.workflow(
        {
            "filters": [
                {"expression": "1==1", "targets": [{"queue": first, "timeout": 60}, {"queue": second, "timeout": 30}]}
            ]
        }
    )
    task = await api.task({})
    assert task["task_queue_sid"] == first
    # ASSIGNMENT: "If the Task hits the step timeout, it will move to the next step" (timeouts count from
    # the task's creation); past the final step "a WorkflowTimeout event will fire and the Task will be canceled".
    await fake.advance(60)
    assert (await api.fetch_task(task["sid"]))["task_queue_sid"] == second
    await fake.advance(29)
    assert (await api.fetch_task(task["sid"]))["assignment_status"] == "pending"
    await fake.advance(1)
    canceled = await api.fetch_task(task["sid"])
    assert (canceled["assignment_status"], canceled["reason"]) == ("canceled", "Workflow Timeout")
    assert "workflow.timeout" in await api.events(TaskSid=task["sid"])
    # TASK_STATE: "the Task will be deleted five minutes after moving into this state".
    await fake.advance(300)
    assert (await api.error("GET", f"/v1/Workspaces/{{ws}}/Tasks/{task['sid']}"))["code"] == 20404


async def test_a_task_ttl_cancels_it(api: Api, fake: FakeTaskRouter) -> None:
    await simple_routing(api)
    task = await api.task({}, Timeout=120)
    await fake.advance(120)
    canceled = await api.fetch_task(task["sid"])
    assert (canceled["assignment_status"], canceled["reason"]) == ("canceled", "Task TTL Exceeded")


# --- ETags, errors, shapes ----------------------------------------------------------------------------------


async def test_tasks_and_workers_carry_etags_and_honour_if_match(api: Api) -> None:
    await simple_routing(api)
    ann = await api.worker("Ann", {}, available=False)
    task = await api.task({"n": 1})
    for path in (f"/v1/Workspaces/{{ws}}/Tasks/{task['sid']}", f"/v1/Workspaces/{{ws}}/Workers/{ann}"):
        seen = (await api.call("GET", path)).headers["etag"]
        changed = await api.call("POST", path, headers={"If-Match": seen}, Attributes={"n": 2})
        assert changed.status_code == 200
        assert changed.headers["etag"] != seen
        stale = await api.call("POST", path, headers={"If-Match": seen}, Attributes={"n": 3})
        assert (stale.status_code, stale.json()["code"]) == (412, 20412)


async def test_unknown_resources_and_parameters_get_twilios_errors(api: Api) -> None:
    await api.workspace()
    missing = await api.error("GET", "/v1/Workspaces/{ws}/Workers/WK" + "0" * 32)
    assert (missing["status"], missing["code"]) == (404, 20404)
    unknown = await api.error("POST", "/v1/Workspaces/{ws}/Activities", FriendlyName="x", Colour="red")
    assert (unknown["status"], unknown["code"], unknown["message"]) == (400, 20001, "Unknown parameter: Colour")
    no_name = await api.error("POST", "/v1/Workspaces/{ws}/Workers")
    assert "FriendlyName" in no_name["message"]
    duplicate = await api.error("POST", "/v1/Workspaces/{ws}/TaskChannels", FriendlyName="V", UniqueName="voice")
    assert duplicate["code"] == 20001
    in_use = await api.error("DELETE", f"/v1/Workspaces/{{ws}}/Activities/{await api.activity('Offline')}")
    assert "default or timeout activity" in in_use["message"]


async def test_every_response_has_the_schema_of_the_spec(api: Api, fake: FakeTaskRouter) -> None:
    queue, workflow = await simple_routing(api)
    ann = await api.worker("Ann", {"skills": ["support"]})
    task = await api.task({"type": "chat"})
    ws = api.ws
    for path in [
        "/v1/Workspaces",
        f"/v1/Workspaces/{ws}",
        f"/v1/Workspaces/{ws}/Activities",
        f"/v1/Workspaces/{ws}/TaskChannels",
        f"/v1/Workspaces/{ws}/TaskQueues",
        f"/v1/Workspaces/{ws}/TaskQueues/{queue}",
        f"/v1/Workspaces/{ws}/Workflows/{workflow}",
        f"/v1/Workspaces/{ws}/Workers",
        f"/v1/Workspaces/{ws}/Workers/{ann}/Channels",
        f"/v1/Workspaces/{ws}/Tasks",
        f"/v1/Workspaces/{ws}/Tasks/{task['sid']}/Reservations",
        f"/v1/Workspaces/{ws}/Events",
        f"/v1/Workspaces/{ws}/Statistics",
        f"/v1/Workspaces/{ws}/RealTimeStatistics",
        f"/v1/Workspaces/{ws}/CumulativeStatistics",
        f"/v1/Workspaces/{ws}/TaskQueues/Statistics",
        f"/v1/Workspaces/{ws}/TaskQueues/{queue}/Statistics",
        f"/v1/Workspaces/{ws}/TaskQueues/{queue}/RealTimeStatistics",
        f"/v1/Workspaces/{ws}/TaskQueues/{queue}/CumulativeStatistics",
        f"/v1/Workspaces/{ws}/Workflows/{workflow}/Statistics",
        f"/v1/Workspaces/{ws}/Workflows/{workflow}/RealTimeStatistics",
        f"/v1/Workspaces/{ws}/Workflows/{workflow}/CumulativeStatistics",
        f"/v1/Workspaces/{ws}/Workers/Statistics",
        f"/v1/Workspaces/{ws}/Workers/RealTimeStatistics",
        f"/v1/Workspaces/{ws}/Workers/CumulativeStatistics",
        f"/v1/Workspaces/{ws}/Workers/{ann}/Statistics",
    ]:
        await api.get(path)
    bulk = await api.http.post(
        f"/v1/Workspaces/{ws}/TaskQueues/RealTimeStatistics", json={"TaskQueueSids": [queue]}, auth=api.auth
    )
    api.answers.append(("POST", f"/v1/Workspaces/{ws}/TaskQueues/RealTimeStatistics", bulk))
    checked = 0
    for method, url, response in api.answers:
        if response.status_code >= 300:
            continue
        schema = _response_schema(method, url, response.status_code)
        body = response.json()
        if "meta" in body:
            key = body["meta"]["key"]
            item_schema = schema["properties"][key]["items"]
            assert set(body) == set(schema["properties"]), url
            items = body[key]
        else:
            item_schema, items = schema, [body]
        for item in items:
            resolved = _resolve(item_schema)
            assert set(item) == set(resolved["properties"]), (url, set(item) ^ set(resolved["properties"]))
            OAS30Validator({**resolved, "components": SPEC["components"]}).validate(item)
            checked += 1
    assert checked > 30


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _response_schema(method: str, url: str, status: int) -> dict[str, Any]:
    path = url.split("?")[0]
    for template, operations in SPEC["paths"].items():
        if re.fullmatch(re.sub(r"\{[A-Za-z]+\}", "[A-Z]{2}[0-9a-f]{32}", template), path):
            operation = operations.get(method.lower())
            if operation is not None:
                return _resolve(operation["responses"][str(status)]["content"]["application/json"]["schema"])
    raise AssertionError(f"no operation in the spec for {method} {path}")


# --- memory and determinism -----------------------------------------------------------------------------------


async def test_history_is_bounded_and_sids_are_repeatable_with_a_seed() -> None:
    async def scenario(fake: FakeTaskRouter) -> list[str]:
        async with fake.client() as http:
            api = Api(http, fake)
            await simple_routing(api)
            await api.worker("Ann", {})
            for n in range(12):
                await api.task({"n": n})
            return [
                event["sid"] + event["resource_sid"]
                for event in (await api.get("/v1/Workspaces/{ws}/Events"))["events"]
            ]

    bounded = FakeTaskRouter(history_limit=10, seed=7)
    events = await scenario(bounded)
    assert len(events) == 10
    assert len(bounded.requests) == 10
    again = await scenario(FakeTaskRouter(history_limit=10, seed=7))
    assert events == again


async def test_load_workspace_builds_queues_workflows_and_workers_by_name(fake: FakeTaskRouter) -> None:
    ws = fake.load_workspace(
        {
            "friendly_name": "Support",
            "activities": [{"friendly_name": "Busy", "available": False}],
            "task_queues": [
                {"friendly_name": "English", "target_workers": "languages HAS 'en'", "assignment_activity": "Busy"}
            ],
            "workflows": [
                {
                    "friendly_name": "Main",
                    "configuration": {"task_routing": {"filters": [], "default_filter": {"queue": "English"}}},
                }
            ],
            "workers": [{"friendly_name": "Ann", "activity": "Available", "attributes": {"languages": ["en"]}}],
            "tasks": [{"attributes": {"type": "chat"}}],
        }
    )
    async with fake.client() as http:
        api = Api(http, fake)
        api.ws = ws
        [task] = (await api.get("/v1/Workspaces/{ws}/Tasks"))["tasks"]
        assert task["assignment_status"] == "reserved"
        [reservation] = await api.reservations(task["sid"])
        async with fake.connect(max_retries=0) as client:
            await client.task_reservations.update(ws, task["sid"], reservation["sid"], TaskReservationUpdate.accept())
        # QUEUES: AssignmentActivitySid moves the worker when it accepts a task from the queue.
        worker = await api.get(f"/v1/Workspaces/{ws}/Workers/{reservation['worker_sid']}")
        assert worker["activity_name"] == "Busy"
