"""Type-checked by tests/test_typing.py (never run): each line ending in an "E:" comment must be that mypy error."""

from __future__ import annotations

from taskrouter_async import AsyncTaskRouter, TaskReservationUpdate, WorkerReservationUpdate


async def wrong_names(client: AsyncTaskRouter, ws: str, wt: str, wk: str, wr: str) -> None:
    tasks, workers = client.task_reservations, client.worker_reservations
    await tasks.fetch(workspace_sid=ws, worker_sid=wk, reservation_sid=wr)  # E: "worker_sid"
    await workers.fetch(workspace_sid=ws, task_sid=wt, reservation_sid=wr)  # E: "task_sid"
    await tasks.fetch(workspace_sid=ws, parent_sid=wt, reservation_sid=wr)  # E: "parent_sid"
    await workers.update(ws, task_sid=wt, reservation_sid=wr, params=WorkerReservationUpdate())  # E: "task_sid"
    workers.list(ws, wk, worker_sid=wk)  # E: multiple values for keyword argument "worker_sid"
    workers.pages(ws, task_sid=wt)  # E: "task_sid"
    await workers.update(ws, wk, wr, TaskReservationUpdate.accept())  # E: "TaskReservationUpdate"
    tasks.list(ws, wt, worker=wk)  # E: "worker"
