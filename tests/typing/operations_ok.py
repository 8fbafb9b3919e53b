"""Type-checked by tests/test_typing.py (never run): the whole API as users write it must pass mypy --strict."""

from __future__ import annotations

from datetime import datetime, timezone

from taskrouter_async import (
    AsyncTaskRouter,
    Task,
    TaskCreate,
    TaskQueueBulkRealTimeStatistics,
    TaskQueueCumulativeStatistics,
    TaskReservationUpdate,
    TaskStatus,
    TaskUpdate,
    Worker,
    WorkerCreate,
    WorkflowCreate,
    WorkspaceStatistics,
)


async def whole_api(client: AsyncTaskRouter, ws: str, wt: str, wk: str, wq: str) -> None:
    created: Task = await client.tasks.create(ws, TaskCreate(attributes={"skills": ["en"]}, priority=5))
    updated: Task = await client.tasks.update(
        ws, created.sid, TaskUpdate(assignment_status="canceled", reason="spam"), etag=created.etag
    )
    await client.tasks.update(ws, wt, TaskUpdate(assignment_status=TaskStatus.COMPLETED, attributes='{"a": 1}'))
    await client.tasks.delete(ws, updated.sid, etag=updated.etag)
    async for task in client.tasks.list(ws, assignment_status=["pending", TaskStatus.RESERVED], limit=10):
        attributes = task.attributes
        if attributes is not None:
            print(attributes.text, dict(attributes))
    worker: Worker = await client.workers.create(ws, WorkerCreate(friendly_name="Alice", attributes={"a": 1}))
    await client.workers.delete(ws, worker.sid, etag=worker.etag)
    await client.workflows.create(ws, WorkflowCreate(friendly_name="Main", configuration={"task_routing": {}}))
    bulk: TaskQueueBulkRealTimeStatistics = await client.task_queues.bulk_real_time_statistics(ws, [wq])
    since = datetime(2024, 5, 14, tzinfo=timezone.utc)
    cumulative: TaskQueueCumulativeStatistics = await client.task_queues.cumulative_statistics(
        ws, wq, start_date=since, split_by_wait_time="10,30"
    )
    statistics: WorkspaceStatistics = await client.workspaces.statistics(ws, minutes=60)
    print(bulk.task_queue_response_count, cumulative.reservations_created, statistics.realtime)
    await client.task_reservations.update(
        ws, wt, "WR" + "0" * 32, TaskReservationUpdate(reservation_status="accepted", beep=True)
    )
