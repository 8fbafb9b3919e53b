"""FastAPI recipe: one AsyncTaskRouter for the whole app, and TaskRouter's signed callbacks.

Run it with ``uvicorn examples.fastapi_app:app`` (credentials from TWILIO_ACCOUNT_SID and
TWILIO_AUTH_TOKEN; TWILIO_CALLER_ID for the conference caller ID), then point the workflow's
AssignmentCallbackUrl at ``/taskrouter/assignment`` and the workspace's EventCallbackUrl at
``/taskrouter/events``. Behind a proxy, pass ``TwilioWebhook(public_url="https://your.host")``.
Never open a client per request: each one would open (and leak) its own connection pool.

No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at runtime,
and the callback endpoints' dependencies are local to ``create_app``.
"""

import os
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from taskrouter_async import (
    APIStatusError,
    APITimeoutError,
    AsyncTaskRouter,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitError,
    TaskReservation,
    TaskReservationUpdate,
    TaskRouterError,
    ValidationError,
)
from taskrouter_async.webhooks import AssignmentCallback, EventCallback, conference
from taskrouter_async.webhooks.fastapi import TwilioWebhook


def get_taskrouter(request: Request) -> AsyncTaskRouter:
    """The dependency: the app's one client, opened by the lifespan."""
    client: AsyncTaskRouter = request.app.state.taskrouter
    return client


TaskRouter = Annotated[AsyncTaskRouter, Depends(get_taskrouter)]


def create_app(
    open_client: Callable[[], AbstractAsyncContextManager[AsyncTaskRouter]] = AsyncTaskRouter,
    *,
    webhook: TwilioWebhook | None = None,
    caller_id: str | None = None,
    wrap_up_activity_sid: str | None = None,
) -> FastAPI:
    """The app; ``open_client`` makes the shared client (tests pass ``FakeTaskRouter().connect``).

    ``webhook`` checks the callbacks' signatures (default: TWILIO_AUTH_TOKEN); ``caller_id`` and
    ``wrap_up_activity_sid`` go into the conference instruction for voice tasks.
    """
    webhook = webhook or TwilioWebhook()
    caller_id = caller_id or os.environ.get("TWILIO_CALLER_ID")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_client() as client:
            app.state.taskrouter = client
            app.state.reservation_history = defaultdict(list)
            yield

    app = FastAPI(lifespan=lifespan)
    app.add_exception_handler(TaskRouterError, taskrouter_error)  # type: ignore[arg-type]

    @app.post("/workspaces/{workspace_sid}/tasks/{task_sid}/reservations/{reservation_sid}/accept")
    async def accept(
        workspace_sid: str,
        task_sid: str,
        reservation_sid: str,
        taskrouter: TaskRouter,
        if_match: Annotated[str | None, Header()] = None,
    ) -> TaskReservation:
        """Accept a pending reservation; an ``If-Match`` header is passed on, so a stale view gets 412.

        The model is returned as it is: FastAPI answers with the API's JSON (``to_dict()``), ETag included.
        """
        return await taskrouter.task_reservations.update(
            workspace_sid, task_sid, reservation_sid, TaskReservationUpdate.accept(), etag=if_match
        )

    @app.get("/workspaces/{workspace_sid}/tasks/{task_sid}/reservations")
    async def pending(workspace_sid: str, task_sid: str, taskrouter: TaskRouter) -> list[TaskReservation]:
        """The task's pending reservations, as a list of models (the API's JSON for each)."""
        reservations = taskrouter.task_reservations.list(workspace_sid, task_sid, reservation_status="pending")
        return [reservation async for reservation in reservations]

    @app.post("/workspaces/{workspace_sid}/tasks/{task_sid}/reservations/{reservation_sid}/complete")
    async def complete(
        workspace_sid: str, task_sid: str, reservation_sid: str, taskrouter: TaskRouter
    ) -> TaskReservation:
        """Complete an accepted (or wrapping) reservation."""
        return await taskrouter.task_reservations.update(
            workspace_sid, task_sid, reservation_sid, TaskReservationUpdate.complete()
        )

    @app.post("/taskrouter/assignment")
    async def assignment(callback: Annotated[AssignmentCallback, Depends(webhook.assignment)]) -> dict[str, Any]:
        """TaskRouter reserved a worker: conference a voice task's caller with the worker at once.

        Anything else is left pending (``{}``) for the worker to accept through the endpoint above.
        """
        if callback.task_attributes.get("type") == "voice":
            return conference(from_=caller_id, post_work_activity_sid=wrap_up_activity_sid).to_json()
        return {}

    @app.post("/taskrouter/events", status_code=204)
    async def events(event: Annotated[EventCallback, Depends(webhook.event)], request: Request) -> None:
        """Keep each reservation's statuses, as TaskRouter reports them (answer 204, as it asks)."""
        change = event.reservation_event
        if change is not None:
            request.app.state.reservation_history[change.reservation_sid].append(change.reservation_status.value)

    @app.get("/reservations/{reservation_sid}/history")
    async def history(reservation_sid: str, request: Request) -> list[str]:
        """The statuses the event callbacks reported for a reservation, oldest first."""
        statuses: list[str] = request.app.state.reservation_history.get(reservation_sid, [])
        return statuses

    return app


async def taskrouter_error(request: Request, exc: TaskRouterError) -> JSONResponse:
    """Map the library's errors to what this app's callers should see."""
    status, headers = _status_for(exc), {}
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        headers["Retry-After"] = str(round(exc.retry_after))
    body: dict[str, Any] = {"detail": exc.message if isinstance(exc, APIStatusError) else str(exc)}
    if isinstance(exc, APIStatusError) and exc.code is not None:
        body["twilio_code"] = exc.code
    return JSONResponse(body, status_code=status, headers=headers)


def _status_for(exc: TaskRouterError) -> int:
    if isinstance(exc, ValidationError):
        return 422  # a malformed SID in the path: the caller's mistake
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, PreconditionFailedError):
        return 412  # the caller's If-Match is stale: fetch again
    if isinstance(exc, (BadRequestError, ConflictError)):
        return 409  # e.g. the reservation is no longer pending
    if isinstance(exc, RateLimitError):
        return 503
    if isinstance(exc, APITimeoutError):
        return 504
    return 502  # our credentials, our network or Twilio itself: not the caller's fault


app = create_app()
