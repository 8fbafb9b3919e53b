"""``python -m taskrouter_async`` (or ``taskrouter-async``): reservations, bulk updates, the fake and a demo.

Credentials come from the environment (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or
TWILIO_API_KEY and TWILIO_API_SECRET). Output is JSON lines unless ``--table`` is given; an
expected failure prints one ``error:`` line on stderr and exits 1, never a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any, TypeVar

import anyio
import cattrs
from anyio.streams.memory import MemoryObjectReceiveStream

from ._bulk import BulkUpdate
from ._client import AsyncTaskRouter
from ._converter import decode_form, describe_form_error, unstructure_reservation
from ._demo import run_demo, sample_fake
from ._enums import ReservationStatus
from ._errors import APIStatusError, TaskRouterError
from ._models import Reservation
from ._params import ReservationUpdate, TaskReservationUpdate, WorkerReservationUpdate
from ._version import __version__

__all__ = ["main"]

P = TypeVar("P", bound=ReservationUpdate)

_STATUSES = [s.value for s in ReservationStatus]
_TABLE = "{sid:<34}  {status:<9}  {worker:<16}  {worker_sid:<34}  {task_sid:<34}  {updated}"
_HEADINGS = {
    "sid": "SID",
    "status": "STATUS",
    "worker": "WORKER",
    "worker_sid": "WORKER SID",
    "task_sid": "TASK SID",
    "updated": "UPDATED",
}


class _UsageError(Exception):
    """Bad command-line input found after parsing (an update field, a bulk line): exit 1 with one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = anyio.run(args.run, args)
    except (TaskRouterError, _UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskrouter-async",
        description="Twilio TaskRouter reservations from the command line.",
        epilog="Credentials come from TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and "
        "TWILIO_API_SECRET). Try 'demo' first: it needs neither credentials nor network.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(required=True, metavar="command")

    api = argparse.ArgumentParser(add_help=False)
    api.add_argument("--base-url", help="API base URL (default: Twilio's); e.g. a fake-server's")

    parent = argparse.ArgumentParser(add_help=False, parents=[api])
    parent.add_argument("--workspace", required=True, metavar="WS_SID")
    which = parent.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", metavar="WT_SID", help="a task's reservations")
    which.add_argument("--worker", metavar="WK_SID", help="a worker's reservations")
    parent.add_argument("--table", action="store_true", help="a table for people instead of JSON lines")

    reservations = commands.add_parser("reservations", help="list, fetch or update reservations")
    actions = reservations.add_subparsers(required=True, metavar="action")
    listing = actions.add_parser("list", parents=[parent], help="list reservations, following pages")
    listing.add_argument("--status", choices=_STATUSES)
    listing.add_argument("--worker-sid", metavar="WK_SID", help="only this worker's (task reservations)")
    listing.add_argument("--page-size", type=int)
    listing.add_argument("--limit", type=int, help="stop after this many")
    listing.set_defaults(run=_list)
    fetch = actions.add_parser("fetch", parents=[parent], help="fetch one reservation")
    fetch.add_argument("sid", metavar="WR_SID")
    fetch.set_defaults(run=_fetch)
    update = actions.add_parser("update", parents=[parent], help="update one reservation")
    update.add_argument("sid", metavar="WR_SID")
    update.add_argument("--status", choices=_STATUSES, help="the new ReservationStatus")
    update.add_argument(
        "-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="any update field by its API name"
    )
    update.add_argument("--if-match", metavar="ETAG", help="apply only if the reservation still has this ETag")
    update.set_defaults(run=_update)

    bulk = commands.add_parser(
        "bulk-update",
        parents=[api],
        help="apply JSON-lines updates concurrently",
        description='Each input line: {"workspace_sid": "WS...", "task_sid": "WT..." or "worker_sid": "WK...", '
        '"reservation_sid": "WR...", "params": {"ReservationStatus": "accepted", ...}, "etag": optional}. '
        "One JSON result line per input line; exit status 1 if any failed.",
    )
    bulk.add_argument("file", nargs="?", default="-", help="input file (default: standard input)")
    bulk.add_argument(
        "--concurrency", type=int, default=10, help="updates in flight at once, for task and for worker reservations"
    )
    bulk.set_defaults(run=_bulk_update)

    server = commands.add_parser("fake-server", help="serve a fake TaskRouter with sample data on 127.0.0.1")
    server.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    server.set_defaults(run=_fake_server)

    demo = commands.add_parser("demo", help="walk through reservations against an in-process fake")
    demo.set_defaults(run=_demo)
    return parser


# --- reservations ----------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> AsyncTaskRouter:
    return AsyncTaskRouter(base_url=args.base_url)


async def _list(args: argparse.Namespace) -> int:
    if args.worker_sid and not args.task:
        raise _UsageError("--worker-sid filters task reservations only: give --task")
    async with _client(args) as client:
        resource = client.task_reservations if args.task else client.worker_reservations
        by_worker: dict[str, Any] = {"worker_sid": args.worker_sid} if args.task else {}
        items = resource.list(
            args.workspace,
            args.task or args.worker,
            reservation_status=args.status,
            page_size=args.page_size,
            limit=args.limit,
            **by_worker,
        )
        await _print_reservations(items, table=args.table)
    return 0


async def _fetch(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        if args.task:
            reservation: Reservation = await client.task_reservations.fetch(args.workspace, args.task, args.sid)
        else:
            reservation = await client.worker_reservations.fetch(args.workspace, args.worker, args.sid)
    await _print_reservations(_one(reservation), table=args.table)
    return 0


async def _update(args: argparse.Namespace) -> int:
    pairs = [("ReservationStatus", args.status)] if args.status else []
    for param in args.param:
        key, equals, value = param.partition("=")
        if not equals:
            raise _UsageError(f"--param takes KEY=VALUE, got {param!r}")
        pairs.append((key, value))
    async with _client(args) as client:
        if args.task:
            task_params = _params(pairs, TaskReservationUpdate)
            reservation: Reservation = await client.task_reservations.update(
                args.workspace, args.task, args.sid, task_params, etag=args.if_match
            )
        else:
            worker_params = _params(pairs, WorkerReservationUpdate)
            reservation = await client.worker_reservations.update(
                args.workspace, args.worker, args.sid, worker_params, etag=args.if_match
            )
    await _print_reservations(_one(reservation), table=args.table)
    return 0


def _params(pairs: list[tuple[str, str]], cls: type[P]) -> P:
    if not pairs:
        raise _UsageError("nothing to update: give --status or --param KEY=VALUE")
    try:
        return decode_form(pairs, cls)
    except (ValueError, cattrs.BaseValidationError) as exc:
        raise _UsageError(f"invalid update: {describe_form_error(exc)}") from None


async def _one(reservation: Reservation) -> AsyncIterator[Reservation]:
    yield reservation


async def _print_reservations(items: AsyncIterator[Reservation], *, table: bool) -> None:
    if table:
        print(_TABLE.format(**_HEADINGS))
    async for reservation in items:
        data = unstructure_reservation(reservation)
        if table:
            print(
                _TABLE.format(
                    sid=data["sid"] or "",
                    status=data["reservation_status"] or "",
                    worker=(data["worker_name"] or "")[:16],
                    worker_sid=data["worker_sid"] or "",
                    task_sid=data["task_sid"] or "",
                    updated=data["date_updated"] or "",
                )
            )
        else:
            print(json.dumps(data), flush=True)


# --- bulk-update -----------------------------------------------------------------------------


class _Bulk:
    """One bulk-update run: reads lines, feeds task and worker updates to two ``update_many`` runs, reports."""

    def __init__(self, client: AsyncTaskRouter, concurrency: int, progress: _Progress | None) -> None:
        self.client = client
        self.concurrency = concurrency
        self.progress = progress
        self.failed = 0
        #: Input line numbers of the items sent to each kind's run, by that run's item index.
        self.lines: dict[str, dict[int, int]] = {"task": {}, "worker": {}}

    async def run(self, lines: AsyncIterator[str]) -> None:
        task_send, task_receive = anyio.create_memory_object_stream[BulkUpdate[Any]](self.concurrency)
        worker_send, worker_receive = anyio.create_memory_object_stream[BulkUpdate[Any]](self.concurrency)
        async with anyio.create_task_group() as group:
            group.start_soon(self._drain, "task", task_receive)
            group.start_soon(self._drain, "worker", worker_receive)
            with task_send, worker_send:
                counts = {"task": 0, "worker": 0}
                number = 0
                async for text in lines:
                    number += 1
                    if not text.strip():
                        continue
                    try:
                        kind, item = _bulk_item(text)
                    except _UsageError as exc:
                        self.report(number, error={"message": str(exc)})
                        continue
                    self.lines[kind][counts[kind]] = number
                    counts[kind] += 1
                    await (task_send if kind == "task" else worker_send).send(item)

    async def _drain(self, kind: str, items: MemoryObjectReceiveStream[BulkUpdate[Any]]) -> None:
        resource: Any = self.client.task_reservations if kind == "task" else self.client.worker_reservations
        async with items, resource.update_many(items, concurrency=self.concurrency) as results:
            async for result in results:
                line = self.lines[kind].pop(result.index)
                if result.reservation is not None:
                    self.report(line, reservation=unstructure_reservation(result.reservation))
                else:
                    self.report(line, error=_error_json(result.error))

    def report(
        self, line: int, *, reservation: dict[str, Any] | None = None, error: dict[str, Any] | None = None
    ) -> None:
        ok = error is None
        self.failed += not ok
        record = {"line": line, "ok": ok, **({"reservation": reservation} if ok else {"error": error})}
        if self.progress is not None:
            self.progress.clear()
        print(json.dumps(record), flush=True)
        if self.progress is not None:
            self.progress.advance(ok)


def _bulk_item(text: str) -> tuple[str, BulkUpdate[Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _UsageError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _UsageError("expected a JSON object")
    if ("task_sid" in data) == ("worker_sid" in data):
        raise _UsageError("give exactly one of task_sid and worker_sid")
    kind = "task" if "task_sid" in data else "worker"
    params = data.get("params")
    if not isinstance(params, dict) or not params:
        raise _UsageError('"params" must be an object of update fields, e.g. {"ReservationStatus": "accepted"}')
    pairs = [
        (key, _form_text(v)) for key, value in params.items() for v in (value if isinstance(value, list) else [value])
    ]
    cls = TaskReservationUpdate if kind == "task" else WorkerReservationUpdate
    workspace_sid, parent_sid, reservation_sid = (
        _text(data, name) for name in ("workspace_sid", f"{kind}_sid", "reservation_sid")
    )
    etag = data.get("etag")
    if etag is not None and not isinstance(etag, str):
        raise _UsageError('"etag" must be a string or null')
    return kind, BulkUpdate(workspace_sid, parent_sid, reservation_sid, _params(pairs, cls), etag=etag)


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise _UsageError(f'"{name}" must be a string')
    return value


def _form_text(value: object) -> str:
    """A JSON value as the API's form text: booleans as true/false, numbers in decimal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error_json(error: TaskRouterError | None) -> dict[str, Any]:
    if isinstance(error, APIStatusError):
        return {"status": error.status_code, "code": error.code, "message": error.message, "more_info": error.more_info}
    return {"message": str(error)}


class _Progress:
    """A one-line progress bar on a terminal's stderr, redrawn after each result."""

    def __init__(self, stream: IO[str], total: int | None) -> None:
        self.stream = stream
        self.total = total
        self.done = self.failed = 0

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        if self.total:
            filled = 30 * self.done // self.total
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}"
        else:
            bar = f"{self.done} done"
        self.stream.write(f"\r{bar}, {self.failed} failed")
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\033[K")


async def _bulk_update(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise _UsageError("--concurrency must be at least 1")
    try:
        # Lines are read in worker threads, so a slow producer on a pipe does not hold up the updates.
        # Undecodable bytes become U+FFFD: that line then fails alone, as invalid JSON.
        if args.file == "-":
            source = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
        else:
            source = await anyio.open_file(args.file, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise _UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    progress = None
    if sys.stderr.isatty():
        total = None if args.file == "-" else await anyio.to_thread.run_sync(_count_lines, args.file)
        progress = _Progress(sys.stderr, total)
    async with source, _client(args) as client:
        bulk = _Bulk(client, args.concurrency, progress)
        await bulk.run(aiter(source))
    if progress is not None:
        progress.stream.write("\n")
    return 1 if bulk.failed else 0


def _count_lines(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as source:
        return sum(1 for line in source if line.strip())


# --- fake-server and demo --------------------------------------------------------------------


async def _fake_server(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise _UsageError("fake-server needs uvicorn: pip install 'taskrouter-async[fake]'") from None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", args.port))
    except OSError as exc:
        raise _UsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    listener.listen(128)
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    fake = sample_fake(base_url)
    first = fake.reservations[0]
    print(f"Fake TaskRouter on {base_url}", flush=True)
    print(f"  credentials: TWILIO_ACCOUNT_SID={fake.account_sid} TWILIO_AUTH_TOKEN={fake.auth_token}")
    print(f"  workspace {first.workspace_sid}, task {first.task_sid}, reservations:")
    for reservation in fake.reservations:
        print(f"    {reservation.sid} {reservation.worker_name} ({reservation.worker_sid}) {reservation.status.value}")
    print(
        f"  try: curl -u {fake.account_sid}:{fake.auth_token} "
        f"{base_url}/v1/Workspaces/{first.workspace_sid}/Tasks/{first.task_sid}/Reservations",
        flush=True,
    )
    server = uvicorn.Server(uvicorn.Config(fake, log_level="warning", lifespan="on"))
    await server.serve(sockets=[listener])
    return 0


async def _demo(args: argparse.Namespace) -> int:
    await run_demo(print)
    return 0
