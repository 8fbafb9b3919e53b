"""``fake-server``: the fake TaskRouter over HTTP on 127.0.0.1, with sample data, optional seeded
reservations, random faults, and a ready-to-use ``bulk-update`` input file."""

from __future__ import annotations

import argparse
import functools
import json
import socket
from collections.abc import Awaitable, Callable

from .._demo import sample_fake
from .._enums import ReservationStatus
from ..testing import FakeTaskRouter
from ._inputs import CLIError, UsageError

__all__ = ["prepare_fake_server", "seed_reservations", "write_updates_file"]


def prepare_fake_server(args: argparse.Namespace) -> Callable[[], Awaitable[int]]:
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise CLIError("fake-server needs uvicorn: pip install 'taskrouter-async[fake]'") from None
    total = sum(rate for _, rate in args.fault)
    if total > 1 + 1e-9:
        raise UsageError(f"the --fault rates add up to {total:g}: at most 1 (every request)")
    return functools.partial(_serve, args)


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


async def _serve(args: argparse.Namespace) -> int:
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
    fake = sample_fake(base_url)
    samples = fake.reservations
    first = samples[0]
    seed_reservations(fake, args.seed, workers=args.workers)
    faults = _add_faults(fake, args)
    credentials = f"TWILIO_ACCOUNT_SID={fake.account_sid} TWILIO_AUTH_TOKEN={fake.auth_token}"
    print(f"Fake TaskRouter on {base_url}", flush=True)
    print(f"  credentials: {credentials}")
    print(f"  workspace {first.workspace_sid}, task {first.task_sid}, reservations:")
    for reservation in samples:
        print(f"    {reservation.sid} {reservation.worker_name} ({reservation.worker_sid}) {reservation.status.value}")
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
        print(
            f"  wrote {args.updates_file}: {count:,} updates that accept one pending reservation per task, with If-Match"
        )
        print(f"  run: {credentials} taskrouter-async bulk-update {args.updates_file} --base-url {base_url}")
    print(
        f"  try: curl -u {fake.account_sid}:{fake.auth_token} "
        f"{base_url}/v1/Workspaces/{first.workspace_sid}/Tasks/{first.task_sid}/Reservations",
        flush=True,
    )
    # A stalled request must not hold up Ctrl-C for long.
    config = uvicorn.Config(fake, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    await uvicorn.Server(config).serve(sockets=[listener])
    return 0
