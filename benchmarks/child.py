"""One measured run in a fresh process, so CPU time and peak RSS belong to one client; prints JSON.

``python -m benchmarks.child update CLIENT BASE_URL N CONCURRENCY`` or
``python -m benchmarks.child walk CLIENT BASE_URL PAGE_SIZE``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import sys
import time
from pathlib import Path

from .clients import BULK, WALKS, WORKERS

WARMUP = 200


def _rss_mib() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss, not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _workers(name: str, base: str, n: int, concurrency: int, offset: int) -> list[float]:
    latencies: list[float] = []
    async with WORKERS[name](base, concurrency) as update:
        counter = itertools.count()

        async def worker() -> None:
            while (i := next(counter)) < n:
                t0 = time.perf_counter()
                await update(offset + i)
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def _bulk(name: str, base: str, n: int, concurrency: int, offset: int) -> list[float]:
    """Latency of an item: from the moment update_many reads it to the moment its result is handed out."""
    starts: dict[int, float] = {}
    latencies: list[float] = []

    def started(i: int) -> None:
        starts[i] = time.perf_counter()

    def finished(i: int) -> None:
        latencies.append(time.perf_counter() - starts.pop(i))

    await BULK[name](base, n, concurrency, started, finished)
    return latencies


async def update(name: str, base: str, n: int, concurrency: int) -> dict[str, object]:
    run = _bulk if name in BULK else _workers
    await run(name, base, WARMUP, concurrency, 0)  # imports, connections, caches
    cpu0, wall0 = time.process_time(), time.perf_counter()
    latencies = await run(name, base, n, concurrency, WARMUP)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert len(latencies) == n, (len(latencies), n)
    latencies.sort()
    return {
        "updates_per_s": n / wall,
        "cpu_ms_per_update": 1000 * cpu / n,
        "p50_ms": 1000 * latencies[n // 2],
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
        "peak_rss_mib": _rss_mib(),
    }


async def walk(name: str, base: str, page_size: int) -> dict[str, object]:
    before = _rss_mib()
    wall0 = time.perf_counter()
    count = await WALKS[name](base, page_size)
    wall = time.perf_counter() - wall0
    return {"count": count, "wall_s": wall, "peak_rss_growth_mib": _rss_mib() - before, "peak_rss_mib": _rss_mib()}


def main(argv: list[str]) -> dict[str, object]:
    kind, name, base = argv[0], argv[1], argv[2]
    if kind == "update":
        return asyncio.run(update(name, base, int(argv[3]), int(argv[4])))
    import twilio.rest  # noqa: F401

    import taskrouter_async  # noqa: F401  (imports are not part of the walk's memory)

    return asyncio.run(walk(name, base, int(argv[3])))


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
