"""Handling 412 by refetching: read a reservation, decide, write with If-Match; if it changed meanwhile, start over.

This is optimistic concurrency. The decision is made from the state just read, and the update
carries that state's ETag, so it applies only if nobody changed the reservation in between. If
somebody did, the API answers 412 (``PreconditionFailedError``) and applies nothing; fetching
again and deciding again from the new state is then always safe. Here the decision moves an
accepted reservation to wrap-up and completes a wrapping one. With credentials in
TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (and TWILIO_TASKROUTER_BASE_URL to use another server):

    python examples/refetch_on_412.py WS… WT… WR…
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import anyio

from taskrouter_async import (
    AsyncTaskRouter,
    PreconditionFailedError,
    ReservationStatus,
    TaskReservation,
    TaskReservationUpdate,
)

#: Given the reservation as it is now: the update to make, or ``None`` to leave it as it is.
Decide = Callable[[TaskReservation], TaskReservationUpdate | None]


def finish(reservation: TaskReservation) -> TaskReservationUpdate | None:
    """One step towards done: accepted -> wrapping -> completed; anything else is left alone."""
    if reservation.reservation_status == ReservationStatus.ACCEPTED:
        return TaskReservationUpdate.wrap_up()
    if reservation.reservation_status == ReservationStatus.WRAPPING:
        return TaskReservationUpdate.complete()
    return None


async def update_with_refetch(
    client: AsyncTaskRouter,
    workspace_sid: str,
    task_sid: str,
    reservation_sid: str,
    decide: Decide,
    *,
    attempts: int = 3,
) -> TaskReservation:
    """Fetch, decide and update with If-Match, up to ``attempts`` times; return the reservation as left.

    Raises the last ``PreconditionFailedError`` if the reservation kept changing under us.
    """
    reservations = client.task_reservations
    attempt = 1
    while True:
        current = await reservations.fetch(workspace_sid, task_sid, reservation_sid)
        params = decide(current)
        if params is None:
            return current
        try:
            return await reservations.update(workspace_sid, task_sid, reservation_sid, params, etag=current.etag)
        except PreconditionFailedError:
            if attempt >= attempts:
                raise
            print(f"{reservation_sid} changed since ETag {current.etag}; fetching it again")
            attempt += 1


async def main(client: AsyncTaskRouter, workspace_sid: str, task_sid: str, reservation_sid: str) -> TaskReservation:
    reservation = await update_with_refetch(client, workspace_sid, task_sid, reservation_sid, finish)
    print(f"{reservation.sid} is {reservation.reservation_status}, ETag {reservation.etag}")
    return reservation


async def _run(workspace_sid: str, task_sid: str, reservation_sid: str) -> None:
    async with AsyncTaskRouter() as client:  # credentials from the environment
        await main(client, workspace_sid, task_sid, reservation_sid)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Move a reservation one step towards completed, safely.")
    parser.add_argument("workspace_sid", help="WS…")
    parser.add_argument("task_sid", help="WT…")
    parser.add_argument("reservation_sid", help="WR…")
    args = parser.parse_args()
    anyio.run(_run, args.workspace_sid, args.task_sid, args.reservation_sid)
