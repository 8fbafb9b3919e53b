"""Accept the task reservations listed in a CSV file, 20 requests at a time, and report the ones that failed.

The CSV has a header row and the columns ``workspace_sid``, ``task_sid``, ``reservation_sid`` and,
optionally, ``etag`` (the ETag an earlier fetch returned, quotes and all, sent exactly as written: the
accept then applies only if the reservation has not changed since). With credentials in TWILIO_ACCOUNT_SID
and TWILIO_AUTH_TOKEN (and TWILIO_TASKROUTER_BASE_URL to use another server, such as ``taskrouter-async fake-server``):

    python examples/bulk_accept_csv.py reservations.csv
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from taskrouter_async import AsyncTaskRouter, BulkUpdate, TaskReservationUpdate

ACCEPT = TaskReservationUpdate.accept()


@dataclass
class Outcome:
    """What a run did: the SIDs accepted, and the error text of each failed row by its CSV line number."""

    accepted: list[str] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def accept_updates(rows: Iterable[Mapping[str, str | None]]) -> Iterator[BulkUpdate[TaskReservationUpdate]]:
    """One accept per row, built as ``update_many`` asks for it; a malformed row fails alone, as a ValidationError."""
    for row in rows:
        yield BulkUpdate(
            row.get("workspace_sid") or "",
            row.get("task_sid") or "",
            row.get("reservation_sid") or "",
            ACCEPT,
            etag=row.get("etag") or None,
        )


async def accept_from_csv(
    client: AsyncTaskRouter, rows: Iterable[Mapping[str, str | None]], *, concurrency: int = 20
) -> Outcome:
    """Accept every row's reservation concurrently; results come back in completion order."""
    outcome = Outcome()
    updates = accept_updates(rows)
    async with client.task_reservations.update_many(updates, concurrency=concurrency) as results:
        async for result in results:
            line = result.index + 2  # the header is line 1
            if result.error is not None:
                outcome.failed[line] = str(result.error)
            elif result.reservation is not None:
                outcome.accepted.append(result.reservation.sid)
    return outcome


async def main(client: AsyncTaskRouter, path: Path) -> Outcome:
    # Read whole: 10,000 rows are about 1 MB. update_many still reads the rows lazily, one per free slot.
    text = await anyio.Path(path).read_text(encoding="utf-8")
    outcome = await accept_from_csv(client, csv.DictReader(io.StringIO(text, newline="")))
    for line, error in sorted(outcome.failed.items()):
        print(f"line {line}: {error}")
    print(f"{len(outcome.accepted)} accepted, {len(outcome.failed)} failed")
    return outcome


async def _run(path: Path) -> int:
    async with AsyncTaskRouter() as client:  # credentials from the environment
        outcome = await main(client, path)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Accept the task reservations listed in a CSV file.")
    parser.add_argument("csv", type=Path, help="workspace_sid,task_sid,reservation_sid[,etag] with a header row")
    raise SystemExit(anyio.run(_run, parser.parse_args().csv))
