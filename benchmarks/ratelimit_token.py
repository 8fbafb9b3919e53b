"""What one token costs when the budget does not bind: Redis commands, latency and CPU per ``acquire``.

    python -m benchmarks.ratelimit_token LABEL [memory]

500 tokens, one every 2 ms, from a budget of 100,000/s (never binding), after 50 to warm up;
against its own ``redis-server`` (127.0.0.1, a free port) unless ``memory``. Prints the Redis
round trips per token (EVALSHA calls, from ``INFO commandstats``), the median latency of
``acquire`` and the process's CPU per token. To compare two versions side by side, run it from
each checkout in turn, alternating, and quote the medians of the ratios (benchmarks/README.md).
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import anyio


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _measure(url: str | None, port: int) -> str:
    import redis

    from taskrouter_async import RateLimit
    from taskrouter_async._ratelimit import RateLimiter

    limiter = RateLimiter(RateLimit(rate=100_000, storage_url=url))
    key = "WS" + "b" * 32
    for _ in range(50):
        await limiter.acquire(key)
    client = redis.Redis(port=port)
    if url is not None:
        client.config_resetstat()
    latencies = []
    cpu = time.process_time()
    for _ in range(500):
        await anyio.sleep(0.002)
        started = time.perf_counter()
        await limiter.acquire(key)
        latencies.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu) / 500
    trips = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0) / 500 if url else 0.0
    await limiter.aclose()
    latency = statistics.median(latencies) * 1e6
    return f"round trips/token {trips:.2f}, median latency {latency:.0f} µs, CPU/token {cpu * 1e6:.0f} µs"


def main() -> None:
    label, memory = sys.argv[1], sys.argv[2:] == ["memory"]
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(port), "--dir", directory, "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            url = None if memory else f"redis://127.0.0.1:{port}/0"
            print(f"{label} ({'memory' if memory else 'Redis'}): {anyio.run(_measure, url, port)}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
