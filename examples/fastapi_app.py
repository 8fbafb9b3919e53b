"""FastAPI recipe: one AsyncTaskRouter for the whole app, opened in the lifespan and shared through a dependency.

Run it with ``uvicorn examples.fastapi_app:app`` (credentials from TWILIO_ACCOUNT_SID and
TWILIO_AUTH_TOKEN), then ``curl -X POST localhost:8000/workspaces/WS…/tasks/WT…/reservations/WR…/accept``.
Never open a client per request: each one would open (and leak) its own connection pool.
"""

from __future__ import annotations

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
    TaskReservationUpdate,
    TaskRouterError,
    ValidationError,
)


def get_taskrouter(request: Request) -> AsyncTaskRouter:
    """The dependency: the app's one client, opened by the lifespan."""
    client: AsyncTaskRouter = request.app.state.taskrouter
    return client


TaskRouter = Annotated[AsyncTaskRouter, Depends(get_taskrouter)]


def create_app(
    open_client: Callable[[], AbstractAsyncContextManager[AsyncTaskRouter]] = AsyncTaskRouter,
) -> FastAPI:
    """The app; ``open_client`` makes the shared client (tests pass ``FakeTaskRouter().connect``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_client() as client:
            app.state.taskrouter = client
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
    ) -> dict[str, Any]:
        """Accept a pending reservation; an ``If-Match`` header is passed on, so a stale view gets 412."""
        reservation = await taskrouter.task_reservations.update(
            workspace_sid, task_sid, reservation_sid, TaskReservationUpdate.accept(), etag=if_match
        )
        status = getattr(reservation.reservation_status, "value", reservation.reservation_status)
        return {"sid": reservation.sid, "reservation_status": status, "etag": reservation.etag}

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
