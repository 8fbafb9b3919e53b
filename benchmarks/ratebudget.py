"""``RateLimit.auto()`` against a server that enforces 50 requests/s per endpoint: 4 processes, one Redis.

    python -m benchmarks.ratebudget [--seconds 20] [--limit 50] [--processes 4] [--outage 3]

Starts its own ``redis-server`` (127.0.0.1, a free port) and a local HTTP server (aiohttp, in a
process of its own) that plays TaskRouter's limits with ``taskrouter_async.testing.FakeRateLimits``:
each endpoint admits ``--limit`` requests in any one second and answers 429 (code 20429) beyond,
with ``X-Rate-Limit-*`` headers on every answer. Then, side by side in one run, ``--processes``
processes of 10 tasks each fetch reservations as fast as their budget lets them for ``--seconds``:

- ``none``: no ``rate_limit=`` (429s are retried, with backoff, up to 2 times: the client's default);
- ``static``: ``RateLimit(rate=50, storage_url=redis)``;
- ``auto``: ``RateLimit.auto(storage_url=redis)``, starting from no knowledge;
- ``static+outage`` and ``auto+outage``: the same, with Redis killed (SIGKILL) at mid-run and
  started again ``--outage`` seconds later (empty: nothing persisted).

Reported per run, from the server's log of every answer: the rate of requests admitted (200)
after convergence, the share of answers that were 429, the time until a one-second window first
held 95 % of the limit (convergence), the busiest one-second window of requests *sent* (arrivals,
whatever the answer) over the whole run, and for outage runs over the outage and the 5 s after
it; calls that failed (a 429 after the retries) and SIDs answered 200 twice (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKSPACE = "WS" + "b" * 32
TASK = "WT" + "c" * 32
ACCOUNT = "AC" + "a" * 32
ROOT = Path(__file__).resolve().parent.parent
MODES = ("none", "static", "auto", "static+outage", "auto+outage")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_port(port: int) -> None:
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


# --- the server: FakeRateLimits over aiohttp, logging every answer -----------------------------


def serve(port: int, limit: int, log_path: str) -> None:
    """Answer every reservation fetch within ``limit``/s per endpoint; log (arrival, status, sid) on SIGTERM."""
    from aiohttp import web

    from taskrouter_async.testing import FakeRateLimits

    limits = FakeRateLimits(default=limit)
    log: list[tuple[float, int, str]] = []

    async def fetch(request: web.Request) -> web.Response:
        arrived = time.time()
        admission = limits.admit(request.method, request.path, request.query)
        sid = request.path.rsplit("/", 1)[1]
        headers = dict(admission.headers)
        if admission.refusal is not None:
            status, code, message = admission.refusal
            log.append((arrived, status, sid))
            body = {"code": code, "message": message, "status": status}
            return web.json_response(body, status=status, headers=headers)
        log.append((arrived, 200, sid))
        body = {
            "account_sid": ACCOUNT,
            "date_created": "2014-05-14T10:50:02Z",
            "date_updated": "2014-05-15T16:03:42Z",
            "links": {},
            "reservation_status": "pending",
            "sid": sid,
            "task_sid": TASK,
            "url": "https://taskrouter.twilio.com/v1/x",
            "worker_name": "Doug",
            "worker_sid": "WK" + "d" * 32,
            "workspace_sid": WORKSPACE,
        }
        return web.json_response(body, headers=headers)

    def dump(*_: object) -> None:
        Path(log_path).write_text(json.dumps(log))
        raise web.GracefulExit

    signal.signal(signal.SIGTERM, dump)
    app = web.Application()
    app.router.add_get("/v1/Workspaces/{ws}/Tasks/{task}/Reservations/{sid}", fetch)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=False)


# --- one client process ------------------------------------------------------------------------


def child(base_url: str, mode: str, redis_url: str, seconds: float, index: int) -> None:
    """10 tasks fetching for ``seconds`` after a ``go`` line; prints the failures and stats as JSON."""
    import anyio

    from taskrouter_async import AsyncTaskRouter, RateLimit, TaskRouterError

    async def run() -> None:
        limit = None
        if mode.startswith("static"):
            limit = RateLimit(rate=50, storage_url=redis_url)
        elif mode.startswith("auto"):
            limit = RateLimit.auto(storage_url=redis_url)
        failures: list[str] = []
        slowest = 0.0
        async with AsyncTaskRouter(ACCOUNT, "token", base_url=base_url, rate_limit=limit) as client:
            print("ready", flush=True)
            await anyio.to_thread.run_sync(sys.stdin.readline)
            stop_at = time.monotonic() + seconds
            numbers = iter(range(10**9))

            async def worker() -> None:
                nonlocal slowest
                while time.monotonic() < stop_at:
                    sid = f"WR{index:08x}{next(numbers):024x}"
                    started = time.monotonic()
                    try:
                        await client.task_reservations.fetch(WORKSPACE, TASK, sid)
                    except TaskRouterError as exc:
                        failures.append(type(exc).__name__)
                    slowest = max(slowest, time.monotonic() - started)

            async with anyio.create_task_group() as tasks:
                for _ in range(10):
                    tasks.start_soon(worker)
            stats = client.rate_limit_stats
        print(
            json.dumps(
                {
                    "failures": failures,
                    "slowest": slowest,
                    "outages": stats.outages if stats else 0,
                    "budgets": [[b.endpoint, b.limit, round(b.rate, 2)] for b in stats.budgets] if stats else [],
                }
            ),
            flush=True,
        )

    anyio.run(run)


# --- the driver ----------------------------------------------------------------------------------


class Redis:
    def __init__(self, directory: str) -> None:
        self.executable = shutil.which("redis-server") or ""
        if not self.executable:
            raise SystemExit("redis-server is not installed: apt-get install redis-server")
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory]
        self.process = subprocess.Popen([*command, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        _wait_port(self.port)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _windows(times: list[float], width: float = 1.0) -> list[tuple[float, int]]:
    """For each time t, how many times lie in [t, t + width)."""
    ordered = sorted(times)
    result, end = [], 0
    for start, t in enumerate(ordered):
        while end < len(ordered) and ordered[end] < t + width:
            end += 1
        result.append((t, end - start))
    return result


def run_mode(mode: str, args: argparse.Namespace, directory: str) -> dict[str, object]:
    redis = Redis(directory)
    redis.start()
    port = _free_port()
    log_path = os.path.join(directory, f"{mode}.json")
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ratebudget", "serve", str(port), str(args.limit), log_path], cwd=ROOT
    )
    try:
        _wait_port(port)
        children = [
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "benchmarks.ratebudget", "child", f"http://127.0.0.1:{port}", mode),
                    *(redis.url, str(args.seconds), str(index)),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for index in range(args.processes)
        ]
        for process in children:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        began = time.time()
        for process in children:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outage: tuple[float, float] | None = None
        if mode.endswith("+outage"):
            time.sleep(args.seconds / 2)
            killed = time.time()
            redis.kill()
            time.sleep(args.outage)
            redis.start()
            outage = (killed, time.time())
        results = []
        for process in children:
            out, _ = process.communicate(timeout=args.seconds + 120)
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        redis.stop()
    log = [(t - began, status, sid) for t, status, sid in json.loads(Path(log_path).read_text())]
    return _figures(mode, log, results, args, None if outage is None else (outage[0] - began, outage[1] - began))


def _figures(
    mode: str,
    log: list[tuple[float, int, str]],
    results: list[dict[str, object]],
    args: argparse.Namespace,
    outage: tuple[float, float] | None,
) -> dict[str, object]:
    admitted = [t for t, status, _ in log if status == 200]
    refused = sum(1 for _, status, _ in log if status == 429)
    windows = _windows(admitted)
    converged = next((t + 1.0 for t, count in windows if count >= 0.95 * args.limit), None)
    steady_from = converged if converged is not None else 0.0
    steady = [t for t in admitted if steady_from <= t <= args.seconds]
    rate = len(steady) / max(1e-9, args.seconds - steady_from)
    sent = [t for t, _, _ in log]
    twice = len(admitted) - len({sid for _, status, sid in log if status == 200})
    figures: dict[str, object] = {
        "mode": mode,
        "answers": len(log),
        "admitted/s": round(rate, 1),
        "% of limit": round(100 * rate / args.limit, 1),
        "% 429": round(100 * refused / max(1, len(log)), 2),
        "converged s": None if converged is None else round(converged, 2),
        "busiest 1 s sent": max((count for _, count in _windows(sent)), default=0),
        "failed calls": sum(len(r["failures"]) for r in results),  # type: ignore[arg-type]
        "200 twice": twice,
        "slowest call s": round(max(float(r["slowest"]) for r in results), 2),  # type: ignore[arg-type]
    }
    if outage is not None:
        start, end = outage
        around = [t for t in sent if start - 1 <= t <= end + 5]
        figures["busiest 1 s sent, outage+5 s"] = max((count for _, count in _windows(around)), default=0)
        figures["outages seen"] = [r["outages"] for r in results]
        figures["sent per second from 2 s before"] = [
            sum(1 for t in sent if second <= t < second + 1) for second in range(int(start) - 2, int(end) + 6)
        ]
    figures["429 at s"] = [round(t, 2) for t, status, _ in log if status == 429][:30]
    if mode.startswith("auto"):
        figures["learned"] = results[0]["budgets"]
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--outage", type=float, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for mode in args.modes.split(","):
            print(json.dumps(run_mode(mode, args, directory)), flush=True)


if __name__ == "__main__":
    main()
