"""Exit check for the pyreqwest engine: a short script and the CLI, run many times, must never abort.

pyreqwest's runtime thread can re-enter Python while the interpreter shuts down (SIGABRT, exit
134); ``PyreqwestEngine.aclose`` prevents it (see ``_let_the_runtime_settle``). This driver proves
it the only way such a race can be: it serves a reservation on 127.0.0.1, then runs a short script
(``--runs`` times) and ``python -m taskrouter_async reservations fetch`` (``--runs`` times), each in
a fresh interpreter, and counts exit codes. Run by ``nox -s exitcheck`` (``-- --runs 500``).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time

from .loopback import LoopbackServer, json_handler
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

RESERVATION = {
    "account_sid": ACCOUNT_SID,
    "date_created": "2014-05-14T10:50:02Z",
    "date_updated": "2014-05-15T16:03:42Z",
    "reservation_status": "accepted",
    "sid": RESERVATION_SID,
    "task_sid": TASK_SID,
    "worker_sid": "WK" + "d" * 32,
    "workspace_sid": WORKSPACE_SID,
}

#: The short script: one client, twenty concurrent calls, then the interpreter exits as usual.
SCRIPT = f"""
import asyncio, sys
from taskrouter_async import AsyncTaskRouter, TaskReservationUpdate

async def main() -> None:
    async with AsyncTaskRouter({ACCOUNT_SID!r}, {AUTH_TOKEN!r}, base_url=sys.argv[1], engine="pyreqwest") as client:
        accept = TaskReservationUpdate(reservation_status="accepted")
        calls = [client.task_reservations.update({WORKSPACE_SID!r}, {TASK_SID!r}, {RESERVATION_SID!r}, accept)]
        calls += [client.task_reservations.fetch({WORKSPACE_SID!r}, {TASK_SID!r}, {RESERVATION_SID!r})] * 19
        await asyncio.gather(*calls)

asyncio.run(main())
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="runs of the script, and as many of the CLI")
    args = parser.parse_args()
    env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    failures = 0
    with LoopbackServer(json_handler(200, RESERVATION), lifetime=24 * 3600) as server:
        commands = {
            "script": [sys.executable, "-c", SCRIPT, server.url],
            "cli": [
                sys.executable, "-m", "taskrouter_async", "reservations", "fetch", "--engine", "pyreqwest",
                "--base-url", server.url, "--workspace", WORKSPACE_SID, "--task", TASK_SID, RESERVATION_SID,
            ],
        }  # fmt: skip
        for name, command in commands.items():
            codes: collections.Counter[int] = collections.Counter()
            started = time.monotonic()
            for _ in range(args.runs):
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
                codes[done.returncode] += 1
                if done.returncode != 0 and codes[done.returncode] == 1:
                    print(f"{name}: exit {done.returncode}:\n{done.stderr[-2000:]}", file=sys.stderr)
            aborts = codes[-6] + codes[134]
            failures += args.runs - codes[0]
            print(
                f"{name}: {args.runs} runs, {codes[0]} clean, {aborts} aborts (SIGABRT), "
                f"exit codes {dict(sorted(codes.items()))}, {time.monotonic() - started:.0f}s"
            )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
