"""Type-checked by tests/test_typing.py (never run): each line ending in an "E:" comment must be that mypy error."""

from __future__ import annotations

from taskrouter_async import AsyncTaskRouter, TaskChannelCreate, TaskCreate, TaskUpdate, WorkerCreate


async def wrong_calls(client: AsyncTaskRouter, ws: str, wt: str) -> None:
    WorkerCreate()  # E: Missing named argument "friendly_name"
    TaskChannelCreate(friendly_name="Voice")  # E: Missing named argument "unique_name"
    await client.tasks.update(ws, wt, TaskCreate())  # E: "TaskCreate"
    await client.tasks.update(ws, wt, TaskUpdate(priority="high"))  # E: "priority"
    await client.tasks.fetch(ws, wt, etag="x")  # E: "etag"
