"""The ``bulk-update`` progress display: a rich progress bar and a line of the run's figures, on stderr.

It is drawn from ``BulkStats`` only, so it shows the same numbers before the first result as
after, and tests render it to a string with a fixed width and clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ._stats import BulkStats, failures_text

__all__ = ["BulkProgressDisplay", "figures"]


class _RateColumn(ProgressColumn):
    """Updates per second: rich's estimate over the last 30 s, or the average until it has one."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed
        speed = task.finished_speed or task.speed or (task.completed / elapsed if elapsed else None)
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


class _Progress(Progress):
    """rich's Progress with one more line under the bar (the documented way: override get_renderables)."""

    def __init__(
        self,
        below: Callable[[], RenderableType],
        *columns: ProgressColumn,
        console: Console,
        get_time: Callable[[], float],
    ) -> None:
        self._below = below  # before Progress.__init__, which renders once
        # stdout is not redirected: results go there untouched, or through print_above on a terminal.
        super().__init__(
            *columns,
            console=console,
            get_time=get_time,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=True,
        )

    def get_renderables(self) -> Iterable[RenderableType]:
        yield from super().get_renderables()
        yield self._below()


def figures(stats: BulkStats) -> Text:
    """``in flight 5 · waiting 5 · limit 5/10 · 429 waits 3 · failed 2 (HTTP 412 code 20412: 2)``."""
    text = Text()

    def figure(label: str, value: str, style: str = "bold") -> None:
        if text:
            text.append(" · ", style="dim")
        text.append(f"{label} ", style="dim")
        text.append(value, style=style)

    figure("in flight", f"{stats.requests_in_flight:,}")
    figure("waiting", f"{stats.waiting:,}")
    lowered = stats.concurrency < stats.max_concurrency
    figure("limit", f"{stats.concurrency:,}/{stats.max_concurrency:,}", "bold yellow" if lowered else "bold")
    figure("429 waits", f"{stats.rate_limited:,}", "bold yellow" if stats.rate_limited else "bold")
    if stats.waiting_for_budget is not None:
        figure("waiting for budget", f"{stats.waiting_for_budget:,} ({stats.held_by_budget:,.1f} s)")
        if stats.binding_budget is not None:
            figure("binding", stats.binding_budget, "bold yellow")
        if stats.budget_fallback:
            figure("budget", "shared store down: per-process", "bold yellow")
    failed = f"{stats.failed:,}" + (f" ({failures_text(stats.failures)})" if stats.failed else "")
    figure("failed", failed, "bold red" if stats.failed else "bold")
    return text


class BulkProgressDisplay:
    """A live display of a ``BulkStats``; ``update()`` redraws it (the command calls it a few times a second).

    Refreshing is driven by the caller rather than by rich's own thread, so the numbers are read
    on the event loop that changes them.
    """

    def __init__(self, stats: BulkStats, *, console: Console, get_time: Callable[[], float]) -> None:
        self._stats = stats
        self._progress = _Progress(
            lambda: figures(self._stats),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            _RateColumn(),
            TextColumn("elapsed", style="dim"),
            TimeElapsedColumn(),
            TextColumn("ETA", style="dim"),
            TimeRemainingColumn(),
            console=console,
            get_time=get_time,
        )
        self._task = self._progress.add_task("bulk-update", total=stats.total)

    def update(self) -> None:
        self._progress.update(self._task, completed=self._stats.done, total=self._stats.total)
        self._progress.refresh()

    def print_above(self, line: str) -> None:
        """Print a line above the display, unchanged (no markup, no wrapping: the terminal wraps it)."""
        self._progress.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)

    def renderable(self) -> RenderableType:
        """What the display shows now."""
        return self._progress.get_renderable()

    def __enter__(self) -> BulkProgressDisplay:
        self._progress.start()
        self.update()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.update()
        self._progress.stop()
