"""What the CLI draws: the bulk-update progress display, the summary and the --table output.

Everything is rendered to a string with a fixed width (and, for the display, a fixed clock), so
nothing depends on the terminal the tests run in; COLUMNS is set to something silly to show it.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from rich.console import Console, RenderableType

from taskrouter_async import Reservation, TaskReservation
from taskrouter_async._cli._progress import BulkProgressDisplay
from taskrouter_async._cli._stats import INVALID_INPUT, BulkStats, summary
from taskrouter_async._cli._table import print_table, reservation_table

from .sids import ACCOUNT_SID, TASK_SID, WORKER_SID, WORKSPACE_SID


@pytest.fixture(autouse=True)
def _odd_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "37")
    monkeypatch.setenv("LINES", "3")


def render(renderable: RenderableType, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, highlight=False).print(renderable)
    return out.getvalue()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def display_text(stats: BulkStats, clock: Clock, steps: list[tuple[float, int]], width: int = 120) -> str:
    """The display after the run reached ``done`` at each (seconds, done) step."""
    display = BulkProgressDisplay(stats, console=Console(file=io.StringIO(), width=width), get_time=clock)
    start = clock.now
    for seconds, done in steps:
        clock.now = start + seconds
        stats.succeeded = done - stats.failed
        display.update()
    return render(display.renderable(), width)


def test_the_display_shows_every_figure() -> None:
    stats = BulkStats(total=10_000, concurrency=25, max_concurrency=50)
    stats.failures.update({"HTTP 412 code 20412": 2, "timeout": 1})
    stats.started, stats.finished, stats.requests_in_flight, stats.rate_limited = 5_050, 5_000, 25, 12
    text = display_text(stats, Clock(), [(0, 0), (5, 2_500), (10, 5_000)])
    bar, figures = text.splitlines()
    assert bar.startswith("bulk-update ━━━")
    for expected in ("5000/10000", "50%", "500/s", "elapsed 0:00:10", "ETA 0:00:10"):
        assert expected in bar
    assert figures == (
        "in flight 25 · waiting 25 · limit 25/50 · 429 waits 12 · failed 3 (HTTP 412 code 20412: 2, timeout: 1)"
    )


def test_the_display_is_there_before_the_first_result() -> None:
    stats = BulkStats(total=300, concurrency=10, max_concurrency=10)
    stats.started = stats.requests_in_flight = 10
    text = display_text(stats, Clock(), [(0, 0), (2, 0)])
    bar, figures = text.splitlines()
    assert "0/300" in bar
    assert "elapsed 0:00:02" in bar
    assert figures == "in flight 10 · waiting 0 · limit 10/10 · 429 waits 0 · failed 0"


def test_the_display_without_a_total_reading_standard_input() -> None:
    stats = BulkStats(total=None, concurrency=10, max_concurrency=10)
    text = display_text(stats, Clock(), [(0, 0), (4, 400)])
    bar = text.splitlines()[0]
    assert "400/?" in bar
    assert "100/s" in bar


def test_the_display_shows_the_rate_limit_budget() -> None:
    stats = BulkStats(total=10, concurrency=10, max_concurrency=10, waiting_for_budget=7, held_by_budget=2.5)
    figures = display_text(stats, Clock(), [(0, 0)]).splitlines()[-1]
    assert figures == "in flight 0 · waiting 0 · limit 10/10 · 429 waits 0 · waiting for budget 7 (2.5 s) · failed 0"
    stats.budget_fallback = True
    shown = " ".join(display_text(stats, Clock(), [(0, 0)]).split())  # however the display wraps
    assert "budget shared store down: per-process · failed 0" in shown


def test_the_display_shows_the_binding_learned_budget() -> None:
    stats = BulkStats(total=10, concurrency=10, max_concurrency=10, waiting_for_budget=7, held_by_budget=2.5)
    stats.binding_budget = "TaskReservation-Update 48.5/s of 50"
    shown = " ".join(display_text(stats, Clock(), [(0, 0)]).split())
    assert "waiting for budget 7 (2.5 s) · binding TaskReservation-Update 48.5/s of 50 · failed 0" in shown


def test_a_narrow_display_keeps_the_figures_whole() -> None:
    stats = BulkStats(total=10, concurrency=5, max_concurrency=10, rate_limited=3)
    stats.failures[INVALID_INPUT] = 1
    text = display_text(stats, Clock(), [(0, 4)], width=40)
    assert max(len(line) for line in text.splitlines()) <= 40
    flat = " ".join(text.split())
    for expected in ("40%", "in flight 0", "limit 5/10", "429 waits 3", "failed 1 (invalid input: 1)"):
        assert expected in flat


def test_summary_at_the_end() -> None:
    stats = BulkStats(total=10_000, concurrency=50, max_concurrency=50, rate_limited=187)
    stats.succeeded = 9_987
    stats.failures = Counter({"HTTP 503": 6, "HTTP 412 code 20412": 4, INVALID_INPUT: 3})
    stats.started = stats.finished = 9_997
    assert summary(stats, elapsed=12.5, interrupted=False).splitlines() == [
        "Done: 10,000 of 10,000 updates in 12.5 s (800/s)",
        "  ok      9,987",
        "  failed  13 (HTTP 503: 6, HTTP 412 code 20412: 4, invalid input: 3)",
        "  429s    187 (rate limited: the run slowed down and retried)",
    ]


def test_summary_on_ctrl_c_says_what_was_left() -> None:
    stats = BulkStats(total=1_000, concurrency=10, max_concurrency=10)
    stats.succeeded, stats.started, stats.finished = 400, 410, 400
    assert summary(stats, elapsed=2.0, interrupted=True).splitlines() == [
        "Interrupted: 400 of 1,000 updates in 2.0 s (200/s)",
        "  ok      400",
        "  failed  0",
        "  stopped 10 under way: they may or may not have been applied (fetch them to know)",
        "  unsent  590",
        "  resume  run again with --resume RESULTS (this run's stdout): see the bulk-update docs",
    ]


def test_summary_of_a_resumed_run_lists_the_lines_to_check() -> None:
    stats = BulkStats(total=30, concurrency=10, max_concurrency=10)
    stats.succeeded, stats.skipped = 3, 2
    stats.to_check = list(range(1, 26))
    stats.failures["under way before, no etag"] = 25
    assert summary(stats, elapsed=1.0, interrupted=False).splitlines()[3:5] == [
        "  skipped 2 (a final outcome in the --resume results)",
        "  check   25 were under way when an earlier run stopped and have no etag, so were not sent again: "
        "fetch them to know (lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, …)",
    ]


def reservation(n: int, *, etag: str | None = None, worker_name: str = "Alice") -> TaskReservation:
    moment = datetime(2024, 5, 14, 10, 50, n % 60, tzinfo=timezone.utc)
    return TaskReservation(
        account_sid=ACCOUNT_SID,
        workspace_sid=WORKSPACE_SID,
        task_sid=TASK_SID,
        worker_sid=WORKER_SID,
        sid=f"WR{n:032x}",
        reservation_status="accepted",
        worker_name=worker_name,
        date_created=moment,
        date_updated=moment,
        etag=etag,
    )


def test_table_shows_the_etag_of_a_fetch_or_update() -> None:
    header, row = render(
        reservation_table([reservation(1, etag='"2"')], by_task=True, with_etag=True), 200
    ).splitlines()
    assert header.split() == ["SID", "STATUS", "WORKER", "WORKER", "SID", "UPDATED", "ETAG"]
    assert row.split() == [f"WR{1:032x}", "accepted", "Alice", WORKER_SID, "2024-05-14T10:50:01Z", '"2"']


def test_table_of_worker_reservations_shows_the_task() -> None:
    header, row = render(reservation_table([reservation(1)], by_task=False, with_etag=False), 200).splitlines()
    assert header.split() == ["SID", "STATUS", "WORKER", "TASK", "SID", "UPDATED"]
    assert TASK_SID in row.split()


async def _items(reservations: list[Reservation]) -> AsyncIterator[Reservation]:
    for item in reservations:
        yield item


@pytest.mark.anyio
async def test_a_long_list_prints_in_aligned_batches_under_one_header_and_is_never_cut() -> None:
    names = ["Alice", "Bartholomew Longname-Smith"]
    reservations: list[Reservation] = [reservation(n, worker_name=names[n % 2]) for n in range(120)]
    out = io.StringIO()
    narrow = Console(file=out, width=60, color_system=None, highlight=False)
    await print_table(_items(reservations), by_task=True, with_etag=False, console=narrow)
    header, *rows = out.getvalue().splitlines()
    assert header.startswith("SID ")
    assert len(rows) == 120
    assert [row.split()[0] for row in rows] == [r.sid for r in reservations]  # SIDs whole though wider than 60
    assert len({row.index("accepted") for row in rows}) == 1
    assert len({row.index(WORKER_SID) for row in rows}) == 1
    assert "Bartholomew Lon…" in rows[1]


@pytest.mark.anyio
async def test_a_list_walk_shows_its_count_on_stderr_when_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 item 7: a walk of a long list showed nothing until its last page."""
    from taskrouter_async._cli import _commands, _walk
    from taskrouter_async.testing import FakeTaskRouter

    fake = FakeTaskRouter()
    task = fake.add_task()
    for n in range(7):
        fake.add_reservation(task_sid=task, worker_name=f"W{n}")
    shown: list[str] = []

    class Display(_walk.WalkProgress):
        def advance(self) -> None:
            super().advance()
            shown.append(render(self.renderable(), 80))

    monkeypatch.setattr(
        _commands, "walk_display", lambda noun: Display(noun, console=Console(file=io.StringIO(), width=80))
    )
    args = _commands.build_parser().parse_args(
        ["reservations", "list", "--workspace", fake.reservations[0].workspace_sid, "--task", task, "--page-size", "3"]
    )
    printed: list[str] = []

    async def printer(items: AsyncIterator[Reservation]) -> None:
        printed.extend([r.sid async for r in items])

    monkeypatch.setattr(_commands, "AsyncTaskRouter", lambda **options: fake.connect())
    assert await _commands._list(args, {}, printer) == 0
    assert len(printed) == 7
    assert "listing 7 reservations" in shown[-1]
    assert "listing 1 reservations" in shown[0]


def test_the_walk_display_is_off_when_stderr_is_not_a_terminal() -> None:
    from taskrouter_async._cli._walk import walk_display

    with walk_display("reservations") as display:  # pytest captures stderr: not a terminal
        assert display is None
