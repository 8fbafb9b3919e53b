"""Retries and timeouts configured: a quick look-up with per-call options, then patient work through a view.

The look-up passes ``timeout=`` and ``max_retries=`` for that call alone: it gives up after
``quick_timeout`` seconds and never retries. ``with_options`` returns a view of the client for
many calls, sharing its connection pool: the patient view waits longer, retries up to 4 times,
and honours a 429's Retry-After up to 30 seconds. The accept goes out with the ETag just read, so the client may
repeat it after a 5xx or a lost answer without any risk of applying it twice. With credentials
in TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (and TWILIO_TASKROUTER_BASE_URL to use another
server); TASKROUTER_LOG=debug logs every attempt and every wait to stderr:

    TASKROUTER_LOG=debug python examples/retries_and_timeouts.py WS… WT… WR…
"""

from __future__ import annotations

import argparse

import anyio
import httpx

from taskrouter_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncTaskRouter,
    InternalServerError,
    RateLimitError,
    TaskReservation,
    TaskReservationUpdate,
)

#: Background work: 3 s to connect, 20 s for each other phase; up to 5 attempts.
PATIENT_TIMEOUT = httpx.Timeout(20.0, connect=3.0)
PATIENT_RETRIES = 4
#: A Retry-After longer than this is not waited for: the call raises RateLimitError at once.
PATIENT_MAX_RETRY_AFTER = 30.0


async def main(
    client: AsyncTaskRouter, workspace_sid: str, task_sid: str, reservation_sid: str, *, quick_timeout: float = 2.0
) -> TaskReservation:
    """Look the reservation up quickly if possible, then accept it patiently; return it accepted."""
    patient = client.with_options(
        timeout=PATIENT_TIMEOUT, max_retries=PATIENT_RETRIES, max_retry_after=PATIENT_MAX_RETRY_AFTER
    )
    address = (workspace_sid, task_sid, reservation_sid)
    try:
        current = await client.task_reservations.fetch(*address, timeout=quick_timeout, max_retries=0)
    except APITimeoutError:
        print(f"no answer within {quick_timeout} s; asking again, patiently")
        current = await patient.task_reservations.fetch(*address)
    try:
        return await patient.task_reservations.update(*address, TaskReservationUpdate.accept(), etag=current.etag)
    except RateLimitError as exc:
        print(f"still rate limited after {exc.attempts} attempts; Twilio asks to wait {exc.retry_after} s")
        raise
    except (APIConnectionError, InternalServerError) as exc:
        # With an ETag these were retried; after the last attempt the accept may or may not have been
        # applied (an answer can be lost on the way back), so look before deciding what to do.
        print(f"gave up after {exc.attempts} attempts: {exc}")
        raise


async def _run(workspace_sid: str, task_sid: str, reservation_sid: str) -> None:
    # The same settings can be the client's own: AsyncTaskRouter(timeout=..., max_retries=..., max_retry_after=...).
    async with AsyncTaskRouter() as client:  # credentials from the environment
        reservation = await main(client, workspace_sid, task_sid, reservation_sid)
    print(f"accepted {reservation.sid}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Accept a reservation with explicit retry and timeout settings.")
    parser.add_argument("workspace_sid", help="WS…")
    parser.add_argument("task_sid", help="WT…")
    parser.add_argument("reservation_sid", help="WR…")
    args = parser.parse_args()
    anyio.run(_run, args.workspace_sid, args.task_sid, args.reservation_sid)
