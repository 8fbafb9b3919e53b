"""The sample data behind ``fake-server`` and ``demo``, and the demo's walk through a reservation's life."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._errors import PreconditionFailedError, WebhookError
from .resources import TaskReservation, TaskReservationUpdate
from .testing import DEFAULT_BASE_URL, FakeTaskRouter
from .webhooks import AssignmentCallback, EventCallback, conference, verify_request

__all__ = ["run_demo", "sample_fake"]

SAMPLE_WORKERS = ("Alice", "Bob", "Carol")


def sample_fake(base_url: str | None = None, *, seed: int = 0, history_limit: int | None = None) -> FakeTaskRouter:
    """A fake with one workspace and one task offered to three workers (pending reservations); same SIDs every run."""
    fake = FakeTaskRouter(base_url=base_url or DEFAULT_BASE_URL, seed=seed, history_limit=history_limit)
    task_sid = fake.add_task()
    for name in SAMPLE_WORKERS:
        fake.add_reservation(task_sid=task_sid, worker_name=name)
    return fake


async def run_demo(say: Callable[[str], object]) -> None:
    """List pending reservations, reject one, accept one with a conference (the others are rescinded), hit an
    If-Match conflict, list again; then TaskRouter's side: a reservation for a new task and its callbacks."""
    fake = sample_fake()
    first = fake.reservations[0]
    workspace, task = first.workspace_sid, first.task_sid
    say(f"A fake TaskRouter runs in this process: workspace {workspace}, task {task}.")
    async with fake.connect(max_retries=0) as client:
        reservations = client.task_reservations
        say("\n1. The task's pending reservations:")
        pending = [r async for r in reservations.list(workspace, task, reservation_status="pending")]
        for reservation in pending:
            say("   " + _line(reservation))
        alice, bob = pending[0], pending[1]

        say(f"\n2. {bob.worker_name} is busy: reject.")
        updated = await reservations.update(workspace, task, bob.sid, TaskReservationUpdate.reject())
        say(f"   POST ReservationStatus=rejected -> {_line(updated)}")

        say(f"\n3. {alice.worker_name} takes the call: accept with a conference instruction.")
        conference = TaskReservationUpdate.conference(from_="+15550100", to="client:alice", end_conference_on_exit=True)
        updated = await reservations.update(workspace, task, alice.sid, conference)
        say(f"   POST Instruction=conference ... -> {_line(updated)}")
        say("   The first to accept gets the task: TaskRouter rescinds its other pending reservations.")

        say(f"\n4. Two supervisors look at {alice.worker_name}'s reservation at the same time.")
        seen = await reservations.fetch(workspace, task, alice.sid)
        say(f"   both fetch it: ETag {seen.etag}")
        updated = await reservations.update(workspace, task, alice.sid, TaskReservationUpdate.wrap_up(), etag=seen.etag)
        say(f"   the first moves it to wrap-up with If-Match {seen.etag}: {_line(updated)}, ETag now {updated.etag}")
        try:
            await reservations.update(workspace, task, alice.sid, TaskReservationUpdate.complete(), etag=seen.etag)
        except PreconditionFailedError as exc:
            say(f"   the second tries to complete it with If-Match {seen.etag}: refused, {exc}")
        fresh = await reservations.fetch(workspace, task, alice.sid)
        updated = await reservations.update(
            workspace, task, alice.sid, TaskReservationUpdate.complete(), etag=fresh.etag
        )
        say(f"   it fetches again (ETag {fresh.etag}) and completes it: {_line(updated)}")

        say("\n5. All of the task's reservations now:")
        async for reservation in reservations.list(workspace, task):
            say("   " + _line(reservation))

    say("\n6. TaskRouter's side: it reserves Dave and calls the application back (signed webhooks).")
    app_url = "https://app.example.com/taskrouter"
    fake.set_callbacks(
        assignment_url=f"{app_url}/assignment", event_url=f"{app_url}/events", app=_callback_app(fake.auth_token, say)
    )
    dave = await fake.reserve(task_sid=fake.add_task(workspace), worker_name="Dave")  # a new task
    say(f"   the fake applied the answer like a REST update: {dave.sid} {dave.worker_name:<6} {dave.status.value}")
    say(f"\nThe fake received {len(fake.requests)} requests. Test your own code against it: taskrouter_async.testing.")


def _callback_app(
    auth_token: str, say: Callable[[str], object]
) -> Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]:
    """A bare ASGI app with the two callback endpoints, to show that no web framework is needed."""

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while (message := await receive())["type"] == "http.request":
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        url = f"https://app.example.com{scope['path']}"
        answer = b""
        try:
            params = verify_request(auth_token, url, body, headers.get(b"x-twilio-signature", b"").decode())
            if scope["path"].endswith("/assignment"):
                callback = AssignmentCallback.from_form(params)
                instruction = conference(from_="+15550100").to_json()
                say(f"   POST /assignment (signature checked) for {callback.reservation_sid}, answer {instruction}")
                answer = json.dumps(instruction).encode()
            else:
                event_type = EventCallback.from_form(params).event_type
                say(f"   POST /events (signature checked): {getattr(event_type, 'value', event_type)}")
            status = 200
        except WebhookError as exc:
            say(f"   refused a callback: {exc}")
            status = 403
        headers_out = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers_out})
        await send({"type": "http.response.body", "body": answer})

    return app


def _line(reservation: TaskReservation) -> str:
    status = getattr(reservation.reservation_status, "value", reservation.reservation_status)
    return f"{reservation.sid} {reservation.worker_name:<6} {status}"
