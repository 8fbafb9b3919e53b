"""``fake-server``: the TaskRouter emulator over HTTP on 127.0.0.1, with sample data or a workspace file,
callbacks to a local app, optional seeded reservations, random faults, a ready-to-use ``bulk-update``
input file, one log line per request, and the clock on the real time (``POST /_fake/advance`` moves it on)."""

from __future__ import annotations

import argparse
import functools
import json
import socket
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio

from .._demo import sample_fake
from .._enums import ReservationStatus
from .._errors import ValidationError
from ..testing import FakeTaskRouter
from ._inputs import CLIError, UsageError

__all__ = ["logged", "prepare_fake_server", "read_workspace_file", "seed_reservations", "write_updates_file"]

#: How often the server fires the timers that are due (reservation and workflow timeouts, task TTLs).
TICK_SECONDS = 1.0


def prepare_fake_server(args: argparse.Namespace) -> Callable[[], Awaitable[int]]:
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise CLIError("fake-server needs uvicorn: pip install 'taskrouter-async[fake]'") from None
    total = sum(rate for _, rate in args.fault)
    if total > 1 + 1e-9:
        raise UsageError(f"the --fault rates add up to {total:g}: at most 1 (every request)")
    workspace = None if args.workspace is None else read_workspace_file(args.workspace)
    return functools.partial(_serve, args, workspace)


def read_workspace_file(path: str) -> dict[str, Any]:
    """A workspace description from a ``.json`` file, or YAML (PyYAML, the ``fake`` extra) for any other name."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    if path.endswith(".json"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise CLIError(f"{path} is not valid JSON: {exc}") from None
    else:
        try:
            import yaml
        except ImportError:
            raise CLIError("a YAML workspace file needs PyYAML: pip install 'taskrouter-async[fake]'") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CLIError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise CLIError(f"{path} must describe one workspace (a mapping)")
    return loaded


Scope = MutableMapping[str, Any]


def logged(app: FakeTaskRouter, write: Callable[[str], object]) -> Callable[..., Awaitable[None]]:
    """The fake as an ASGI app that writes one line per HTTP request: method, path, status, milliseconds."""

    async def logging_app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def record_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, record_status)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            elapsed = (time.perf_counter() - started) * 1000
            write(f"{scope['method']} {target} {status or '-'} {elapsed:.1f} ms")

    return logging_app


def seed_reservations(fake: FakeTaskRouter, count: int, *, workers: int) -> None:
    """``count`` pending reservations in the fake's first workspace, one new task each, offered round-robin
    to ``workers`` new workers (Agent 1, Agent 2, ...)."""
    workspace = fake.add_workspace(fake.reservations[0].workspace_sid) if fake.reservations else fake.add_workspace()
    agents = [fake.add_worker(workspace, friendly_name=f"Agent {n + 1}") for n in range(min(workers, count))]
    for n in range(count):
        fake.add_reservation(workspace_sid=workspace, worker_sid=agents[n % len(agents)])


def write_updates_file(fake: FakeTaskRouter, path: str) -> int:
    """A ``bulk-update`` input that accepts each task's first pending reservation with If-Match (a task has one
    assignment: accepting one reservation rescinds the task's others); returns the line count."""
    lines = 0
    tasks: set[str] = set()
    with open(path, "w", encoding="utf-8") as out:
        for reservation in fake.reservations:
            if reservation.status is not ReservationStatus.PENDING or reservation.task_sid in tasks:
                continue
            tasks.add(reservation.task_sid)
            record = {
                "workspace_sid": reservation.workspace_sid,
                "task_sid": reservation.task_sid,
                "reservation_sid": reservation.sid,
                "params": {"ReservationStatus": "accepted"},
                "etag": reservation.etag,
            }
            out.write(json.dumps(record) + "\n")
            lines += 1
    return lines


def _add_faults(fake: FakeTaskRouter, args: argparse.Namespace) -> list[str]:
    """Configure the ``--fault`` options on the fake; returns how each is described."""
    described = []
    for kind, rate in args.fault:
        share = f"{rate * 100:g}%"
        if kind == "stall":
            fake.stall_randomly(rate, seconds=args.stall_seconds)
            described.append(f"{args.stall_seconds:g} s stalls on {share}")
        elif kind == "429":
            fake.fail_randomly(rate, status=429, retry_after=args.retry_after)
            described.append(f"429 (Retry-After {args.retry_after} s) on {share}")
        else:
            fake.fail_randomly(rate, status=int(kind))
            described.append(f"{kind} on {share}")
    return described


async def _serve(args: argparse.Namespace, workspace: dict[str, Any] | None) -> int:
    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", args.port))
    except OSError as exc:
        listener.close()
        raise CLIError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    listener.listen(1024)
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    if workspace is None:
        fake = sample_fake(base_url, seed=args.random_seed, history_limit=args.history)
    else:
        fake = FakeTaskRouter(base_url=base_url, seed=args.random_seed, history_limit=args.history)
    try:
        fake.set_callbacks(assignment_url=args.assignment_url, event_url=args.event_url)
        workspace_sid = None if workspace is None else fake.load_workspace(workspace)
    except ValidationError as exc:
        listener.close()
        raise CLIError(str(exc)) from None
    samples = fake.reservations if workspace is None else ()
    seed_reservations(fake, args.seed, workers=args.workers)
    faults = _add_faults(fake, args)
    credentials = f"TWILIO_ACCOUNT_SID={fake.account_sid} TWILIO_AUTH_TOKEN={fake.auth_token}"
    print(f"Fake TaskRouter on {base_url}", flush=True)
    print(f"  credentials: {credentials}")
    print(f"  TWILIO_TASKROUTER_BASE_URL={base_url}")
    if workspace_sid is not None:
        _describe_workspace(fake, workspace_sid, args.workspace)
    else:
        first = samples[0]
        print(f"  workspace {first.workspace_sid}, task {first.task_sid}, reservations:")
        for reservation in samples:
            print(
                f"    {reservation.sid} {reservation.worker_name} ({reservation.worker_sid}) {reservation.status.value}"
            )
    for kind, url in (("assignment", args.assignment_url), ("event", args.event_url)):
        if url:
            print(f"  {kind} callbacks: {url} (signed with the auth token)")
    if args.seed:
        workers = min(args.workers, args.seed)
        print(f"  seeded: {args.seed:,} more pending reservations, one task each, offered to {workers:,} workers")
    if faults:
        print(f"  faults: {'; '.join(faults)}")
    if args.updates_file:
        try:
            count = write_updates_file(fake, args.updates_file)
        except OSError as exc:
            raise CLIError(f"cannot write {args.updates_file}: {exc.strerror}") from None
        print(f"  wrote {args.updates_file}: {count:,} updates that accept one pending reservation per task,", end="")
        print(" with If-Match")
        print(f"  run: {credentials} taskrouter-async bulk-update {args.updates_file} --base-url {base_url}")
    print(f"  clock: real time; curl -u ... -d Seconds=60 {base_url}/_fake/advance moves it on")
    some_workspace = workspace_sid or samples[0].workspace_sid
    print(
        f"  try: curl -u {fake.account_sid}:{fake.auth_token} {base_url}/v1/Workspaces/{some_workspace}/Tasks",
        flush=True,
    )
    app = fake if args.quiet else logged(fake, lambda line: print(line, file=sys.stderr, flush=True))
    # A stalled request must not hold up Ctrl-C for long.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_tick, fake)
        await server.serve(sockets=[listener])
        tasks.cancel_scope.cancel()
    return 0


async def _tick(fake: FakeTaskRouter) -> None:
    """Fire the emulator's timers on the real clock."""
    while True:
        await anyio.sleep(TICK_SECONDS)
        await fake.tick()


def _describe_workspace(fake: FakeTaskRouter, workspace_sid: str, path: str) -> None:
    print(f"  workspace {workspace_sid} from {path}:")
    for line in fake.describe(workspace_sid):
        print(f"    {line}")
