"""Progress while a list is walked page after page: items so far, their rate and the time, on stderr.

A list's size is unknown until its last page (TaskRouter's pages carry no total), so this is a
count with a spinner, not a bar. Shown only when stderr is a terminal and rich is installed, as
``bulk-update``'s display is; results on stdout are left untouched (or printed above the count
when stdout is the same terminal).
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

__all__ = ["WalkProgress", "counted", "walk_display"]

T = TypeVar("T")


class WalkProgress:
    """A live ``⠋ listing 1,234 reservations · 410/s · 0:00:03`` line; ``advance()`` counts one item."""

    def __init__(
        self, noun: str, *, console: Console, get_time: Callable[[], float] = time.monotonic, stdout_too: bool = False
    ) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from ._progress import _RateColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("listing {task.completed:,.0f} " + noun),
            _RateColumn(),
            TimeElapsedColumn(),
            console=console,
            get_time=get_time,
            transient=True,  # the count is for while it runs; the results are what stays
            redirect_stdout=stdout_too,
            redirect_stderr=False,
        )
        self._task = self._progress.add_task("list", total=None)

    def advance(self) -> None:
        self._progress.advance(self._task)

    def renderable(self) -> RenderableType:
        """What the display shows now."""
        return self._progress.get_renderable()

    def __enter__(self) -> WalkProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._progress.stop()


def walk_display(noun: str) -> AbstractContextManager[WalkProgress | None]:
    """The walk's progress when stderr is a terminal and rich is installed, else nothing."""
    if not sys.stderr.isatty():
        return nullcontext()
    try:
        from rich.console import Console
    except ImportError:
        return nullcontext()
    return WalkProgress(noun, console=Console(stderr=True), stdout_too=sys.stdout.isatty())


async def counted(items: AsyncIterator[T], display: WalkProgress | None) -> AsyncIterator[T]:
    """The items unchanged, each counted on the display as it arrives."""
    async for item in items:
        if display is not None:
            display.advance()
        yield item
