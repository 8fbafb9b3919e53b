"""bulk-update in-process against the fake: results, --dry-run, the live display, the summary, bad lines."""

from __future__ import annotations

import io
import json
import math
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import anyio
import pytest
from rich.console import Console

from taskrouter_async import AsyncTaskRouter, RateLimit
from taskrouter_async._cli import _bulk_update
from taskrouter_async._cli._bulk_update import run_bulk_update
from taskrouter_async._cli._commands import _rate_limit
from taskrouter_async._cli._inputs import UsageError
from taskrouter_async._cli._parser import build_parser
from taskrouter_async._cli._progress import BulkProgressDisplay
from taskrouter_async._cli._stats import BulkStats
from taskrouter_async.testing import FakeTaskRouter

from .sids import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> FakeTaskRouter:
    fake = FakeTaskRouter()
    for name in ("Alice", "Bob", "Carol"):
        # One task each: accepting one of a task's reservations rescinds its others (TaskRouter's rule).
        fake.add_reservation(worker_name=name)
    return fake


@pytest.fixture
async def client(fake: FakeTaskRouter) -> AsyncIterator[AsyncTaskRouter]:
    """The one place tests get their client: the fake, in-process."""
    async with fake.connect(max_retries=0) as c:
        yield c


def line(fake: FakeTaskRouter, n: int, **fields: Any) -> dict[str, Any]:
    reservation = fake.reservations[n]
    data = {
        "workspace_sid": reservation.workspace_sid,
        "task_sid": reservation.task_sid,
        "reservation_sid": reservation.sid,
        "params": {"ReservationStatus": "accepted"},
    }
    return {**data, **fields}


def write(path: Path, *records: dict[str, Any] | str) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return str(path)


def results(out: str) -> dict[int, dict[str, Any]]:
    return {r["line"]: r for r in map(json.loads, out.splitlines())}


async def test_a_result_per_line_and_a_summary(
    fake: FakeTaskRouter, client: AsyncTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "in.jsonl",
        line(fake, 0, etag="1"),  # a bare ETag means "1"
        line(fake, 1, params={"reservation_status": "accepted"}),  # snake_case names work in files too
        line(fake, 2, etag='"9"'),
        "",
        "{not json",
    )
    assert await run_bulk_update(client, path, concurrency=2, dry_run=False) == 1
    out, err = capsys.readouterr()
    found = results(out)
    assert sorted(found) == [1, 2, 3, 5]
    assert found[1]["ok"]
    assert found[2]["ok"]
    assert found[1]["reservation"]["etag"] == '"2"'
    assert (found[3]["error"]["status"], found[3]["error"]["code"]) == (412, 20412)
    assert found[5]["error"]["message"].startswith("not JSON")
    assert sorted(str(r.headers.get("if-match")) for r in fake.requests) == ['"1"', '"9"', "None"]
    lines = err.splitlines()
    assert lines[0].startswith("Done: 4 of 4 updates in ")
    assert lines[1:] == ["  ok      2", "  failed  2 (HTTP 412 code 20412: 1, invalid input: 1)"]


async def test_lines_that_cannot_be_sent_fail_alone(
    fake: FakeTaskRouter, client: AsyncTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "in.jsonl",
        line(fake, 0, params={"Instruction": "conference", "To": "x\udc80"}),  # a lone surrogate
        line(fake, 1, etag="caf\u00e9"),  # not ASCII: cannot be a header
        line(fake, 2, reservation_sid="WR1"),
        json.dumps(line(fake, 0))[:-1] + ', "workspace_sid": 1}',
        line(fake, 0, worker_sid="WK" + "0" * 32),
        line(fake, 0),
    )
    assert await run_bulk_update(client, path, concurrency=3, dry_run=False) == 1
    found = results(capsys.readouterr().out)
    assert [found[n]["ok"] for n in range(1, 7)] == [False] * 5 + [True]
    assert found[1]["error"]["message"].startswith('"params": To: cannot be sent: it holds a lone surrogate')
    assert found[2]["error"]["message"].startswith('"etag": an ETag is printable ASCII')
    assert "reservation_sid must be a Reservation SID" in found[3]["error"]["message"]
    assert found[4]["error"]["message"] == '"workspace_sid" must be a string'
    assert found[5]["error"]["message"] == "give exactly one of task_sid and worker_sid"
    assert len(fake.requests) == 1


async def test_dry_run_checks_every_line_and_sends_nothing(
    fake: FakeTaskRouter, client: AsyncTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(
        tmp_path / "bad.jsonl",
        line(fake, 0),
        line(fake, 1, Etag='"1"'),
        line(fake, 2, params={"ReservationStatus": "maybe"}),
    )
    assert await run_bulk_update(client, bad, concurrency=2, dry_run=True) == 1
    out, err = capsys.readouterr()
    found = results(out)
    assert sorted(found) == [2, 3]  # only the invalid lines
    assert found[2]["error"]["message"] == "unknown key 'Etag' (did you mean 'etag'?)"
    assert found[3]["error"]["message"].startswith("\"params\": ReservationStatus: 'maybe' is not a valid")
    assert err == "Dry run: 3 lines checked, 1 valid, 2 invalid; nothing was sent\n"

    good = write(tmp_path / "good.jsonl", line(fake, 0), line(fake, 1))
    assert await run_bulk_update(client, good, concurrency=2, dry_run=True) == 0
    assert capsys.readouterr() == ("", "Dry run: 2 lines checked, 2 valid, 0 invalid; nothing was sent\n")
    assert fake.requests == []


@pytest.fixture
def displays(monkeypatch: pytest.MonkeyPatch) -> list[BulkProgressDisplay]:
    """Every run gets a display, drawn off-screen, as when stderr is a terminal."""
    made: list[BulkProgressDisplay] = []

    def display(stats: BulkStats, clock: Any) -> AbstractContextManager[BulkProgressDisplay]:
        made.append(BulkProgressDisplay(stats, console=Console(file=io.StringIO(), width=120), get_time=clock))
        return made[-1]

    monkeypatch.setattr(_bulk_update, "_display", display)
    return made


def text_of(display: BulkProgressDisplay) -> str:
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(display.renderable())
    return out.getvalue()


async def test_the_display_shows_requests_in_flight_before_any_result_and_ctrl_c_gets_a_summary(
    fake: FakeTaskRouter,
    client: AsyncTaskRouter,
    tmp_path: Path,
    displays: list[BulkProgressDisplay],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.stall_next(3, seconds=math.inf)  # no result will come
    path = write(tmp_path / "in.jsonl", line(fake, 0), line(fake, 1), line(fake, 2))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: run_bulk_update(client, path, concurrency=5, dry_run=False))
            # Polls what a person would see; the run offers no event to wait on, and needs none.
            while not displays or "in flight 3" not in text_of(displays[0]):  # noqa: ASYNC110
                await anyio.sleep(0.01)
            shown = text_of(displays[0])
            group.cancel_scope.cancel()  # what Ctrl-C does to the run
    assert "0/3" in shown
    assert "in flight 3 · waiting 0 · limit 5/5 · 429 waits 0 · failed 0" in shown
    assert capsys.readouterr().err.splitlines()[3:] == [
        "  stopped 3 under way: they may or may not have been applied (fetch them to know)",
        "  unsent  0",
    ]


async def test_the_display_counts_429_waits_and_the_lowered_limit(
    fake: FakeTaskRouter, tmp_path: Path, displays: list[BulkProgressDisplay], capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail_next(2, status=429, retry_after=0)
    path = write(tmp_path / "in.jsonl", line(fake, 0), line(fake, 1), line(fake, 2))
    async with fake.connect(max_retries=2) as client:
        assert await run_bulk_update(client, path, concurrency=4, dry_run=False) == 0
    shown = text_of(displays[0])
    assert "3/3" in shown
    assert "429 waits 2" in shown
    assert "limit 2/4" in shown or "limit 3/4" in shown  # halved once, then growing back with successes
    assert "  429s    2 (rate limited: the run slowed down and retried)" in capsys.readouterr().err


async def test_task_and_worker_lines_share_one_display(
    fake: FakeTaskRouter,
    client: AsyncTaskRouter,
    tmp_path: Path,
    displays: list[BulkProgressDisplay],
    capsys: pytest.CaptureFixture[str],
) -> None:
    worker_line = line(fake, 1)
    worker_line["worker_sid"] = fake.reservations[1].worker_sid
    del worker_line["task_sid"]
    path = write(tmp_path / "in.jsonl", line(fake, 0), worker_line)
    assert await run_bulk_update(client, path, concurrency=3, dry_run=False) == 0
    assert "limit 6/6" in text_of(displays[0])  # each kind runs with --concurrency of its own
    assert [r["ok"] for r in results(capsys.readouterr().out).values()] == [True, True]


async def test_a_connection_failure_names_the_host(
    fake: FakeTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    path = write(tmp_path / "in.jsonl", line(fake, 0))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=f"http://127.0.0.1:{port}", max_retries=0) as client:
        assert await run_bulk_update(client, path, concurrency=1, dry_run=False) == 1
    out, err = capsys.readouterr()
    assert results(out)[1]["error"]["message"].startswith(f"cannot reach 127.0.0.1:{port}: ConnectError")
    assert "  failed  1 (connection: 1)" in err


async def test_lines_are_read_in_chunks_whatever_their_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_bulk_update, "_CHUNK_BYTES", 5)  # lines and a 2-byte character split across reads
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": "\xc3\xa9t\xc3\xa9"}\r\n\n   \n{"b": \xff}\n{"last": "no newline"}')
    fd = os.open(path, os.O_RDONLY)
    try:
        lines = [item async for item in _bulk_update._Lines(fd, is_stdin=False)]
    finally:
        os.close(fd)
    assert lines == [(1, '{"a": "été"}\r'), (4, '{"b": \ufffd}'), (5, '{"last": "no newline"}')]


async def test_rate_shows_budget_waits_on_the_display_and_in_the_summary(
    fake: FakeTaskRouter, tmp_path: Path, displays: list[BulkProgressDisplay], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "in.jsonl", line(fake, 0), line(fake, 1), line(fake, 2))
    async with fake.connect(max_retries=0, rate_limit=RateLimit(rate=10)) as client:
        assert await run_bulk_update(client, path, concurrency=3, dry_run=False) == 0
    assert "waiting for budget" in text_of(displays[0])
    assert "  budget  held the run back" in capsys.readouterr().err


def test_rate_flags_become_the_clients_rate_limit() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["bulk-update", "in.jsonl", "--rate", "25", "--rate-limit-url", "redis://127.0.0.1:6379/0"]
    )
    assert _rate_limit(args) == {"rate_limit": RateLimit(rate=25, storage_url="redis://127.0.0.1:6379/0")}
    assert _rate_limit(parser.parse_args(["bulk-update", "in.jsonl"])) == {}
    with pytest.raises(UsageError, match="give --rate too"):
        _rate_limit(parser.parse_args(["bulk-update", "in.jsonl", "--rate-limit-url", "redis://127.0.0.1:6379/0"]))
    with pytest.raises(UsageError, match="--rate-limit-url"):
        _rate_limit(parser.parse_args(["bulk-update", "in.jsonl", "--rate", "5", "--rate-limit-url", "ftp://x"]))
