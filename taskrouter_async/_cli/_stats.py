"""A bulk run's numbers (kept by ``bulk-update``, drawn by the progress display) and the summary text.

Nothing here needs rich: the summary is printed at the end (or on Ctrl-C) whether or not a
progress display was drawn.
"""

from __future__ import annotations

from collections import Counter

import attrs

from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    TaskRouterError,
)

__all__ = ["INVALID_INPUT", "UNSURE", "BulkStats", "failure_kind", "failures_text", "summary"]

#: The failure kind of an input line that could not be sent (not JSON, an unknown key, a bad value).
INVALID_INPUT = "invalid input"
#: The failure kind of a line under way when an earlier run stopped, not re-sent since it has no etag.
UNSURE = "under way before, no etag"


@attrs.define(kw_only=True)
class BulkStats:
    """Counts for one ``bulk-update`` run; the command updates them, the display and the summary read them."""

    #: Input lines to do (blank lines do not count); ``None`` when reading standard input.
    total: int | None
    #: Items the bulk runs have taken from the input (sent, or about to be).
    started: int = 0
    #: Results of those items, successes and failures.
    finished: int = 0
    #: Requests on the wire now, retries included (the runs' own count).
    requests_in_flight: int = 0
    succeeded: int = 0
    #: Failures by kind (``failure_kind``), input lines that could not be sent included.
    failures: Counter[str] = attrs.field(factory=Counter)
    #: The current limit on updates in flight (lowered after 429s), and the most it may be.
    concurrency: int
    max_concurrency: int
    #: 429 answers so far: each one made a request wait (Retry-After or back-off) before a retry.
    rate_limited: int = 0
    #: Attempts waiting for the ``--rate`` budget now; ``None`` (not shown) when no such limit is set.
    waiting_for_budget: int | None = None
    #: Wall-clock seconds the ``--rate`` budget held the run back.
    held_by_budget: float = 0.0
    #: True while the shared (Redis) budget is unreachable and a per-process one is used instead.
    budget_fallback: bool = False
    #: Lines skipped with ``--resume``: an earlier run's results file has their final outcome.
    skipped: int = 0
    #: Input lines under way when an earlier run stopped, without an etag: not re-sent, for the user to check.
    to_check: list[int] = attrs.field(factory=list)
    #: ``--rate auto``: the learned budget holding the run back now (``Task-List 48.5/s of 50``), if any.
    binding_budget: str | None = None

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def done(self) -> int:
        """Lines with a result (sent ones that finished, and lines that could not be sent) or skipped."""
        return self.succeeded + self.failed + self.skipped

    @property
    def unfinished(self) -> int:
        """Items started and not finished: on the wire, or waiting for a slot or to retry."""
        return self.started - self.finished

    @property
    def waiting(self) -> int:
        """Started items with no request on the wire: waiting for a slot (the limit) or to retry."""
        return max(self.unfinished - self.requests_in_flight, 0)


#: Lines to check listed by number in the summary, at most.
_LISTED = 20


def failure_kind(error: TaskRouterError | None) -> str:
    """How a failure is counted: ``HTTP 412 code 20412``, ``HTTP 503``, ``timeout``, ``connection``..."""
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status_code}" + (f" code {error.code}" if error.code is not None else "")
    if isinstance(error, APITimeoutError):
        return "timeout"
    if isinstance(error, APIConnectionError):
        return "connection"
    if isinstance(error, APIResponseValidationError):
        return "bad response"
    return INVALID_INPUT


def failures_text(failures: Counter[str]) -> str:
    """``HTTP 412 code 20412: 2, timeout: 1``, most frequent first (then by name, so the order is stable)."""
    ordered = sorted(failures.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{kind}: {count:,}" for kind, count in ordered if count)


def summary(stats: BulkStats, *, elapsed: float, interrupted: bool) -> str:
    """What a run did, for stderr: done, failures by kind, elapsed time and rate; on Ctrl-C, what was left."""
    rate = f"{(stats.done - stats.skipped) / elapsed:,.0f}/s" if elapsed > 0 else "-"
    of_total = f" of {stats.total:,}" if stats.total is not None else ""
    head = "Interrupted" if interrupted else "Done"
    lines = [f"{head}: {stats.done:,}{of_total} updates in {elapsed:,.1f} s ({rate})", f"  ok      {stats.succeeded:,}"]
    lines.append(f"  failed  {stats.failed:,}" + (f" ({failures_text(stats.failures)})" if stats.failed else ""))
    if stats.skipped:
        lines.append(f"  skipped {stats.skipped:,} (a final outcome in the --resume results)")
    if stats.to_check:
        shown = ", ".join(map(str, stats.to_check[:_LISTED])) + (", …" if len(stats.to_check) > _LISTED else "")
        lines.append(
            f"  check   {len(stats.to_check):,} were under way when an earlier run stopped and have no etag, so "
            f"were not sent again: fetch them to know (lines {shown})"
        )
    if stats.rate_limited:
        lines.append(f"  429s    {stats.rate_limited:,} (rate limited: the run slowed down and retried)")
    if stats.waiting_for_budget is not None:
        lines.append(f"  budget  held the run back {stats.held_by_budget:,.1f} s (--rate)")
    if interrupted and stats.unfinished:
        lines.append(
            f"  stopped {stats.unfinished:,} under way: they may or may not have been applied (fetch them to know)"
        )
    if interrupted and stats.total is not None:
        lines.append(f"  unsent  {max(stats.total - stats.done - stats.unfinished, 0):,}")
    if interrupted:
        lines.append("  resume  run again with --resume RESULTS (this run's stdout): see the bulk-update docs")
    return "\n".join(lines)
