"""Type-checked by tests/test_typing.py (never run): calls mypy --strict must accept, with each resource's own names."""

from __future__ import annotations

from taskrouter_async import (
    AsyncTaskRouter,
    Page,
    ReservationStatus,
    TaskReservation,
    TaskReservations,
    TaskReservationUpdate,
    WorkerReservation,
    WorkerReservations,
    WorkerReservationUpdate,
)


async def by_name(client: AsyncTaskRouter, ws: str, wt: str, wk: str, wr: str) -> None:
    tasks: TaskReservations = client.task_reservations
    workers: WorkerReservations = client.worker_reservations

    fetched: TaskReservation = await tasks.fetch(workspace_sid=ws, task_sid=wt, reservation_sid=wr)
    fetched = await tasks.fetch(ws, wt, reservation_sid=wr)
    fetched = await tasks.fetch(ws, wt, wr)
    fetched = await tasks.update(
        workspace_sid=ws, task_sid=wt, reservation_sid=wr, params=TaskReservationUpdate.accept(), etag=fetched.etag
    )
    async for task_reservation in tasks.list(workspace_sid=ws, task_sid=wt, worker_sid=wk, limit=5):
        status: ReservationStatus | str = task_reservation.reservation_status
        sid: str = task_reservation.sid
        print(status, sid)
    async for task_page in tasks.pages(workspace_sid=ws, task_sid=wt, page_size=50):
        typed_page: Page[TaskReservation] = task_page
        print(typed_page.next_page_url)

    worker_side: WorkerReservation = await workers.fetch(workspace_sid=ws, worker_sid=wk, reservation_sid=wr)
    worker_side = await workers.update(ws, worker_sid=wk, reservation_sid=wr, params=WorkerReservationUpdate.reject())
    async for worker_reservation in workers.list(ws, worker_sid=wk, reservation_status="pending"):
        print(worker_reservation.worker_sid)
    async for worker_page in workers.pages(ws, wk, page_url=None):
        print(worker_page.items)
    print(worker_side.to_json())
