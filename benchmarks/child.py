"""One measured run in a fresh process: ``python child.py CLIENT BASE_URL N CONCURRENCY``; prints JSON.

A process per run keeps CPU time and peak RSS attributable to one client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import sys
import time

from clients import BULK, CLIENTS

WARMUP = 200


async def _workers(name: str, base: str, n: int, concurrency: int, offset: int) -> list[float]:
    latencies: list[float] = []
    async with CLIENTS[name](base, concurrency) as update:
        counter = itertools.count()

        async def worker() -> None:
            while (i := next(counter)) < n:
                t0 = time.perf_counter()
                await update(offset + i)
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def _bulk(name: str, base: str, n: int, concurrency: int, offset: int) -> list[float]:
    starts: dict[int, float] = {}
    latencies: list[float] = []

    def started(i: int) -> None:
        starts[i] = time.perf_counter()

    def finished(i: int) -> None:
        latencies.append(time.perf_counter() - starts.pop(i))

    await BULK[name](base, n, concurrency, started, finished)
    return latencies


async def main(name: str, base: str, n: int, concurrency: int) -> dict[str, object]:
    run = _bulk if name in BULK else _workers
    await run(name, base, min(WARMUP, n), concurrency, 0)  # imports, connections, caches
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, wall0 = time.process_time(), time.perf_counter()
    latencies = await run(name, base, n, concurrency, WARMUP)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    latencies.sort()
    assert len(latencies) == n, (len(latencies), n)
    return {
        "client": name,
        "concurrency": concurrency,
        "n": n,
        "updates_per_s": n / wall,
        "cpu_ms_per_update": 1000 * cpu / n,
        "p50_ms": 1000 * latencies[n // 2],
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mib": rss_before / 1024,
    }


if __name__ == "__main__":
    client, base_url, count, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(main(client, base_url, count, conc))))
