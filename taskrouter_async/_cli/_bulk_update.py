"""``bulk-update``: JSON lines in, one update each, sent concurrently through ``update_many``; results out.

Task and worker updates go to two ``update_many`` runs fed from the input as it is read. Every
line is checked the same way whether it is sent or only checked (``--dry-run``): a line that
cannot be sent (not JSON, an unknown key, a bad value) becomes that line's error result.
"""

from __future__ import annotations

import codecs
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .._bulk import BulkRun, BulkUpdate
from .._client import AsyncTaskRouter
from .._converter import unstructure_model
from ..resources import TaskReservationUpdate, WorkerReservationUpdate
from ._inputs import CLIError, close_match, if_match_value, update_params
from ._output import error_json, write_json_line
from ._stats import INVALID_INPUT, BulkStats, failure_kind, summary

if TYPE_CHECKING:
    from ._progress import BulkProgressDisplay

__all__ = ["check_line", "run_bulk_update"]

_KINDS = ("task", "worker")
_KEYS = ("workspace_sid", "task_sid", "worker_sid", "reservation_sid", "params", "etag")
_CHUNK_BYTES = 1 << 16
#: How often the progress display is redrawn.
_REFRESH_SECONDS = 0.1


def check_line(text: str, client: AsyncTaskRouter) -> tuple[str, BulkUpdate[Any]]:
    """One input line as (kind, update), checked as ``update_many`` will check it; ValueError says what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    unknown = [key for key in data if key not in _KEYS]
    if unknown:
        raise ValueError("; ".join(_unknown_key(key) for key in unknown))
    if ("task_sid" in data) == ("worker_sid" in data):
        raise ValueError("give exactly one of task_sid and worker_sid")
    kind = "task" if "task_sid" in data else "worker"
    fields = data.get("params")
    if not isinstance(fields, dict) or not fields:
        raise ValueError('"params" must be an object of update fields, e.g. {"ReservationStatus": "accepted"}')
    update_class = TaskReservationUpdate if kind == "task" else WorkerReservationUpdate
    workspace_sid, parent_sid, reservation_sid = (
        _text(data, name) for name in ("workspace_sid", f"{kind}_sid", "reservation_sid")
    )
    etag = data.get("etag")
    if etag is not None and not isinstance(etag, str):
        raise ValueError('"etag" must be a string or null')
    try:
        params = update_params(fields.items(), update_class)
    except ValueError as exc:
        raise ValueError(f'"params": {exc}') from None
    try:
        item = BulkUpdate(
            workspace_sid, parent_sid, reservation_sid, params, etag=None if etag is None else if_match_value(etag)
        )
    except ValueError as exc:
        raise ValueError(f'"etag": {exc}') from None
    resource = client.task_reservations if kind == "task" else client.worker_reservations
    resource._prepare_bulk_item(item)
    return kind, item


def _unknown_key(key: str) -> str:
    suggestion = close_match(key, _KEYS)
    return f"unknown key {key!r}" + (f" (did you mean {suggestion!r}?)" if suggestion else "")


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValueError(f'"{name}" must be a string')
    return value


async def run_bulk_update(
    client: AsyncTaskRouter, path: str, *, concurrency: int, dry_run: bool, clock: Callable[[], float] = time.monotonic
) -> int:
    """The command: exit status 1 if any line failed (or, with ``dry_run``, is invalid)."""
    try:
        fd = sys.stdin.fileno() if path == "-" else await anyio.to_thread.run_sync(os.open, path, os.O_RDONLY)
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    try:
        lines = _Lines(fd, is_stdin=path == "-")
        if dry_run:
            return await _dry_run(client, lines)
        total = None if path == "-" else await anyio.to_thread.run_sync(_count_lines, path)
        stats = BulkStats(total=total, concurrency=concurrency, max_concurrency=concurrency)
        run = _BulkRun(client, concurrency, stats)
        started = clock()
        finished = False
        try:
            with _display(stats, clock) as display:
                await run.run(lines, display)
            finished = True
        finally:
            run.poll()
            print(summary(stats, elapsed=clock() - started, interrupted=not finished), file=sys.stderr, flush=True)
    finally:
        if path != "-":
            os.close(fd)
    return 1 if stats.failed else 0


class _Lines:
    """The input's non-blank lines with their numbers, read in chunks of what is available.

    One worker thread hop per chunk, not per line: a thread busy reading lines one by one keeps
    taking the GIL from the event loop, which then waits for it after every socket call. A chunk
    is whatever ``os.read`` returns, so a slow producer on a pipe is not waited for beyond its
    last line. Undecodable bytes become U+FFFD: that line then fails alone, as invalid JSON.
    A read of standard input is abandoned on cancellation (Ctrl-C must not wait for typing);
    a file's is not, since its descriptor is closed afterwards and could be reused.
    """

    def __init__(self, fd: int, *, is_stdin: bool) -> None:
        self._fd = fd
        self._abandon_on_cancel = is_stdin
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._ready: deque[tuple[int, str]] = deque()
        self._partial = ""
        self._number = 0
        self._ended = False

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> tuple[int, str]:
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            chunk = await anyio.to_thread.run_sync(
                os.read, self._fd, _CHUNK_BYTES, abandon_on_cancel=self._abandon_on_cancel
            )
            self._ended = not chunk
            *complete, self._partial = (self._partial + self._decoder.decode(chunk, final=self._ended)).split("\n")
            if self._ended:
                complete.append(self._partial)
            for text in complete:
                self._number += 1
                if text.strip():
                    self._ready.append((self._number, text))
        return self._ready.popleft()


def _count_lines(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as source:
        return sum(1 for line in source if line.strip())


async def _dry_run(client: AsyncTaskRouter, lines: _Lines) -> int:
    checked = invalid = 0
    async for number, text in lines:
        checked += 1
        try:
            check_line(text, client)
        except ValueError as exc:
            invalid += 1
            write_json_line({"line": number, "ok": False, "error": {"message": str(exc)}})
    print(
        f"Dry run: {checked:,} lines checked, {checked - invalid:,} valid, {invalid:,} invalid; nothing was sent",
        file=sys.stderr,
        flush=True,
    )
    return 1 if invalid else 0


def _display(stats: BulkStats, clock: Callable[[], float]) -> AbstractContextManager[BulkProgressDisplay | None]:
    """The progress display when stderr is a terminal (and rich is installed), else nothing."""
    if not sys.stderr.isatty():
        return nullcontext()
    try:
        from rich.console import Console

        from ._progress import BulkProgressDisplay
    except ImportError:
        print("(for a progress display: pip install 'taskrouter-async[cli]')", file=sys.stderr)
        return nullcontext()
    return BulkProgressDisplay(stats, console=Console(stderr=True), get_time=clock)


class _Counted:
    """The items of one kind as ``update_many`` takes them: counts each as started when it is taken."""

    def __init__(self, items: MemoryObjectReceiveStream[BulkUpdate[Any]], stats: BulkStats) -> None:
        self._items = items
        self._stats = stats

    def __aiter__(self) -> _Counted:
        return self

    async def __anext__(self) -> BulkUpdate[Any]:
        try:
            item = await self._items.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
        self._stats.started += 1
        return item


class _BulkRun:
    """One run: reads lines, feeds task and worker updates to two ``update_many`` runs, writes results."""

    def __init__(self, client: AsyncTaskRouter, concurrency: int, stats: BulkStats) -> None:
        self.client = client
        self.concurrency = concurrency
        self.stats = stats
        self.runs: dict[str, BulkRun[Any, Any]] = {}
        #: Input line numbers of the items sent to each kind's run, by that run's item index.
        self.lines: dict[str, dict[int, int]] = {kind: {} for kind in _KINDS}
        self.sent = dict.fromkeys(_KINDS, 0)
        self.write: Callable[[dict[str, Any]], None] = write_json_line

    def _write_above(self, display: BulkProgressDisplay) -> Callable[[dict[str, Any]], None]:
        return lambda record: display.print_above(json.dumps(record))

    async def run(self, lines: _Lines, display: BulkProgressDisplay | None) -> None:
        streams = {kind: anyio.create_memory_object_stream[BulkUpdate[Any]](self.concurrency) for kind in _KINDS}
        if display is not None and sys.stdout.isatty():  # one terminal for both: results go above the display
            self.write = self._write_above(display)
        async with anyio.create_task_group() as group:
            if display is not None:
                group.start_soon(self._redraw, display)
            async with anyio.create_task_group() as runs:
                for kind, (_, receive) in streams.items():
                    runs.start_soon(self._drain, kind, receive)
                with streams["task"][0], streams["worker"][0]:
                    async for number, text in lines:
                        try:
                            kind, item = check_line(text, self.client)
                        except ValueError as exc:
                            self.stats.failures[INVALID_INPUT] += 1
                            self.write({"line": number, "ok": False, "error": {"message": str(exc)}})
                            continue
                        self.lines[kind][self.sent[kind]] = number
                        self.sent[kind] += 1
                        await streams[kind][0].send(item)
            group.cancel_scope.cancel()

    async def _drain(self, kind: str, items: MemoryObjectReceiveStream[BulkUpdate[Any]]) -> None:
        resource: Any = self.client.task_reservations if kind == "task" else self.client.worker_reservations
        stats = self.stats
        run = self.runs[kind] = resource.update_many(_Counted(items, stats), concurrency=self.concurrency)
        async with items, run as results:
            async for result in results:
                line = self.lines[kind].pop(result.index)
                stats.finished += 1
                if result.result is not None:
                    stats.succeeded += 1
                    self.write({"line": line, "ok": True, "reservation": unstructure_model(result.result)})
                else:
                    stats.failures[failure_kind(result.error)] += 1
                    self.write({"line": line, "ok": False, "error": error_json(result.error)})

    def poll(self) -> None:
        """Copy the runs' live figures into the stats: requests in flight, 429s, the limit of the kinds in use,
        and the ``--rate`` budget's waits."""
        progress = {kind: run.progress for kind, run in self.runs.items()}
        self.stats.rate_limited = sum(p.rate_limited for p in progress.values())
        self.stats.requests_in_flight = sum(p.in_flight for p in progress.values())
        budget = self.client.rate_limit_stats
        if budget is not None:
            self.stats.waiting_for_budget = budget.waiting
            self.stats.held_by_budget = budget.throttled_seconds
            self.stats.budget_fallback = budget.using_fallback
        in_use = [p for kind, p in progress.items() if self.sent[kind]]
        if in_use:
            self.stats.concurrency = sum(p.concurrency for p in in_use)
            self.stats.max_concurrency = self.concurrency * len(in_use)

    async def _redraw(self, display: BulkProgressDisplay) -> None:
        while True:
            self.poll()
            display.update()
            await anyio.sleep(_REFRESH_SECONDS)
