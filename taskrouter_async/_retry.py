"""When to retry, and how long to wait: the library's one retry layer (the transport's stays at 0)."""

from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

#: Statuses worth another try: the request was refused before it was applied (429) or the
#: API failed (5xx). A 5xx on an update is retried only when If-Match makes a repeat safe.
RATE_LIMITED = 429
SERVER_ERRORS = frozenset({500, 502, 503, 504})

_SECONDS = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")

INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0


def retry_after(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait (``Retry-After`` as seconds or an HTTP date), if it says."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def backoff(retry_number: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, initial * 2**n)]."""
    return random.uniform(0.0, min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0 ** min(retry_number, 64)))


def was_sent(exc: httpx.TransportError) -> bool:
    """Whether the request may have reached the server before ``exc``: only connect and pool failures say no."""
    return not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
