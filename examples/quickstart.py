"""Quickstart: list a task's pending reservations, then accept the first one with the ETag just read.

With credentials in TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET),
and TWILIO_TASKROUTER_BASE_URL to use another server (``taskrouter-async fake-server``, a proxy):

    python examples/quickstart.py WS… WT…
"""

from __future__ import annotations

import argparse

import anyio

from taskrouter_async import AsyncTaskRouter, TaskReservation, TaskReservationUpdate


async def main(client: AsyncTaskRouter, workspace_sid: str, task_sid: str) -> TaskReservation | None:
    reservations = client.task_reservations
    pending = [r async for r in reservations.list(workspace_sid, task_sid, reservation_status="pending")]
    for reservation in pending:
        print(reservation.sid, reservation.worker_name)
    if not pending:
        return None
    sid = pending[0].sid
    current = await reservations.fetch(workspace_sid, task_sid, sid)
    # With etag=, the accept applies only if the reservation is unchanged since it was fetched (If-Match).
    accept = TaskReservationUpdate.accept()
    accepted = await reservations.update(workspace_sid, task_sid, sid, accept, etag=current.etag)
    print(f"accepted {accepted.sid} for {accepted.worker_name}")
    return accepted


async def _run(workspace_sid: str, task_sid: str) -> None:
    async with AsyncTaskRouter() as client:  # one client per process, closed by `async with`
        await main(client, workspace_sid, task_sid)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Accept a task's first pending reservation.")
    parser.add_argument("workspace_sid", help="WS…")
    parser.add_argument("task_sid", help="WT…")
    args = parser.parse_args()
    anyio.run(_run, args.workspace_sid, args.task_sid)  # or asyncio.run(...), or trio.run(...)
