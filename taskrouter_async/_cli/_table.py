"""``--table``: reservations as a rich table for people, printed a batch at a time as a list goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from .._converter import unstructure_model
from ..resources import Reservation

__all__ = ["StdoutConsole", "print_table", "reservation_table"]

#: Rows per printed batch: a list shows its first rows after one page, not at the end.
_BATCH = 50


class StdoutConsole(Console):
    """A console on stdout that leaves a closed pipe to ``main`` (quiet exit 141, as for JSON lines)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def reservation_table(reservations: list[Reservation], *, by_task: bool, with_etag: bool, header: bool = True) -> Table:
    """One table; the SID column of the parent given on the command line (task or worker) is left out.

    ETAG is for fetch and update: a list page carries no ETag per reservation. Every column but
    the last has a fixed width, so batches printed one after another line up.
    """
    other = "WORKER SID" if by_task else "TASK SID"
    table = Table(box=None, show_header=header, header_style="bold", pad_edge=False)
    table.add_column("SID", no_wrap=True, width=34)
    table.add_column("STATUS", no_wrap=True, width=9)
    table.add_column("WORKER", no_wrap=True, width=16, overflow="ellipsis")
    table.add_column(other, no_wrap=True, width=34)
    table.add_column("UPDATED", no_wrap=True, width=20)
    if with_etag:
        table.add_column("ETAG", no_wrap=True)
    for reservation in reservations:
        data = unstructure_model(reservation)
        row = [
            data["sid"] or "",
            data["reservation_status"] or "",
            data["worker_name"] or "",
            (data["worker_sid"] if by_task else data["task_sid"]) or "",
            data["date_updated"] or "",
        ]
        table.add_row(*row, *([data["etag"] or ""] if with_etag else []))
    return table


async def print_table(
    items: AsyncIterator[Reservation], *, by_task: bool, with_etag: bool, console: Console | None = None
) -> None:
    """Print the reservations in batches, one header on top.

    Lines are never cut: on a terminal narrower than the table, they are as wide as the table
    needs (the terminal wraps them, as it does for ps or kubectl), since a cropped SID is useless.
    """
    console = console or StdoutConsole(highlight=False)
    batch: list[Reservation] = []
    first = True

    def flush() -> None:
        nonlocal first
        table = reservation_table(batch, by_task=by_task, with_etag=with_etag, header=first)
        needed = Measurement.get(console, console.options.update_width(10_000), table).maximum
        console.width = max(console.width, needed)
        console.print(table)
        batch.clear()
        first = False

    async for reservation in items:
        batch.append(reservation)
        if len(batch) >= _BATCH:
            flush()
    if batch or first:
        flush()
