"""Fault injection: thousands of updates against a server that fails at random, counting applications.

The server applies an update with If-Match only when the ETag is the reservation's current
version (and bumps it), and counts how often each reservation's update was applied. It answers
at random with 429 + Retry-After, 500, 503, connection resets and stalls past the client's timeout,
some before applying the update and some after. The claims checked:

- every update ends in exactly one outcome: applied and returned, or a typed error the caller gets;
- no update without etag is applied twice (5xx and read failures after sending are not retried);
- no update with etag is applied twice (retries are safe: a repeat meets a 412);
- an update the caller saw succeed was applied exactly once.

``TASKROUTER_SOAK_UPDATES`` (default 2,000; ``nox -s soak``: 20,000) sets the count. Run with
``-s`` to see the counts.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from email.utils import formatdate

import anyio
import httpx
import pytest

from taskrouter_async import AsyncTaskRouter, TaskReservationUpdate, TaskRouterError, _retry

from .helpers import reservation_json
from .loopback import Conn, LoopbackServer, Request
from .sids import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKSPACE_SID

pytestmark = [pytest.mark.anyio, pytest.mark.soak, pytest.mark.usefixtures("engine")]

UPDATES = int(os.environ.get("TASKROUTER_SOAK_UPDATES", "2000"))
CONCURRENCY = 50
#: A read timeout of 0.3 s; the server's stalls last 1 s (or until the client gives up).
TIMEOUT = httpx.Timeout(0.3, connect=1.0, pool=1.0)
STALL = 1.0
TOO_MANY = json.dumps({"code": 20429, "message": "Too many requests"})

# (fault, probability); what is left is a clean success.
FAULTS = [
    ("429", 0.10),
    ("429 over the cap", 0.002),
    ("500 before applying", 0.04),
    ("503 before applying", 0.04),
    ("reset before applying", 0.03),
    ("stall before applying", 0.01),
    ("500 after applying", 0.03),
    ("503 after applying", 0.02),
    ("reset after applying", 0.03),
    ("stall after applying", 0.01),
]


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.01)


def reservation_sid(n: int) -> str:
    return f"WR{n:032x}"


class FaultyTaskRouter:
    """The update endpoint of a TaskRouter that fails at random; runs in the server's thread."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.version: Counter[str] = Counter()
        self.applied: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def pick_fault(self) -> str:
        roll = self.rng.random()
        for fault, probability in FAULTS:
            if roll < probability:
                return fault
            roll -= probability
        return "none"

    async def __call__(self, request: Request, conn: Conn) -> None:
        sid = request.path.rsplit("/", 1)[-1]
        fault = self.pick_fault()
        self.faults[fault] += 1
        if fault == "429":
            retry_after = "0" if self.rng.random() < 0.8 else formatdate(time.time() - 5, usegmt=True)
            await conn.respond(429, TOO_MANY, headers=[("Retry-After", retry_after)])
            return
        if fault == "429 over the cap":
            await conn.respond(429, TOO_MANY, headers=[("Retry-After", "3600")])
            return
        if fault.endswith("before applying"):
            await self.fail(fault, conn)
            return
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match != f'"{self.version[sid]}"':
            await conn.respond(412, json.dumps({"code": 20412, "message": "Precondition failed"}))
            return
        self.version[sid] += 1
        self.applied[sid] += 1
        if fault.endswith("after applying"):
            await self.fail(fault, conn)
            return
        body = reservation_json(sid, status="accepted")
        await conn.respond(200, json.dumps(body), headers=[("ETag", f'"{self.version[sid]}"')])

    async def fail(self, fault: str, conn: Conn) -> None:
        if fault.startswith("reset"):
            conn.reset()
        elif fault.startswith("stall"):
            await conn.stall(STALL)
            conn.close()
        else:
            status = int(fault[:3])
            await conn.respond(status, "<html><body>Service trouble</body></html>", content_type="text/html")


async def test_fault_injection_applies_every_update_at_most_once(anyio_backend: str) -> None:
    server_app = FaultyTaskRouter(seed=20_260_101)
    outcomes: dict[int, str] = {}
    accept = TaskReservationUpdate(reservation_status="accepted")
    ops = iter(range(UPDATES))
    started = time.monotonic()

    async def worker(client: AsyncTaskRouter) -> None:
        for n in ops:
            sid = reservation_sid(n)
            etag = '"0"' if n % 2 else None  # odd: the caller read version 0 first
            try:
                reservation = await client.task_reservations.update(WORKSPACE_SID, TASK_SID, sid, accept, etag=etag)
            except TaskRouterError as exc:
                outcome = type(exc).__name__
            else:
                assert reservation.sid == sid
                outcome = "ok"
            assert n not in outcomes, "one outcome per update"
            outcomes[n] = outcome

    with LoopbackServer(server_app, lifetime=900) as server:
        async with AsyncTaskRouter(
            ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, timeout=TIMEOUT, max_retries=3, max_retry_after=10
        ) as client:
            with anyio.fail_after(max(120, UPDATES / 20)):
                async with anyio.create_task_group() as tg:
                    for _ in range(CONCURRENCY):
                        tg.start_soon(worker, client)
        requests = len(server.requests)
        assert await server.wait_open(0) == 0

    applied = server_app.applied
    assert sorted(outcomes) == list(range(UPDATES)), "every update has exactly one outcome"
    for with_etag in (False, True):
        sids = [reservation_sid(n) for n in range(UPDATES) if n % 2 == with_etag]
        assert max(applied[s] for s in sids) <= 1, f"applied twice (with etag: {with_etag})"
    ok = [n for n, outcome in outcomes.items() if outcome == "ok"]
    assert all(applied[reservation_sid(n)] == 1 for n in ok), "a returned update was applied once"

    errors_applied = sum(1 for n, o in outcomes.items() if o != "ok" and applied[reservation_sid(n)] == 1)
    by_kind = {
        kind: Counter(outcomes[n] for n in range(UPDATES) if n % 2 == (kind == "with etag"))
        for kind in ("without etag", "with etag")
    }
    print(
        f"\nfault injection on {anyio_backend}: {UPDATES} updates, concurrency {CONCURRENCY}, "
        f"{requests} requests, {time.monotonic() - started:.1f} s"
    )
    print("  server faults:", dict(server_app.faults.most_common()))
    for kind, counts in by_kind.items():
        print(f"  outcomes {kind}:", dict(counts.most_common()))
    print(
        f"  applied once: {sum(1 for v in applied.values() if v == 1)}, "
        f"twice or more: {sum(1 for v in applied.values() if v > 1)}, "
        f"never: {UPDATES - len(applied)}"
    )
    print(f"  returned ok (applied once): {len(ok)}; error but applied (the caller must re-check): {errors_applied}")
    assert len(ok) > UPDATES / 2
    assert requests > UPDATES, "failures before applying were retried"
