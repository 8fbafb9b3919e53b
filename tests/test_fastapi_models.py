"""FastAPI returns models as the API's JSON: ``-> TaskReservation`` and ``-> list[TaskReservation]`` just work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from taskrouter_async import AsyncTaskRouter, Reservation, TaskReservation, WorkerReservation
from taskrouter_async.testing import FakeTaskRouter

IDENTITY = [
    "account_sid",
    "date_created",
    "date_updated",
    "reservation_status",
    "sid",
    "task_sid",
    "worker_sid",
    "workspace_sid",
]


def get_taskrouter(request: Request) -> AsyncTaskRouter:
    client: AsyncTaskRouter = request.app.state.taskrouter
    return client


TaskRouter = Annotated[AsyncTaskRouter, Depends(get_taskrouter)]


def make_app(fake: FakeTaskRouter) -> FastAPI:
    """An app as README shows it: one client in the lifespan, endpoints that return models as they are."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with fake.connect(max_retries=0) as client:
            app.state.taskrouter = client
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/workspaces/{workspace_sid}/tasks/{task_sid}/reservations/{reservation_sid}")
    async def fetch(workspace_sid: str, task_sid: str, reservation_sid: str, taskrouter: TaskRouter) -> TaskReservation:
        return await taskrouter.task_reservations.fetch(workspace_sid, task_sid, reservation_sid)

    @app.get("/workspaces/{workspace_sid}/tasks/{task_sid}/reservations")
    async def listing(workspace_sid: str, task_sid: str, taskrouter: TaskRouter) -> list[TaskReservation]:
        return [r async for r in taskrouter.task_reservations.list(workspace_sid, task_sid)]

    @app.get("/workspaces/{workspace_sid}/workers/{worker_sid}/reservations/{reservation_sid}")
    async def fetch_worker_side(
        workspace_sid: str, worker_sid: str, reservation_sid: str, taskrouter: TaskRouter
    ) -> WorkerReservation:
        return await taskrouter.worker_reservations.fetch(workspace_sid, worker_sid, reservation_sid)

    @app.get("/first/{workspace_sid}/{task_sid}", response_model=Reservation | None)
    async def first(workspace_sid: str, task_sid: str, taskrouter: TaskRouter) -> Any:
        async for reservation in taskrouter.task_reservations.list(workspace_sid, task_sid, limit=1):
            return reservation
        return None

    return app


@pytest.fixture
def fake() -> FakeTaskRouter:
    return FakeTaskRouter()


@pytest.fixture(params=["asyncio", "trio"])
def http(request: pytest.FixtureRequest, fake: FakeTaskRouter) -> Iterator[TestClient]:
    with TestClient(make_app(fake), backend=request.param) as client:
        yield client


def api_answer(fake: FakeTaskRouter, path: str) -> Any:
    """What the API (the fake) itself answers for ``path``: the JSON the endpoint should hand on."""
    with TestClient(fake, base_url=fake.base_url) as raw:
        response = raw.get(path, auth=(fake.account_sid, fake.auth_token))
    assert response.status_code == 200
    return response


def test_an_endpoint_returns_a_reservation_as_the_api_json(http: TestClient, fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation(worker_name="Alice")
    path = f"/workspaces/{seeded.workspace_sid}/tasks/{seeded.task_sid}/reservations/{seeded.sid}"
    response = http.get(path)
    assert response.status_code == 200
    upstream = api_answer(
        fake, f"/v1/Workspaces/{seeded.workspace_sid}/Tasks/{seeded.task_sid}/Reservations/{seeded.sid}"
    )
    assert response.json() == {**upstream.json(), "etag": upstream.headers["ETag"]}
    assert response.json()["reservation_status"] == "pending"
    assert set(response.json()) == {*IDENTITY, "worker_name", "url", "links", "etag"}


def test_an_endpoint_returns_a_list_of_reservations(http: TestClient, fake: FakeTaskRouter) -> None:
    task = fake.add_task()
    seeded = [fake.add_reservation(task_sid=task, worker_name=name) for name in ("Alice", "Bob")]
    response = http.get(f"/workspaces/{seeded[0].workspace_sid}/tasks/{task}/reservations")
    assert response.status_code == 200
    upstream = api_answer(fake, f"/v1/Workspaces/{seeded[0].workspace_sid}/Tasks/{task}/Reservations")
    assert response.json() == [{**record, "etag": None} for record in upstream.json()["reservations"]]
    assert [r["worker_name"] for r in response.json()] == ["Alice", "Bob"]


def test_worker_reservations_and_response_model_work_too(http: TestClient, fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    worker_side = http.get(
        f"/workspaces/{seeded.workspace_sid}/workers/{seeded.worker_sid}/reservations/{seeded.sid}"
    ).json()
    first = http.get(f"/first/{seeded.workspace_sid}/{seeded.task_sid}").json()
    assert worker_side["worker_sid"] == first["worker_sid"] == seeded.worker_sid
    assert first["etag"] is None  # list records carry no ETag
    assert http.get(f"/first/{seeded.workspace_sid}/{fake.add_task()}").json() is None


def test_the_openapi_document_describes_the_api_json(http: TestClient) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    schemas = response.json()["components"]["schemas"]
    task = schemas["TaskReservation"]
    assert task["required"] == list(task["properties"])  # every key is always written, null when unset
    assert task["properties"]["date_created"] == {"type": "string", "format": "date-time"}
    assert task["properties"]["sid"] == {"type": "string"}
    assert task["properties"]["worker_name"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert set(IDENTITY) < set(task["properties"])
    assert "WorkerReservation" in schemas
    assert "Reservation" in schemas
