"""A worker-side loop: every few seconds, accept the worker's pending reservations, each with If-Match.

A list does not carry ETags, so each reservation is fetched first; the accept then goes out with
``etag=``. Two things follow. If TaskRouter times the reservation out, rescinds it or another
process takes it between the fetch and the accept, the API answers 412 and nothing is applied:
the loop leaves that reservation alone. And an accept with an ETag is safe to repeat, so the
client also retries it after a 5xx or a lost answer (without one it would not: see Concepts, Retries).
With credentials in TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (and TWILIO_TASKROUTER_BASE_URL to use
another server), until Ctrl-C:

    python examples/worker_loop.py WS… WK…
"""

from __future__ import annotations

import argparse
import contextlib

import anyio

from taskrouter_async import AsyncTaskRouter, PreconditionFailedError, ReservationStatus, WorkerReservationUpdate

ACCEPT = WorkerReservationUpdate.accept()


async def accept_pending(client: AsyncTaskRouter, workspace_sid: str, worker_sid: str, *, batch: int = 50) -> list[str]:
    """One pass: accept up to ``batch`` pending reservations of the worker; return the SIDs accepted."""
    reservations = client.worker_reservations
    pending = [
        r.sid async for r in reservations.list(workspace_sid, worker_sid, reservation_status="pending", limit=batch)
    ]
    accepted: list[str] = []
    for sid in pending:
        current = await reservations.fetch(workspace_sid, worker_sid, sid)
        if current.reservation_status != ReservationStatus.PENDING:
            continue  # it changed since the list was read
        try:
            await reservations.update(workspace_sid, worker_sid, sid, ACCEPT, etag=current.etag)
        except PreconditionFailedError:
            print(f"{sid} changed before it could be accepted; leaving it")
            continue
        print(f"accepted {sid}")
        accepted.append(sid)
    return accepted


async def main(
    client: AsyncTaskRouter, workspace_sid: str, worker_sid: str, *, interval: float = 5.0, rounds: int | None = None
) -> list[str]:
    """Poll every ``interval`` seconds, ``rounds`` times (forever if ``None``); return every SID accepted."""
    accepted: list[str] = []
    done = 0
    while rounds is None or done < rounds:
        accepted += await accept_pending(client, workspace_sid, worker_sid)
        done += 1
        if rounds is None or done < rounds:
            await anyio.sleep(interval)
    return accepted


async def _run(workspace_sid: str, worker_sid: str) -> None:
    async with AsyncTaskRouter() as client:  # credentials from the environment
        await main(client, workspace_sid, worker_sid)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Accept a worker's pending reservations as they come.")
    parser.add_argument("workspace_sid", help="WS…")
    parser.add_argument("worker_sid", help="WK…")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the loop
        anyio.run(_run, args.workspace_sid, args.worker_sid)
