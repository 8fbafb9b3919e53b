"""``bulk-update``: JSON lines in, one update each, sent concurrently through ``update_many``; results out.

Task and worker updates go to two ``update_many`` runs fed from the input as it is read. Every
line is checked the same way whether it is sent or only checked (``--dry-run``): a line that
cannot be sent (not JSON, an unknown key, a bad value) becomes that line's error result.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import stat
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream

from .._bulk import BulkRun, BulkUpdate
from .._client import AsyncTaskRouter
from .._converter import unstructure_model
from .._params import Params
from ..resources import TaskReservationUpdate, TaskUpdate, WorkerReservationUpdate, WorkerUpdate
from ._inputs import CLIError, close_match, if_match_value, update_params
from ._output import error_json, write_json_line
from ._stats import INVALID_INPUT, UNSURE, BulkStats, failure_kind, summary

if TYPE_CHECKING:
    from ._progress import BulkProgressDisplay

__all__ = ["UNDER_WAY_MESSAGE", "ResumePlan", "check_line", "run_bulk_update"]

_KEYS = ("workspace_sid", "task_sid", "worker_sid", "reservation_sid", "params", "etag")


@attrs.frozen
class _Target:
    """What a kind of line updates: the client's resource, its update params, the line's SID keys."""

    resource: str
    params: type[Params]
    sids: tuple[str, ...]
    example: str
    #: The key of the updated resource in a result line.
    result_key: str = "reservation"


#: A line with ``reservation_sid`` updates a task's or a worker's reservation; without, the task or worker.
_TARGETS = {
    "task": _Target(
        "task_reservations",
        TaskReservationUpdate,
        ("workspace_sid", "task_sid", "reservation_sid"),
        '{"ReservationStatus": "accepted"}',
    ),
    "worker": _Target(
        "worker_reservations",
        WorkerReservationUpdate,
        ("workspace_sid", "worker_sid", "reservation_sid"),
        '{"ReservationStatus": "accepted"}',
    ),
    "tasks": _Target("tasks", TaskUpdate, ("workspace_sid", "task_sid"), '{"AssignmentStatus": "completed"}', "task"),
    "workers": _Target("workers", WorkerUpdate, ("workspace_sid", "worker_sid"), '{"ActivitySid": "WA..."}', "worker"),
}
_KINDS = tuple(_TARGETS)
_CHUNK_BYTES = 1 << 16
#: How often the progress display is redrawn.
_REFRESH_SECONDS = 0.1


def check_line(text: str, client: AsyncTaskRouter) -> tuple[str, Any]:
    """One input line as (kind, update), checked as ``update_many`` will check it; ValueError says what is wrong.

    Whatever makes a line unreadable is that line's error, so one bad line never ends a run.
    """
    try:
        return _check_line(text, client)
    except RecursionError:  # nesting deeper than the parser's (or a later step's) recursion allows
        raise ValueError("not JSON (nested too deeply)") from None


def _check_line(text: str, client: AsyncTaskRouter) -> tuple[str, Any]:
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
    parent = "task" if "task_sid" in data else "worker"
    kind = parent if "reservation_sid" in data else f"{parent}s"
    target = _TARGETS[kind]
    fields = data.get("params")
    if not isinstance(fields, dict) or not fields:
        raise ValueError(f'"params" must be an object of update fields, e.g. {target.example}')
    sids = tuple(_text(data, name) for name in target.sids)
    etag = data.get("etag")
    if etag is not None and not isinstance(etag, str):
        raise ValueError('"etag" must be a string or null')
    try:
        params = update_params(fields.items(), target.params)
    except ValueError as exc:
        raise ValueError(f'"params": {exc}') from None
    try:
        etag = None if etag is None else if_match_value(etag)
    except ValueError as exc:
        raise ValueError(f'"etag": {exc}') from None
    item: Any = BulkUpdate(*sids, params, etag=etag) if len(sids) == 3 else (*sids, params, etag)
    resource: Any = getattr(client, target.resource)
    resource._prepare_bulk_item(item)  # what update_many does with the item before sending it, without I/O
    return kind, item


def etag_of(item: Any) -> str | None:
    """The If-Match ETag of a checked item: a ``BulkUpdate``'s, or a tuple's last element."""
    return item.etag if isinstance(item, BulkUpdate) else item[-1]


def _unknown_key(key: str) -> str:
    suggestion = close_match(key, _KEYS)
    return f"unknown key {key!r}" + (f" (did you mean {suggestion!r}?)" if suggestion else "")


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValueError(f'"{name}" must be a string')
    return value


async def run_bulk_update(
    client: AsyncTaskRouter,
    path: str,
    *,
    concurrency: int,
    dry_run: bool,
    resume: Sequence[str] = (),
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """The command: exit status 1 if any line failed (or, with ``dry_run``, is invalid).

    The input is opened once and read once: a pipe (``<(...)``, ``/dev/fd/N``) or a FIFO has no
    second reading. Only a regular file is counted first, through its open descriptor with
    ``os.pread`` (which leaves the read position alone), for a progress bar with a total.
    ``resume`` names results files of earlier runs of the same input (see ``ResumePlan``).
    """
    plan = await anyio.to_thread.run_sync(ResumePlan.read, resume)
    try:
        fd = sys.stdin.fileno() if path == "-" else await anyio.to_thread.run_sync(os.open, path, os.O_RDONLY)
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    try:
        lines = _Lines(fd, is_stdin=path == "-")
        if dry_run:
            return await _dry_run(client, lines)
        total = await anyio.to_thread.run_sync(_count_lines, fd) if stat.S_ISREG(os.fstat(fd).st_mode) else None
        stats = BulkStats(total=total, concurrency=concurrency, max_concurrency=concurrency)
        run = _BulkRun(client, concurrency, stats, plan)
        started = clock()
        finished = False
        try:
            with _display(stats, clock) as display:
                await run.run(lines, display)
            finished = True
        finally:
            run.poll()
            if not finished:
                run.mark_under_way()
            print(summary(stats, elapsed=clock() - started, interrupted=not finished), file=sys.stderr, flush=True)
    finally:
        if path != "-":
            os.close(fd)
    return 1 if stats.failed else 0


#: The result of a line that was under way when an earlier run stopped, and that is not re-sent.
UNDER_WAY_MESSAGE = (
    "under way when an earlier run stopped, and it has no etag: it may or may not have been applied, "
    "so it is not sent again; fetch the reservation to know"
)


@attrs.frozen(kw_only=True)
class ResumePlan:
    """What earlier runs' results files say about each input line, for ``--resume``.

    A line with a result (``"ok"`` true or false) has a final outcome and is skipped. A line
    that was under way when a run was interrupted (``"under_way": true``) may or may not have
    been applied: it is sent again only with an ``etag``, since If-Match turns a repeat of an
    applied update into a 412 instead of a second update; without one it is listed for the user
    to check. Every other line was never sent, and is sent.
    """

    final: frozenset[int] = frozenset()
    under_way: frozenset[int] = frozenset()

    @classmethod
    def read(cls, paths: Sequence[str]) -> ResumePlan:
        """The plan from results files (a later file's final outcome wins over an earlier under-way mark)."""
        final: set[int] = set()
        under_way: set[int] = set()
        for path in paths:
            try:
                with open(path, encoding="utf-8-sig", errors="replace") as results:
                    for number, text in enumerate(results, 1):
                        if text.strip():
                            line, outcome = _result(text, f"--resume {path}: line {number}")
                            (under_way if outcome is None else final).add(line)
            except OSError as exc:
                raise CLIError(f"cannot read --resume {path}: {exc.strerror}") from None
        return cls(final=frozenset(final), under_way=frozenset(under_way - final))


def _result(text: str, where: str) -> tuple[int, bool | None]:
    """A results line's input line number and outcome (``None``: it was under way)."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        raise CLIError(f"{where} is not JSON: give the results (stdout) of an earlier bulk-update") from None
    line = record.get("line") if isinstance(record, dict) else None
    if isinstance(line, bool) or not isinstance(line, int):
        raise CLIError(f'{where} has no "line" number: give the results (stdout) of an earlier bulk-update')
    outcome = record.get("ok")
    if isinstance(outcome, bool):
        return line, outcome
    if outcome is None and record.get("under_way") is True:
        return line, None
    raise CLIError(f'{where} has neither "ok" true or false nor "under_way": not a bulk-update result')


class _Splitter:
    """Bytes in, numbered non-blank lines out, as they complete.

    Undecodable bytes become U+FFFD: that line then fails alone, as invalid JSON. A UTF-8
    byte-order mark (which Notepad and PowerShell write) is dropped from the start of the input.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._partial = ""
        self._number = 0

    def feed(self, chunk: bytes) -> list[tuple[int, str]]:
        """The lines that ``chunk`` completes; an empty chunk ends the input (and completes the last line)."""
        ended = not chunk
        *complete, self._partial = (self._partial + self._decoder.decode(chunk, final=ended)).split("\n")
        if ended:
            complete.append(self._partial)
        found = []
        for text in complete:
            self._number += 1
            if text.strip():
                found.append((self._number, text))
        return found


class _Lines:
    """The input's non-blank lines with their numbers, read in chunks of what is available.

    One worker thread hop per chunk, not per line: a thread busy reading lines one by one keeps
    taking the GIL from the event loop, which then waits for it after every socket call. A chunk
    is whatever ``os.read`` returns, so a slow producer on a pipe is not waited for beyond its
    last line. A read of standard input is abandoned on cancellation (Ctrl-C must not wait for
    typing); a file's is not, since its descriptor is closed afterwards and could be reused.
    """

    def __init__(self, fd: int, *, is_stdin: bool) -> None:
        self._fd = fd
        self._abandon_on_cancel = is_stdin
        self._splitter = _Splitter()
        self._ready: deque[tuple[int, str]] = deque()
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
            self._ready.extend(self._splitter.feed(chunk))
        return self._ready.popleft()


def _count_lines(fd: int) -> int:
    """The non-blank lines from a regular file's read position on, counted without moving it."""
    splitter = _Splitter()
    offset = os.lseek(fd, 0, os.SEEK_CUR)
    count = 0
    while chunk := os.pread(fd, _CHUNK_BYTES, offset):
        offset += len(chunk)
        count += len(splitter.feed(chunk))
    return count + len(splitter.feed(b""))


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

    def __init__(self, items: MemoryObjectReceiveStream[Any], stats: BulkStats) -> None:
        self._items = items
        self._stats = stats
        #: Items of this kind taken so far: the indexes below it are started (``update_many`` counts the same way).
        self.taken = 0

    def __aiter__(self) -> _Counted:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._items.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
        self._stats.started += 1
        self.taken += 1
        return item


class _BulkRun:
    """One run: reads lines, feeds task and worker updates to two ``update_many`` runs, writes results."""

    def __init__(self, client: AsyncTaskRouter, concurrency: int, stats: BulkStats, plan: ResumePlan) -> None:
        self.client = client
        self.concurrency = concurrency
        self.stats = stats
        self.plan = plan
        self.runs: dict[str, BulkRun[Any, Any]] = {}
        self.inputs: dict[str, _Counted] = {}
        #: Input line numbers of the items sent to each kind's run, by that run's item index.
        self.lines: dict[str, dict[int, int]] = {kind: {} for kind in _KINDS}
        self.sent = dict.fromkeys(_KINDS, 0)
        self.write: Callable[[dict[str, Any]], None] = write_json_line

    def _write_above(self, display: BulkProgressDisplay) -> Callable[[dict[str, Any]], None]:
        return lambda record: display.print_above(json.dumps(record))

    async def run(self, lines: _Lines, display: BulkProgressDisplay | None) -> None:
        streams = {kind: anyio.create_memory_object_stream[Any](self.concurrency) for kind in _KINDS}
        if display is not None and sys.stdout.isatty():  # one terminal for both: results go above the display
            self.write = self._write_above(display)
        async with anyio.create_task_group() as group:
            if display is not None:
                group.start_soon(self._redraw, display)
            async with anyio.create_task_group() as runs:
                for kind, (_, receive) in streams.items():
                    runs.start_soon(self._drain, kind, receive)
                with contextlib.ExitStack() as senders:
                    for send, _ in streams.values():
                        senders.enter_context(send)
                    async for number, text in lines:
                        if number in self.plan.final:
                            self.stats.skipped += 1
                            continue
                        try:
                            kind, item = check_line(text, self.client)
                        except ValueError as exc:
                            self.stats.failures[INVALID_INPUT] += 1
                            self.write({"line": number, "ok": False, "error": {"message": str(exc)}})
                            continue
                        if number in self.plan.under_way and etag_of(item) is None:
                            self.stats.failures[UNSURE] += 1
                            self.stats.to_check.append(number)
                            self.write({"line": number, "ok": False, "error": {"message": UNDER_WAY_MESSAGE}})
                            continue
                        self.lines[kind][self.sent[kind]] = number
                        self.sent[kind] += 1
                        await streams[kind][0].send(item)
            group.cancel_scope.cancel()

    async def _drain(self, kind: str, items: MemoryObjectReceiveStream[Any]) -> None:
        resource: Any = getattr(self.client, _TARGETS[kind].resource)
        stats = self.stats
        counted = self.inputs[kind] = _Counted(items, stats)
        run = self.runs[kind] = resource.update_many(counted, concurrency=self.concurrency)
        async with items, run as results:
            async for result in results:
                line = self.lines[kind].pop(result.index)
                stats.finished += 1
                if result.result is not None:
                    stats.succeeded += 1
                    self.write({"line": line, "ok": True, _TARGETS[kind].result_key: unstructure_model(result.result)})
                else:
                    stats.failures[failure_kind(result.error)] += 1
                    self.write({"line": line, "ok": False, "error": error_json(result.error)})

    def mark_under_way(self) -> None:
        """After an interruption: a result line for each update taken by a run and not finished, which may
        or may not have been applied (``--resume`` reads them). Items still queued were never sent: no line."""
        for kind, pending in self.lines.items():
            taken = self.inputs[kind].taken if kind in self.inputs else 0
            for index, line in sorted(pending.items(), key=lambda item: item[1]):
                if index < taken:
                    write_json_line({"line": line, "ok": None, "under_way": True})

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
            binding = next((b for b in budget.budgets if f"{b.workspace}:{b.endpoint}" == budget.binding), None)
            limit = "?" if binding is None or binding.limit is None else binding.limit
            self.stats.binding_budget = (
                None if binding is None else f"{binding.endpoint} {binding.rate:.1f}/s of {limit}"
            )
        in_use = [p for kind, p in progress.items() if self.sent[kind]]
        if in_use:
            self.stats.concurrency = sum(p.concurrency for p in in_use)
            self.stats.max_concurrency = self.concurrency * len(in_use)

    async def _redraw(self, display: BulkProgressDisplay) -> None:
        while True:
            self.poll()
            display.update()
            await anyio.sleep(_REFRESH_SECONDS)
