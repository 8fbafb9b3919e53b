"""One measured run in a fresh process, so CPU time and peak RSS belong to one client; prints JSON.

``python -m benchmarks.child '{"kind": "update", "client": ..., "loop": "asyncio", "base_url": ...,
"etag": ..., "n": 10000, "concurrency": 10}'``; kind ``fetch`` takes ``n``, kind ``walk`` ``page_size``.

Warm-up updates and fetches name reservation SIDs the measured ones never use, and no SID is
used twice in a run, so no URL cache (yarl's LRU cache holds 128) hides the cost of building and
parsing each request's URL.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from .clients import READERS, UPDATES, Target, Timer

WARMUP_UPDATES = 200
WARMUP_FETCHES = 100


def _rss_mib() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss, not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _timed(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) spent on ``work``."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await work()
    return time.perf_counter() - wall0, time.process_time() - cpu0


async def update(spec: dict[str, Any]) -> dict[str, float]:
    client, target, n, concurrency = UPDATES[spec["client"]], _target(spec), spec["n"], spec["concurrency"]
    await client.run(target, range(WARMUP_UPDATES), concurrency, Timer())  # imports, caches, the loop
    timer = Timer()
    ids = range(WARMUP_UPDATES, WARMUP_UPDATES + n)
    wall, cpu = await _timed(lambda: client.run(target, ids, concurrency, timer))
    latencies = sorted(timer.latencies)
    assert len(latencies) == n, (len(latencies), n)
    return {
        "updates_per_s": n / wall,
        "cpu_ms_per_update": 1000 * cpu / n,
        "p50_ms": 1000 * latencies[n // 2],
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
        "peak_rss_mib": _rss_mib(),
    }


async def fetch(spec: dict[str, Any]) -> dict[str, float]:
    reader, target, n = READERS[spec["client"]], _target(spec), spec["n"]
    await reader.fetch(target, range(WARMUP_FETCHES))
    wall, cpu = await _timed(lambda: reader.fetch(target, range(WARMUP_FETCHES, WARMUP_FETCHES + n)))
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": _rss_mib()}


async def walk(spec: dict[str, Any]) -> dict[str, float]:
    # Imports are not part of the walk's memory.
    import aiohttp  # noqa: F401
    import twilio.http.async_http_client
    import twilio.rest  # noqa: F401

    import taskrouter_async  # noqa: F401

    reader, target = READERS[spec["client"]], _target(spec)
    before = _rss_mib()
    counted: list[int] = []
    wall, cpu = await _timed(lambda: _count(reader.walk(target, spec["page_size"]), counted))
    return {
        "count": counted[0],
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_growth_mib": _rss_mib() - before,
        "peak_rss_mib": _rss_mib(),
    }


async def _count(walking: Awaitable[int], into: list[int]) -> None:
    into.append(await walking)


def _target(spec: dict[str, Any]) -> Target:
    return Target(base_url=spec["base_url"], etag=spec["etag"])


def run_on(loop: str, coroutine: Coroutine[Any, Any, dict[str, float]]) -> dict[str, float]:
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def main(spec: dict[str, Any]) -> dict[str, float]:
    kinds = {"update": update, "fetch": fetch, "walk": walk}
    return run_on(spec["loop"], kinds[spec["kind"]](spec))


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
