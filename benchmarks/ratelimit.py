"""What ``rate_limit=`` costs, and how close it gets to its budget; prints a Markdown report.

    python -m benchmarks.ratelimit [--n 2000] [--repeats 3] [--seconds 5] [--redis-url redis://...]

Starts its own ``redis-server`` on 127.0.0.1 (a free port, a temporary directory) unless given a
URL; needs ``pip install -e '.[redis]'`` and ``redis-server`` on PATH (Debian: ``apt-get install
redis-server``). No network beyond 127.0.0.1: requests go to an in-process httpx transport that
answers at once, so the figures are the client's own work.

1. Overhead per request when the budget is not binding: ``N`` fetches offered at 500/s under a
   budget of 1,000/s, with no limit, the in-process budget and the Redis budget, on asyncio and
   trio: the median latency of a call and the CPU time per call (``process_time``: every thread,
   so Redis's worker threads count too). The three run one after
   another in a rotating order, ``--repeats`` times; medians of the runs are shown.
2. Achieved rate when the budget is binding: 10 tasks per process fetching for ``--seconds`` under
   a budget of 50/s, 1 process (memory and Redis) and 4 processes (Redis), each process in its own
   interpreter; the rate over the run and the busiest one-second window of send times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

import anyio
import httpx

WORKSPACE = "WS" + "b" * 32
TASK = "WT" + "c" * 32
_BODY = json.dumps(
    {
        "account_sid": "AC" + "a" * 32,
        "date_created": "2014-05-14T10:50:02Z",
        "date_updated": "2014-05-15T16:03:42Z",
        "links": {},
        "reservation_status": "pending",
        "sid": "WR" + "e" * 32,
        "task_sid": TASK,
        "url": "https://taskrouter.twilio.com/v1/x",
        "worker_name": "Doug",
        "worker_sid": "WK" + "d" * 32,
        "workspace_sid": WORKSPACE,
    }
).encode()
#: "Not binding": requests offered at OFFERED per second under a budget of BUDGET per second.
OFFERED, BUDGET = 500, 1_000


def _transport(sent: list[float]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(time.time())
        return httpx.Response(200, content=_BODY, headers={"content-type": "application/json"})

    return httpx.MockTransport(answer)


def _sid(owner: int, number: int) -> str:
    return f"WR{owner:08x}{number:024x}"


async def _paced(n: int, storage: str | None) -> tuple[float, float]:
    """Median latency and CPU seconds per fetch over ``n`` fetches offered at OFFERED/s (after 100 to warm up)."""
    from taskrouter_async import AsyncTaskRouter, RateLimit

    limit = None if storage is None else RateLimit(rate=BUDGET, storage_url=storage or None)
    sent: list[float] = []
    async with AsyncTaskRouter(
        "AC" + "a" * 32, "token", base_url="http://127.0.0.1:1", transport=_transport(sent), rate_limit=limit
    ) as client:
        latencies: list[float] = []
        cpu_started = 0.0
        started = time.perf_counter()
        for i in range(-100, n):
            if i == 0:
                cpu_started = time.process_time()
            await anyio.sleep(max(0.0, started + (i + 100) / OFFERED - time.perf_counter()))
            called = time.perf_counter()
            await client.task_reservations.fetch(WORKSPACE, TASK, _sid(0, i + 100))
            if i >= 0:
                latencies.append(time.perf_counter() - called)
        return statistics.median(latencies), (time.process_time() - cpu_started) / n


async def _binding(storage: str, rate: int, seconds: float, owner: int, go_at: float) -> dict[str, object]:
    """Fetch with 10 tasks for ``seconds`` from ``go_at`` (wall clock); return send times and the limiter's stats."""
    from taskrouter_async import AsyncTaskRouter, RateLimit

    sent: list[float] = []
    limit = RateLimit(rate=rate, storage_url=storage or None)
    async with AsyncTaskRouter(
        "AC" + "a" * 32, "token", base_url="http://127.0.0.1:1", transport=_transport(sent), rate_limit=limit
    ) as client:
        await anyio.sleep(max(0.0, go_at - time.time()))
        stop = time.monotonic() + seconds
        numbers = iter(range(10**9))

        async def worker() -> None:
            while time.monotonic() < stop:
                await client.task_reservations.fetch(WORKSPACE, TASK, _sid(owner, next(numbers)))

        async with anyio.create_task_group() as tasks:
            for _ in range(10):
                tasks.start_soon(worker)
        stats = client.rate_limit_stats
    assert stats is not None
    return {"sent": sent, "outages": stats.outages}


def _busiest(times: list[float]) -> int:
    ordered, best, end = sorted(times), 0, 0
    for start, t in enumerate(ordered):
        while end < len(ordered) and ordered[end] < t + 1.0:
            end += 1
        best = max(best, end - start)
    return best


def _binding_run(storage: str, processes: int, rate: int, seconds: float) -> dict[str, float]:
    go_at = time.time() + 3.0 + processes  # every interpreter imported and waiting by then
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.ratelimit",
                "--child",
                storage,
                str(rate),
                str(seconds),
                str(owner),
                str(go_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for owner in range(processes)
    ]
    results = [json.loads(child.communicate()[0]) for child in children]
    if any(child.returncode for child in children) or any(r["outages"] for r in results):
        raise RuntimeError("a benchmark child failed or lost its storage")
    times = sorted(t for r in results for t in r["sent"])
    counts = [len(r["sent"]) for r in results]
    # Steady state: from the first send to the last, the rate the budget actually allowed.
    achieved = (len(times) - 1) / (times[-1] - times[0])
    return {
        "achieved": achieved,
        "busiest": _busiest(times),
        "min_share": min(counts) / (len(times) / processes),
        "max_share": max(counts) / (len(times) / processes),
    }


@contextmanager
def _redis_server() -> Iterator[str]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed: apt-get install redis-server, or pass --redis-url")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", ""]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            for _ in range(500):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def _overheads(n: int, repeats: int, redis_url: str, backend: str) -> list[tuple[float, float]]:
    """(median latency µs, CPU µs per request) with no limit, the in-process budget and the Redis budget."""
    storages: list[str | None] = [None, "", redis_url]
    measured: dict[str | None, list[tuple[float, float]]] = {storage: [] for storage in storages}
    for repeat in range(repeats):
        for storage in storages[repeat % 3 :] + storages[: repeat % 3]:
            measured[storage].append(anyio.run(_paced, n, storage, backend=backend))
    return [
        (statistics.median(r[0] for r in measured[s]) * 1e6, statistics.median(r[1] for r in measured[s]) * 1e6)
        for s in storages
    ]


def _version() -> str:
    from taskrouter_async import __version__

    return __version__


def _report(n: int, repeats: int, seconds: float, redis_url: str) -> str:
    lines = [
        f"Command: `python -m benchmarks.ratelimit --n {n} --repeats {repeats} --seconds {seconds:g}`.",
        "",
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}, "
        f"{len(os.sched_getaffinity(0))} cores (shared with other work while measured); "
        f"taskrouter-async {_version()}, "
        f"redis-py {metadata.version('redis')}, {_redis_version()}.",
        "",
        "### Overhead per request, budget not binding",
        "",
        f"{n:,} fetches offered at {OFFERED}/s through an in-process transport, budget {BUDGET:,}/s; "
        f"medians of {repeats} runs. Latency is one call's, CPU is per call; (+x) is the limiter's part.",
        "",
        "| backend | budget | latency µs (+limiter) | CPU µs per request (+limiter) |",
        "|---|---|---:|---:|",
    ]
    for backend in ("asyncio", "trio"):
        (base_latency, base_cpu), *limited = _overheads(n, repeats, redis_url, backend)
        lines.append(f"| {backend} | none | {base_latency:.0f} | {base_cpu:.0f} |")
        for label, (latency, cpu) in zip(("in-process", "Redis"), limited, strict=True):
            lines.append(
                f"| {backend} | {label} | {latency:.0f} ({latency - base_latency:+.0f}) "
                f"| {cpu:.0f} ({cpu - base_cpu:+.0f}) |"
            )
    lines += [
        "",
        "### Achieved rate, budget binding (50 requests/s)",
        "",
        f"10 tasks per process, {seconds:g} s; rate from the first send to the last; busiest one-second "
        "window of send times; each process's count as a share of an equal split.",
        "",
        "| processes | storage | achieved /s | busiest 1 s window | shares (min-max) |",
        "|---:|---|---:|---:|---:|",
    ]
    for processes, storage, label in ((1, "", "memory"), (1, redis_url, "Redis"), (4, redis_url, "Redis")):
        run = _binding_run(storage, processes, 50, seconds)
        lines.append(
            f"| {processes} | {label} | {run['achieved']:.1f} | {run['busiest']:.0f} "
            f"| {run['min_share']:.2f}-{run['max_share']:.2f} |"
        )
    return "\n".join(lines)


def _redis_version() -> str:
    done = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.split(" sha=")[0].strip() or "redis-server (version unknown)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="fetches per overhead run (at 500/s)")
    parser.add_argument("--repeats", type=int, default=3, help="overhead runs per configuration")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each binding run")
    parser.add_argument("--redis-url", help="an existing Redis (default: start one on 127.0.0.1)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        storage, rate, seconds, owner, go_at = args.child
        result = anyio.run(_binding, storage, int(rate), float(seconds), int(owner), float(go_at))
        print(json.dumps(result))
        return
    if args.redis_url:
        print(_report(args.n, args.repeats, args.seconds, args.redis_url))
        return
    with _redis_server() as url:
        print(_report(args.n, args.repeats, args.seconds, url))


if __name__ == "__main__":
    main()
