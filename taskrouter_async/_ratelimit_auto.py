"""``RateLimit.auto()``'s learning: what one answer says about its endpoint's budget and the account's concurrency.

TaskRouter limits each endpoint per workspace and says so on every answer (Twilio support,
"Monitoring TaskRouter API Usage"): ``X-Rate-Limit-Limit`` (the most requests permitted),
``X-Rate-Limit-Remaining`` (what is left before the limit) and ``X-Rate-Limit-Config`` (the
endpoint's resource key, such as ``Task-List-EvaluateTaskAttributes``). Twilio does not document
the window. The reading chosen here: the limit is **requests per second** per (workspace, resource
key). Twilio's changelog of 2024-10-18 gives the public limits in "requests per second (RPS)" with
their resource keys, and the Event Streams event ``com.twilio.apiusage.taskrouter.ratelimits``
reports per (``namespace`` = workspace, ``resource_key``) a ``rate_limit`` (50) beside a fractional
``current_rate`` (1.4): a rate, not a count in a fixed window. ``Remaining`` is read only as a
signal, never as a window: at 0 the budget holds its next turn one interval (room comes back as
requests age out, whatever the window really is); a 429 lowers the pace by 30 % and holds the
budget for a second (or ``Retry-After``); answers with room raise it again, up to 97 % of the limit.

Account concurrency: error 20429 means too many requests in flight on the account (Twilio's
error page: "Requests that receive 429 responses aren't processed and are safe to retry"), and
``Twilio-Concurrent-Requests`` is the header to watch. A 429 whose ``X-Rate-Limit-Remaining`` is
not 0 is read as that concurrency refusal; one with ``Remaining: 0`` as the endpoint's limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import attrs

from ._logging import logger
from ._retry import RATE_LIMITED

__all__ = ["Answer", "Concurrency", "Learned", "operation_of"]

#: Pace at this share of a learned limit: room for arrival jitter at Twilio's end.
HEADROOM = 0.97
#: A 429 multiplies the pace by this.
RATE_LIMITED_DECREASE = 0.7
#: An answer with room left raises the pace by this share of the limit, up to ``HEADROOM``.
INCREASE = 0.02
#: The slowest pace: one request every 5 seconds.
MIN_RATE = 0.2
#: How long the pace is held after ``Remaining: 0`` or a 429 without Retry-After, at most (seconds).
HOLD = 1.0
#: The concurrency cap engages when ``Twilio-Concurrent-Requests`` reaches this share of the cap...
NEAR_CAP = 0.8
#: ...of the cap learned from a 20429, or of this many before one was seen (Twilio's usual default).
DEFAULT_CONCURRENCY = 100
#: Once engaged, the concurrency cap stays engaged this long after the last sign of it (seconds).
ENGAGED_FOR = 60.0

_LIMIT = "x-rate-limit-limit"
_REMAINING = "x-rate-limit-remaining"
_CONFIG = "x-rate-limit-config"
_CONCURRENT = "twilio-concurrent-requests"
_SID = re.compile(r"^([A-Z]{2})[0-9a-fA-F]{32}$")
_ENDPOINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
#: Query names that page through a list: the same endpoint whatever their values.
_PAGING = frozenset({"pagesize", "page", "pagetoken"})


def operation_of(method: str, url: str) -> str:
    """The operation a request is, until its endpoint key is known (``GET /Workspaces/{WS}/Tasks?Evaluate…``).

    SIDs become their prefix, query values are dropped and paging names ignored, so every call of
    one operation shares a budget, and a list with an expression filter is an operation of its own.
    """
    path, _, query = url.partition("://")[2].partition("/")[2].partition("?")
    segments = ["{" + m.group(1) + "}" if (m := _SID.match(s)) else s for s in path.split("/") if s]
    if segments and segments[0] == "v1":
        segments = segments[1:]
    names = sorted({f.partition("=")[0] for f in query.split("&") if f}, key=str.lower)
    names = [n for n in names if n.lower() not in _PAGING]
    return f"{method} /{'/'.join(segments)}" + (f"?{'&'.join(names)}" if names else "")


def _number(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if 0 <= number < 1_000_000 else None


@attrs.frozen
class Answer:
    """What one answer's status and headers say about the budgets (any header may be missing or bad)."""

    limit: int | None
    remaining: int | None
    endpoint: str | None
    concurrent: int | None
    status: int

    @classmethod
    def parse(cls, status: int, headers: Mapping[str, str]) -> Answer:
        endpoint = headers.get(_CONFIG)
        limit = _number(headers, _LIMIT)
        return cls(
            limit=limit if limit else None,
            remaining=_number(headers, _REMAINING),
            endpoint=endpoint.strip() if endpoint is not None and _ENDPOINT.fullmatch(endpoint.strip()) else None,
            concurrent=_number(headers, _CONCURRENT),
            status=status,
        )

    @property
    def concurrency_refused(self) -> bool:
        """A 20429: the account had too many requests in flight (not the endpoint's limit)."""
        return (
            self.status == RATE_LIMITED and self.remaining != 0 and (self.concurrent is not None or self.limit is None)
        )

    @property
    def rate_limited(self) -> bool:
        """The endpoint's limit refused this request."""
        return self.status == RATE_LIMITED and not self.concurrency_refused


@attrs.define
class Learned:
    """One budget's learned state: (workspace, endpoint key or operation). Mutable: it learns."""

    workspace: str
    endpoint: str
    #: The pace before any answer, requests per second.
    start: float
    limit: int | None = None
    rate: float = 0.0
    remaining: int | None = None
    rate_limited: int = 0
    #: No turn before this (the storage's clock for the shared budget, the monotonic one in-process).
    hold: float = 0.0

    def __attrs_post_init__(self) -> None:
        if not self.rate:
            self.rate = self.start

    @property
    def name(self) -> str:
        return f"{self.workspace}:{self.endpoint}"

    @property
    def target(self) -> float:
        return max(MIN_RATE, self.limit * HEADROOM) if self.limit is not None else self.start

    @property
    def cap(self) -> int:
        """The window: at most this many starts in any second (the limit less ``1 - HEADROOM`` of it, rounded
        down, so that arrivals bunched by network jitter still fit in Twilio's second)."""
        if self.limit is None:
            return max(1, int(self.start))
        return max(1, self.limit - int(self.limit * (1 - HEADROOM)))

    def learn(self, answer: Answer, now: float, sent_at: float | None = None) -> bool:
        """Take in one answer to a request sent at pace ``sent_at``; ``True`` when the limit or the pace changed.

        A 429 lowers the pace to 70 % of the pace *that request was sent at*, not of the pace now:
        429s for requests sent together lower it once, not once each.
        """
        before = (self.limit, self.rate)
        if answer.limit is not None and answer.limit != self.limit:
            logger.debug(
                "rate budget %s: learned a limit of %d/s (was %s)", self.name, answer.limit, self.limit or "unknown"
            )
            self.limit = answer.limit
            self.rate = self.target
        self.remaining = answer.remaining
        if answer.rate_limited:
            self.rate_limited += 1
            sent = self.rate if sent_at is None else sent_at
            self.rate = max(MIN_RATE, min(self.rate, sent * RATE_LIMITED_DECREASE))
            self.hold = max(self.hold, now + HOLD)
            logger.debug("rate budget %s: 429, pace lowered to %.2f/s", self.name, self.rate)
        elif answer.remaining == 0:
            # The last request the limit allowed for now: wait for room (one interval), keep the pace.
            self.hold = max(self.hold, now + 1 / self.rate)
        elif answer.remaining is not None and self.limit is not None and self.rate < self.target:
            self.rate = min(self.target, self.rate + INCREASE * self.limit)
        return (self.limit, self.rate) != before


@attrs.define
class Concurrency:
    """The account's cap on requests in flight, learned from 20429s and ``Twilio-Concurrent-Requests``."""

    cap: int | None = None
    engaged_until: float = 0.0
    refused: int = 0
    highest: int = 0

    def engaged(self, now: float) -> bool:
        return self.cap is not None and now < self.engaged_until

    def learn(self, answer: Answer, now: float, in_flight: int) -> bool:
        """Take in one answer; ``True`` when the cap was learned, changed, or engaged anew."""
        concurrent = answer.concurrent
        if concurrent is not None:
            self.highest = max(self.highest, concurrent)
        was = (self.cap, self.engaged(now))
        if answer.concurrency_refused:
            self.refused += 1
            seen = concurrent if concurrent is not None else in_flight
            cap = max(1, seen - 1)
            self.cap = cap if self.cap is None else min(self.cap, cap)
            self.engaged_until = now + ENGAGED_FOR
        elif concurrent is not None and concurrent >= NEAR_CAP * (self.cap or DEFAULT_CONCURRENCY):
            if self.cap is None:
                self.cap = DEFAULT_CONCURRENCY
            self.engaged_until = now + ENGAGED_FOR
        changed = (self.cap, self.engaged(now)) != was
        if changed and logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "account concurrency: cap %s, %s (Twilio-Concurrent-Requests %s)",
                self.cap,
                "engaged" if self.engaged(now) else "not engaged",
                concurrent,
            )
        return changed
