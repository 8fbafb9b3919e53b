"""``--table``: reservations as a rich table for people, printed a batch at a time as a list goes on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from .._converter import unstructure_model
from ..resources import Reservation

__all__ = ["StdoutConsole", "model_table", "print_models", "print_table", "reservation_table", "scalar_columns"]

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


#: Fields a generic table leaves out: the same on every row, or too long to read in a cell.
_NOT_SHOWN = frozenset({"account_sid", "url", "links"})


def model_table(models: list[Any], *, columns: list[str] | None = None, header: bool = True) -> Table:
    """Any resource's models as a table: one column per field holding a scalar (text, number, flag, date),
    in the API's order; a single model is shown as field/value rows instead, every field included."""
    rows = [model.to_dict() for model in models]
    if columns is None and len(rows) == 1:
        table = Table(box=None, show_header=header, header_style="bold", pad_edge=False)
        table.add_column("FIELD", no_wrap=True)
        table.add_column("VALUE", overflow="fold")
        for key, value in rows[0].items():
            table.add_row(key, _cell(value))
        return table
    keys = columns if columns is not None else scalar_columns(rows[0] if rows else {})
    table = Table(box=None, show_header=header, header_style="bold", pad_edge=False)
    for key in keys:
        table.add_column(key.upper(), no_wrap=True)
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key in keys))
    return table


def scalar_columns(row: dict[str, Any]) -> list[str]:
    """The keys of a row whose values fit a cell."""
    return [k for k, v in row.items() if k not in _NOT_SHOWN and not isinstance(v, (dict, list))]


def _cell(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


async def print_models(items: AsyncIterator[Any], *, listing: bool = True, console: Console | None = None) -> None:
    """Print a list's models in batches under one header (the columns of the first model); the one model of
    a fetch, update or statistics (``listing=False``) as field/value rows."""
    console = console or StdoutConsole(highlight=False)
    batch: list[Any] = []
    columns: list[str] | None = None
    printed = False

    def flush(*, single: bool = False) -> None:
        nonlocal columns, printed
        if columns is None and batch and not single:
            columns = scalar_columns(batch[0].to_dict())
        table = model_table(batch, columns=None if single else columns, header=not printed)
        needed = Measurement.get(console, console.options.update_width(10_000), table).maximum
        console.width = max(console.width, needed)
        console.print(table)
        batch.clear()
        printed = True

    async for model in items:
        batch.append(model)
        if len(batch) >= _BATCH:
            flush()
    if batch:
        flush(single=not listing)
