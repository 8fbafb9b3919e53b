"""TaskRouter's rate limits, played by the fake: per-endpoint budgets with ``X-Rate-Limit-*`` headers, and the
account's concurrency cap with ``Twilio-Concurrent-Requests`` and 20429.

``FakeRateLimits`` is independent of the fake's API: it names a request's endpoint, decides
whether to admit it and says which headers go on the answer. ``FakeTaskRouter(rate_limits=...)``
uses it around every request; any other server can too (the benchmarks do).

What it plays, and how sure that is (see ``taskrouter_async/_ratelimit_auto.py`` for sources):
each (workspace, endpoint key) may start ``limit`` requests in any one second (a moving window);
beyond, 429 with code 20429 and ``X-Rate-Limit-Remaining: 0``. Every answer carries the three
``X-Rate-Limit-*`` headers and ``Twilio-Concurrent-Requests`` (requests in flight on the account,
this one included). Past ``concurrency``, 429 with code 20429. The endpoint keys follow the
public examples' shape (``Task-List-EvaluateTaskAttributes``, ``TaskQueueStatistics-List``): the
resource, then ``List``, ``Fetch``, ``Create``, ``Update`` or ``Delete``, then an expression filter's name.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import anyio
import attrs

__all__ = ["PUBLIC_LIMITS", "Admission", "FakeRateLimits", "endpoint_key"]

#: The per-second limits Twilio has published (changelog, 2024-10-18); the rest live on the Console's Limits page.
PUBLIC_LIMITS: Mapping[str, int] = {
    "Task-List-EvaluateTaskAttributes": 3,
    "Worker-List-TargetWorkersExpression": 3,
    "TaskQueue-List-EvaluateWorkerAttributes": 3,
}
#: Query names that make a list an endpoint of its own.
_EXPRESSIONS = ("EvaluateTaskAttributes", "TargetWorkersExpression", "EvaluateWorkerAttributes")
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
_ACTIONS = {"GET": "Fetch", "POST": "Update", "DELETE": "Delete"}


def endpoint_key(method: str, path: str, query: Mapping[str, str]) -> tuple[str, str]:
    """``(workspace SID, endpoint key)`` of a request.

    ``GET /v1/Workspaces/WS…/Tasks/WT…/Reservations/WR…`` is ``TaskReservation-Fetch``;
    ``GET /v1/Workspaces/WS…/Tasks?EvaluateTaskAttributes=…`` is ``Task-List-EvaluateTaskAttributes``.
    """
    segments = [s for s in path.split("/") if s]
    if segments and segments[0] == "v1":
        segments = segments[1:]
    workspace = segments[1] if len(segments) > 1 and segments[0] == "Workspaces" else ""
    names = [s for s in segments[2:] if not _SID.fullmatch(s)] or ["Workspace"]
    resource = "".join(_singular(name) for name in names[-2:])
    listed = not _SID.fullmatch(segments[-1]) if segments else True
    action = ("Create" if method == "POST" else "List") if listed else _ACTIONS.get(method, method.title())
    key = f"{resource}-{action}"
    for expression in _EXPRESSIONS:
        if expression in query:
            key += f"-{expression}"
    return workspace, key


def _singular(name: str) -> str:
    if name == "Statistics":
        return name
    return name[:-3] + "y" if name.endswith("ies") else name.removesuffix("s")


@attrs.frozen
class Admission:
    """The fake's decision on one request: the headers for its answer, and why it is refused (if it is)."""

    headers: tuple[tuple[str, str], ...]
    #: ``(status, code, message)`` of the refusal, or ``None`` when the request goes on.
    refusal: tuple[int, int, str] | None = None


class FakeRateLimits:
    """Per-endpoint rate limits and an account concurrency cap, as TaskRouter enforces them.

    - ``limits``: requests per second for endpoint keys (``endpoint_key``); others get ``default``.
      ``PUBLIC_LIMITS`` holds the values Twilio has published.
    - ``concurrency``: the most requests in flight at once; ``None`` for no cap.
    - ``latency``: seconds each admitted request takes, so that requests overlap and the
      concurrency cap can be met.
    """

    def __init__(
        self,
        limits: Mapping[str, int] = PUBLIC_LIMITS,
        *,
        default: int = 50,
        concurrency: int | None = None,
        latency: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = dict(limits)
        self.default = default
        self.concurrency = concurrency
        self.latency = latency
        self._clock = clock
        self._starts: dict[tuple[str, str], deque[float]] = {}
        #: Requests in flight now.
        self.in_flight = 0
        #: When each request arrived (``clock``), refused ones included.
        self.arrivals: list[float] = []
        #: Answers refused: by an endpoint's limit, and by the concurrency cap.
        self.rate_limited = 0
        self.concurrency_refused = 0

    def admit(self, method: str, path: str, query: Mapping[str, str]) -> Admission:
        """Decide on one request now (not counting it in flight: ``serving`` does that)."""
        workspace, key = endpoint_key(method, path, query)
        limit = self.limits.get(key, self.default)
        now = self._clock()
        self.arrivals.append(now)
        starts = self._starts.setdefault((workspace, key), deque())
        while starts and starts[0] <= now - 1.0:
            starts.popleft()
        concurrent = self.in_flight + 1
        if self.concurrency is not None and concurrent > self.concurrency:
            self.concurrency_refused += 1
            remaining = max(0, limit - len(starts))
            headers = self._headers(limit, remaining, key, concurrent)
            return Admission(headers, (429, 20429, "Too many concurrent requests"))
        if len(starts) >= limit:
            self.rate_limited += 1
            return Admission(self._headers(limit, 0, key, concurrent), (429, 20429, "Too many requests"))
        starts.append(now)
        return Admission(self._headers(limit, limit - len(starts), key, concurrent))

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Around an admitted request: counts it in flight."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def delay(self) -> None:
        """An admitted request's ``latency``."""
        if self.latency:
            await anyio.sleep(self.latency)

    @staticmethod
    def _headers(limit: int, remaining: int, key: str, concurrent: int) -> tuple[tuple[str, str], ...]:
        return (
            ("x-rate-limit-limit", str(limit)),
            ("x-rate-limit-remaining", str(remaining)),
            ("x-rate-limit-config", key),
            ("twilio-concurrent-requests", str(concurrent)),
        )
