"""The fake plays TaskRouter's side: signed assignment callbacks, instructions applied, event callbacks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio
import attrs
import pytest
from twilio.request_validator import RequestValidator

from taskrouter_async import TaskReservationUpdate, ValidationError, WorkerReservationUpdate
from taskrouter_async.testing import FakeTaskRouter
from taskrouter_async.webhooks import AssignmentCallback, EventCallback, EventType

from .loopback import Conn, LoopbackServer, Request
from .sids import ACTIVITY_SID, CALL_SID

pytestmark = pytest.mark.anyio

ASSIGNMENT_URL = "https://app.example.com/taskrouter/assignment"
EVENT_URL = "https://app.example.com/taskrouter/events"

Message = MutableMapping[str, Any]


@attrs.define
class Seen:
    """One request the callback app received."""

    path: str
    headers: dict[str, str]
    params: list[tuple[str, str]]


class CallbackApp:
    """An ASGI app standing in for the application: records callbacks, answers assignments as told."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.status = 200
        self.content_type = "application/json"
        self.answer: bytes = b"{}"
        #: Runs before an assignment is answered (to update over REST meanwhile, or to stall).
        self.on_assignment: Callable[[AssignmentCallback], Awaitable[None]] | None = None

    async def __call__(
        self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        params = parse_qsl(body.decode(), keep_blank_values=True)
        self.seen.append(Seen(scope["path"], headers, params))
        status, content_type, answer = 204, "application/json", b""
        if scope["path"].endswith("/assignment"):
            if self.on_assignment is not None:
                await self.on_assignment(AssignmentCallback.from_form(params))
            status, content_type, answer = self.status, self.content_type, self.answer
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type.encode())]}
        )
        await send({"type": "http.response.body", "body": answer})

    def answer_json(self, data: object) -> None:
        self.answer = json.dumps(data).encode()

    @property
    def events(self) -> list[EventCallback]:
        return [EventCallback.from_form(seen.params) for seen in self.seen if seen.path.endswith("/events")]


@pytest.fixture
def app() -> CallbackApp:
    return CallbackApp()


@pytest.fixture
def fake(app: CallbackApp) -> FakeTaskRouter:
    fake = FakeTaskRouter()
    fake.add_activity(sid=ACTIVITY_SID)  # the activity the instructions name: TaskRouter refuses an unknown one
    fake.set_callbacks(assignment_url=ASSIGNMENT_URL, event_url=EVENT_URL, app=app)
    return fake


def event_types(fake: FakeTaskRouter) -> list[str | None]:
    return [delivery.event_type for delivery in fake.callbacks if delivery.kind == "event"]


async def test_a_reservation_sends_a_signed_assignment_callback_and_applies_the_answer(
    fake: FakeTaskRouter, app: CallbackApp
) -> None:
    task = fake.add_task(attributes={"type": "support", "language": "fr"}, priority=3)
    worker = fake.add_worker(friendly_name="Alice", attributes={"contact_uri": "client:alice"})
    app.answer_json({"instruction": "accept"})

    reservation = await fake.reserve(task_sid=task, worker_sid=worker)

    assert reservation.status == "accepted"
    assert [seen.path for seen in app.seen] == ["/taskrouter/events", "/taskrouter/assignment", "/taskrouter/events"]
    for seen, url in zip(app.seen, (EVENT_URL, ASSIGNMENT_URL, EVENT_URL), strict=True):
        signature = seen.headers["x-twilio-signature"]
        assert RequestValidator(fake.auth_token).validate(url, dict(seen.params), signature)
        assert seen.headers["content-type"].startswith("application/x-www-form-urlencoded")
    callback = AssignmentCallback.from_form(app.seen[1].params)
    assert (callback.reservation_sid, callback.task_sid, callback.worker_sid) == (reservation.sid, task, worker)
    assert (callback.account_sid, callback.workspace_sid) == (fake.account_sid, reservation.workspace_sid)
    assert callback.task_attributes == {"type": "support", "language": "fr"}
    assert callback.worker_attributes == {"contact_uri": "client:alice"}
    assert callback.task_priority == 3
    assert callback.workflow_sid.startswith("WW")
    assert callback.task_queue_sid.startswith("WQ")
    assert [event.event_type for event in app.events] == [EventType.RESERVATION_CREATED, EventType.RESERVATION_ACCEPTED]
    assigned = [delivery for delivery in fake.callbacks if delivery.kind == "assignment"]
    assert len(assigned) == 1
    assert assigned[0].instruction is not None
    assert assigned[0].instruction.to_json() == {"instruction": "accept"}
    assert assigned[0].error is None
    assert assigned[0].status_code == 200


@pytest.mark.parametrize(
    ("answer", "status", "instruction"),
    [
        ({"instruction": "accept"}, "accepted", None),
        ({"instruction": "reject", "activity_sid": ACTIVITY_SID}, "rejected", None),
        (
            {"instruction": "conference", "from": "+15550100", "post_work_activity_sid": ACTIVITY_SID},
            "accepted",
            "conference",
        ),
        ({"instruction": "dequeue", "from": "+15550100", "to": "client:alice"}, "accepted", "dequeue"),
        ({"instruction": "call", "from": "+15550100", "url": "https://app.example.com/twiml"}, "pending", "call"),
        (
            {"instruction": "call", "from": "+15550100", "url": "https://app.example.com/twiml", "accept": True},
            "accepted",
            "call",
        ),
        (
            {"instruction": "redirect", "call_sid": CALL_SID, "url": "https://app.example.com/twiml"},
            "pending",
            "redirect",
        ),
        (
            {"instruction": "redirect", "call_sid": CALL_SID, "url": "https://app.example.com/twiml", "accept": "true"},
            "accepted",
            "redirect",
        ),
    ],
    ids=["accept", "reject", "conference", "dequeue", "call", "call and accept", "redirect", "redirect and accept"],
)
async def test_each_instruction_is_applied_like_the_rest_update(
    fake: FakeTaskRouter, app: CallbackApp, answer: dict[str, Any], status: str, instruction: str | None
) -> None:
    app.answer_json(answer)
    reservation = await fake.reserve()
    assert (reservation.status, reservation.instruction) == (status, instruction)
    expected_events = ["reservation.created"] + ([f"reservation.{status}"] if status != "pending" else [])
    if answer["instruction"] == "reject":  # its activity_sid moves the worker, which is an event of its own
        expected_events.append("worker.activity.update")
    assert event_types(fake) == expected_events


@pytest.mark.parametrize("answer", [b"", b"{}", b"  \n"])
async def test_an_empty_answer_defers_to_a_rest_update(fake: FakeTaskRouter, app: CallbackApp, answer: bytes) -> None:
    app.answer = answer
    reservation = await fake.reserve()
    assert reservation.status == "pending"
    assert fake.callbacks[-1].kind == "assignment"
    assert (fake.callbacks[-1].instruction, fake.callbacks[-1].error) == (None, None)

    async with fake.connect() as client:
        await client.task_reservations.update(
            reservation.workspace_sid, reservation.task_sid, reservation.sid, TaskReservationUpdate.accept()
        )
        # The event was delivered before the update returned.
        assert event_types(fake) == ["reservation.created", "reservation.accepted"]
        await client.task_reservations.update(
            reservation.workspace_sid, reservation.task_sid, reservation.sid, TaskReservationUpdate.wrap_up()
        )
        await client.worker_reservations.update(
            reservation.workspace_sid, reservation.worker_sid, reservation.sid, WorkerReservationUpdate.complete()
        )
    assert event_types(fake)[2:] == ["reservation.wrapup", "task.wrapup", "reservation.completed", "task.completed"]
    assert [event.reservation_event.reservation_status for event in app.events if event.reservation_event] == [
        "pending",
        "accepted",
        "wrapping",
        "completed",
    ]


@pytest.mark.parametrize(
    ("status", "content_type", "answer", "error"),
    [
        (500, "application/json", b"{}", "answered HTTP 500"),
        (200, "text/plain", b'{"instruction": "accept"}', "Content-Type application/json"),
        (200, "application/json", b"accept", "not valid JSON (Twilio warning 40001)"),
        (200, "application/json", b'{"status": "accepted"}', "no instruction (Twilio warning 40005)"),
        (200, "application/json", b'{"instruction": "supervise", "supervisor": "client:sue"}', "invalid instruction"),
        (200, "application/json", b'{"instruction": "dequeue"}', "requires DequeueFrom"),
        (200, "application/json", b'{"instruction": "call", "from": "+1", "url": "/relative"}', "absolute URI"),
    ],
    ids=["500", "content type", "not json", "no instruction", "unknown instruction", "missing from", "bad url"],
)
async def test_a_bad_answer_is_recorded_and_leaves_the_reservation_pending(
    fake: FakeTaskRouter, app: CallbackApp, status: int, content_type: str, answer: bytes, error: str
) -> None:
    app.status, app.content_type, app.answer = status, content_type, answer
    reservation = await fake.reserve()
    assert reservation.status == "pending"
    delivery = fake.callbacks[-1]
    assert delivery.kind == "assignment"
    assert delivery.error is not None
    assert error in delivery.error
    assert delivery.response == answer


async def test_an_instruction_the_state_machine_refuses_is_recorded(fake: FakeTaskRouter, app: CallbackApp) -> None:
    """The handler accepts over REST, then also answers with an instruction: TaskRouter refuses the second."""

    async def accept_over_rest(callback: AssignmentCallback) -> None:
        async with fake.connect() as client:
            await client.task_reservations.update(
                callback.workspace_sid, callback.task_sid, callback.reservation_sid, TaskReservationUpdate.accept()
            )

    app.on_assignment = accept_over_rest
    app.answer_json({"instruction": "reject"})
    reservation = await fake.reserve()
    assert reservation.status == "accepted"
    assert event_types(fake) == ["reservation.created", "reservation.accepted"]
    # The REST update's event goes out once the assignment callback it was made during is answered.
    [assignment] = [delivery for delivery in fake.callbacks if delivery.kind == "assignment"]
    assert assignment.instruction is not None
    assert "not in expected state [pending]" in (assignment.error or "")


async def test_an_answer_that_takes_too_long_is_given_up(fake: FakeTaskRouter, app: CallbackApp) -> None:
    async def stall(callback: AssignmentCallback) -> None:
        await anyio.sleep_forever()

    fake.set_callbacks(assignment_url=ASSIGNMENT_URL, app=app, timeout=0.05)
    app.on_assignment = stall
    reservation = await fake.reserve()
    assert reservation.status == "pending"
    assert fake.callbacks[-1].error == "no answer within 0.05 s"
    assert fake.callbacks[-1].status_code is None


async def test_an_app_that_crashes_answers_500(fake: FakeTaskRouter, app: CallbackApp) -> None:
    async def crash(callback: AssignmentCallback) -> None:
        raise RuntimeError("bug in the handler")

    app.on_assignment = crash
    reservation = await fake.reserve()
    assert reservation.status == "pending"
    assert fake.callbacks[-1].error == "answered HTTP 500"


async def test_taskrouters_own_changes_send_events(fake: FakeTaskRouter, app: CallbackApp) -> None:
    first = fake.add_reservation()
    second = fake.add_reservation(task_sid=first.task_sid)
    assert fake.callbacks == []  # seeding is silent
    fake.set_status(first.sid, "canceled")
    assert fake.callbacks == []
    timed_out = await fake.transition(second.sid, "timeout")
    assert timed_out.status == "timeout"
    assert event_types(fake) == ["reservation.timeout"]
    event = app.events[0]
    assert event.reservation_event is not None
    assert event.reservation_event.reservation_sid == second.sid
    assert (event.task_assignment_status, event.worker_name) == ("pending", second.worker_name)


async def test_refused_updates_send_no_event(fake: FakeTaskRouter, app: CallbackApp) -> None:
    reservation = fake.add_reservation()
    async with fake.connect(max_retries=0) as client:
        with pytest.raises(Exception, match="not in expected state"):
            await client.task_reservations.update(
                reservation.workspace_sid, reservation.task_sid, reservation.sid, TaskReservationUpdate.complete()
            )
    assert fake.callbacks == []


async def test_without_callbacks_reserve_is_add_reservation() -> None:
    fake = FakeTaskRouter()
    reservation = await fake.reserve(worker_name="Bob")
    assert (reservation.status, reservation.worker_name) == ("pending", "Bob")
    assert fake.callbacks == []


async def test_only_events_when_only_an_event_url_is_set(app: CallbackApp) -> None:
    fake = FakeTaskRouter()
    fake.set_callbacks(event_url=EVENT_URL, app=app)
    await fake.reserve()
    assert [seen.path for seen in app.seen] == ["/taskrouter/events"]


async def test_events_carry_the_documented_reservation_fields(fake: FakeTaskRouter, app: CallbackApp) -> None:
    task = fake.add_task(attributes={"priority": "high"}, priority=7)
    app.answer_json({"instruction": "accept"})
    reservation = await fake.reserve(task_sid=task, worker_name="Carol")
    accepted = app.events[-1]
    assert accepted.event_type is EventType.RESERVATION_ACCEPTED
    assert (accepted.resource_type, accepted.resource_sid) == ("reservation", reservation.sid)
    assert (accepted.task_sid, accepted.task_priority, accepted.task_attributes) == (task, 7, {"priority": "high"})
    assert (accepted.worker_sid, accepted.worker_name) == (reservation.worker_sid, "Carol")
    assert accepted.task_assignment_status == "assigned"
    assert accepted.sid is not None
    assert accepted.sid.startswith("EV")
    assert accepted.sid != app.events[0].sid
    assert accepted.timestamp is not None
    assert "TimestampMs" in accepted.extra


async def test_callbacks_over_http_to_a_loopback_server() -> None:
    async def handler(request: Request, conn: Conn) -> None:
        if request.path.endswith("/assignment"):
            await conn.respond(200, json.dumps({"instruction": "dequeue", "from": "+15550100"}))
        else:
            await conn.respond(204, b"")

    with LoopbackServer(handler) as server:
        fake = FakeTaskRouter()
        fake.set_callbacks(assignment_url=f"{server.url}/cb/assignment", event_url=f"{server.url}/cb/events?v=1")
        reservation = await fake.reserve()
    assert (reservation.status, reservation.instruction) == ("accepted", "dequeue")
    assert [request.target for request in server.requests] == ["/cb/events?v=1", "/cb/assignment", "/cb/events?v=1"]
    for request in server.requests:
        url = server.url + request.target
        params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        assert RequestValidator(fake.auth_token).validate(url, params, request.headers["x-twilio-signature"])


@pytest.mark.parametrize(
    "url", ["https://app.example.com/cb", "http://10.0.0.1/cb", "ftp://127.0.0.1/cb", "/cb", "http://[::1/cb"]
)
def test_without_an_app_only_loopback_urls_are_called(url: str) -> None:
    with pytest.raises(ValidationError):
        FakeTaskRouter().set_callbacks(assignment_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/cb", "http://localhost/cb", "http://[::1]:9/cb"])
def test_loopback_urls_are_accepted(url: str) -> None:
    FakeTaskRouter().set_callbacks(assignment_url=url, event_url=url)


def test_the_timeout_must_be_positive(app: CallbackApp) -> None:
    with pytest.raises(ValidationError):
        FakeTaskRouter().set_callbacks(assignment_url=ASSIGNMENT_URL, app=app, timeout=0)
