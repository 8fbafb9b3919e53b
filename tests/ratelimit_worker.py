"""One process of the shared-budget tests: fetch reservations as fast as a shared ``RateLimit`` lets it.

    python -m tests.ratelimit_worker BASE_URL STORAGE_URL BACKEND ENGINE RATE FALLBACK_RATE SECONDS CONCURRENCY INDEX

FALLBACK_RATE 0 means the default: the process's share of the budget.

Prints ``ready`` once the client is built, waits for a ``go`` line on stdin (so that every
process starts together), then runs CONCURRENCY tasks that each fetch a reservation with a
SID of their own until SECONDS have passed; calls started by then run to the end. Prints one
JSON line: the SIDs fetched, the failures, and the limiter's stats. ENGINE is the client's
``engine=`` (``httpx``, or ``aiohttp`` on asyncio only).
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from taskrouter_async import AsyncTaskRouter, RateLimit, TaskRouterError
from taskrouter_async._engines import ENGINES, EngineName

from .sids import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKSPACE_SID


async def run(
    base_url: str,
    storage_url: str,
    engine: EngineName,
    rate: int,
    fallback: int,
    seconds: float,
    concurrency: int,
    index: int,
) -> None:
    limit = RateLimit(rate=rate, per=1, storage_url=storage_url, fallback_rate=fallback or None)
    fetched: list[str] = []
    failures: list[str] = []
    async with AsyncTaskRouter(
        ACCOUNT_SID,
        AUTH_TOKEN,
        base_url=base_url,
        rate_limit=limit,
        engine=engine,
    ) as client:
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        stop_at = time.monotonic() + seconds
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.monotonic() < stop_at:
                sid = f"WR{index:08x}{next(counter):024x}"
                try:
                    await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, sid)
                except TaskRouterError as exc:
                    failures.append(f"{sid}: {exc!r}")
                else:
                    fetched.append(sid)

        async with anyio.create_task_group() as tasks:
            for _ in range(concurrency):
                tasks.start_soon(worker)
        stats = client.rate_limit_stats
    assert stats is not None
    result = {
        "fetched": fetched,
        "failures": failures,
        "waited": stats.waited,
        "wait_seconds": stats.wait_seconds,
        "outages": stats.outages,
    }
    print(json.dumps(result), flush=True)


def main() -> None:
    base_url, storage_url, backend, engine, rate, fallback, seconds, concurrency, index = sys.argv[1:]
    engine_name = next(name for name in ENGINES if name == engine)
    arguments = (
        base_url,
        storage_url,
        engine_name,
        int(rate),
        int(fallback),
        float(seconds),
        int(concurrency),
        int(index),
    )
    anyio.run(run, *arguments, backend=backend)


if __name__ == "__main__":
    main()
