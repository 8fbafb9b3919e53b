"""bulk-update in-process against the fake: results, --dry-run, the live display, the summary, bad lines."""

from __future__ import annotations

import io
import json
import math
import os
import re
import socket
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from rich.console import Console

from taskrouter_async import AsyncTaskRouter, RateLimit
from taskrouter_async._cli import _bulk_update
from taskrouter_async._cli._bulk_update import UNDER_WAY_MESSAGE, run_bulk_update
from taskrouter_async._cli._commands import _rate_limit
from taskrouter_async._cli._inputs import CLIError, UsageError
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
        line(fake, 0, etag='"1"'),  # the ETag as the API sent it, quotes and all
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
    assert (found[3]["error"]["if_match"], found[3]["error"]["current_etag"]) == ('"9"', None)
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
    assert found[2]["error"]["message"].startswith('"etag": expected an ETag as the API sent it')
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
    out, err = capsys.readouterr()
    assert err.splitlines()[3:] == [
        "  stopped 3 under way: they may or may not have been applied (fetch them to know)",
        "  unsent  0",
        "  resume  run again with --resume RESULTS (this run's stdout): see the bulk-update docs",
    ]
    # What --resume reads: each update taken and unfinished, by its line.
    assert out.splitlines() == [json.dumps({"line": n, "ok": None, "under_way": True}) for n in (1, 2, 3)]


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
    auto = parser.parse_args(["bulk-update", "in.jsonl", "--rate", "auto", "--rate-limit-url", "redis://127.0.0.1/0"])
    assert _rate_limit(auto) == {"rate_limit": RateLimit.auto(storage_url="redis://127.0.0.1/0")}
    with pytest.raises(UsageError, match="give --rate too"):
        _rate_limit(parser.parse_args(["bulk-update", "in.jsonl", "--rate-limit-url", "redis://127.0.0.1:6379/0"]))
    with pytest.raises(UsageError, match="--rate-limit-url"):
        _rate_limit(parser.parse_args(["bulk-update", "in.jsonl", "--rate", "5", "--rate-limit-url", "ftp://x"]))


async def test_a_pipe_path_is_read_once_and_every_line_is_sent(
    fake: FakeTaskRouter, client: AsyncTaskRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 2: ``bulk-update <(...)`` used to count the lines first, draining the pipe."""
    data = "".join(json.dumps(line(fake, n)) + "\n" for n in range(3)).encode()
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    try:
        assert await run_bulk_update(client, f"/dev/fd/{read_end}", concurrency=2, dry_run=False) == 0
    finally:
        os.close(read_end)
    out, err = capsys.readouterr()
    assert [r["ok"] for r in results(out).values()] == [True, True, True]
    assert err.startswith("Done: 3 updates in ")  # no total is known for a pipe


async def test_a_named_fifo_is_opened_once(
    fake: FakeTaskRouter, client: AsyncTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 2: a second open of a FIFO blocked for good (a watchdog unblocks it: the test fails, not hangs)."""
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    data = "".join(json.dumps(line(fake, n)) + "\n" for n in range(3)).encode()
    finished = threading.Event()

    def writer() -> None:
        with open(fifo, "wb") as sink:
            sink.write(data)
        if not finished.wait(10):  # a second open is waiting for a writer: give it an empty one
            with open(fifo, "wb"):
                pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        status = await run_bulk_update(client, str(fifo), concurrency=2, dry_run=False)
    finally:
        finished.set()
        thread.join()
    assert status == 0
    assert len(results(capsys.readouterr().out)) == 3


async def test_a_regular_file_on_standard_input_has_a_total(
    fake: FakeTaskRouter,
    client: AsyncTaskRouter,
    tmp_path: Path,
    displays: list[BulkProgressDisplay],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(tmp_path / "in.jsonl", line(fake, 0), "", line(fake, 1))
    with Path(path).open("rb") as source:  # noqa: ASYNC230 (opening a local file does not block)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(source))
        assert await run_bulk_update(client, "-", concurrency=2, dry_run=False) == 0
    assert "2/2" in text_of(displays[0])
    assert capsys.readouterr().err.startswith("Done: 2 of 2 updates in ")


async def test_a_pipe_gets_progress_without_a_total(
    fake: FakeTaskRouter,
    client: AsyncTaskRouter,
    displays: list[BulkProgressDisplay],
    capsys: pytest.CaptureFixture[str],
) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, (json.dumps(line(fake, 0)) + "\n").encode())
    os.close(write_end)
    try:
        assert await run_bulk_update(client, f"/dev/fd/{read_end}", concurrency=2, dry_run=False) == 0
    finally:
        os.close(read_end)
    assert "1/?" in text_of(displays[0])


def deeply_nested(depth: int = 100_000) -> str:
    return '{"params": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_deeply_nested_line_is_that_lines_error(
    fake: FakeTaskRouter,
    client: AsyncTaskRouter,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dry_run: bool,
) -> None:
    """Issue 16 item 5: a RecursionError from the JSON parser used to end the whole run with a traceback."""
    nested_params = line(fake, 1, params={"Attributes": None})
    path = write(
        tmp_path / "in.jsonl",
        line(fake, 0),
        deeply_nested(),
        json.dumps(nested_params).replace("null", "[" * 50_000 + "]" * 50_000),
        line(fake, 2),
    )
    assert await run_bulk_update(client, path, concurrency=1, dry_run=dry_run) == 1
    found = results(capsys.readouterr().out)
    assert found[2]["error"]["message"] == "not JSON (nested too deeply)"
    assert found[3]["error"]["message"] == "not JSON (nested too deeply)"
    assert sorted(found) == ([2, 3] if dry_run else [1, 2, 3, 4])  # a dry run shows the invalid lines only
    assert all(found[n]["ok"] for n in found if n in (1, 4))


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_utf8_byte_order_mark_is_not_part_of_the_first_line(
    fake: FakeTaskRouter,
    client: AsyncTaskRouter,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dry_run: bool,
) -> None:
    """Issue 16, also seen: Notepad and PowerShell write a BOM; the first line was "not JSON"."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(line(fake, 0)) + "\n" + json.dumps(line(fake, 1))).encode())
    assert await run_bulk_update(client, str(path), concurrency=1, dry_run=dry_run) == 0
    out = capsys.readouterr().out
    assert [r["ok"] for r in results(out).values()] == ([] if dry_run else [True, True])


async def test_an_etag_is_sent_exactly_as_given(
    fake: FakeTaskRouter, client: AsyncTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18 item 5: a bare 1 used to be sent as "1"; the fake's ETags are quoted, so 1 is refused."""
    path = write(tmp_path / "in.jsonl", line(fake, 0, etag="1"))
    assert await run_bulk_update(client, path, concurrency=1, dry_run=False) == 1
    assert [r.headers["if-match"] for r in fake.requests] == ["1"]
    assert results(capsys.readouterr().out)[1]["error"]["status"] == 412


async def test_resume_skips_final_outcomes_and_resends_under_way_lines_only_with_an_etag(
    fake: FakeTaskRouter, client: AsyncTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18 item 6: after Ctrl-C there was no way to go on without sending twice."""
    extra = [fake.add_reservation(task_sid=fake.reservations[0].task_sid) for _ in range(2)]
    assert len(extra) == 2
    path = write(
        tmp_path / "in.jsonl",
        line(fake, 0),  # 1: applied before
        line(fake, 1),  # 2: failed before (a final outcome too)
        line(fake, 2, etag='"1"'),  # 3: under way before, with an etag: sent again
        line(fake, 3),  # 4: under way before, no etag: listed, not sent
        line(fake, 4),  # 5: never sent
    )
    earlier = write(
        tmp_path / "results.jsonl",
        {"line": 1, "ok": True, "reservation": {}},
        {"line": 2, "ok": False, "error": {"status": 503}},
        {"line": 3, "ok": None, "under_way": True},
        {"line": 4, "ok": None, "under_way": True},
    )
    assert await run_bulk_update(client, path, concurrency=2, dry_run=False, resume=[earlier]) == 1
    out, err = capsys.readouterr()
    found = results(out)
    assert sorted(found) == [3, 4, 5]
    assert found[3]["ok"]
    assert found[5]["ok"]
    assert found[4] == {"line": 4, "ok": False, "error": {"message": UNDER_WAY_MESSAGE}}
    sent = sorted(r.path.rsplit("/", 1)[-1] for r in fake.requests)
    assert sent == sorted([fake.reservations[2].sid, fake.reservations[4].sid])
    assert "  skipped 2 (a final outcome in the --resume results)" in err
    assert "  check   1 were under way when an earlier run stopped and have no etag" in err
    assert err.startswith("Done: 5 of 5 updates")


async def test_an_interrupted_runs_results_resume_it(
    fake: FakeTaskRouter, client: AsyncTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "in.jsonl", line(fake, 0, etag='"1"'), line(fake, 1), line(fake, 2))
    fake.stall_next(2, seconds=math.inf)
    with anyio.move_on_after(1):
        await run_bulk_update(client, path, concurrency=2, dry_run=False)
    first = tmp_path / "first.jsonl"
    first.write_text(capsys.readouterr().out)
    assert await run_bulk_update(client, path, concurrency=2, dry_run=False, resume=[str(first)]) == 1
    found = results(capsys.readouterr().out)
    # Line 1 had an etag: sent again, and the fake, which stalled its first try, had not applied it.
    # Line 2 had none: listed. Line 3 was never taken (concurrency 2): sent.
    assert (found[1]["ok"], found[2]["error"]["message"], found[3]["ok"]) == (True, UNDER_WAY_MESSAGE, True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope\n", "--resume {path}: line 1 is not JSON"),
        ('{"ok": true}\n', '--resume {path}: line 1 has no "line" number'),
        ('\n{"line": 2}\n', '--resume {path}: line 2 has neither "ok" true or false nor "under_way"'),
    ],
)
async def test_resume_refuses_what_is_not_a_results_file(
    client: AsyncTaskRouter, tmp_path: Path, content: str, message: str
) -> None:
    results_path = tmp_path / "results.jsonl"
    results_path.write_text(content)
    with pytest.raises(CLIError, match="^" + re.escape(message.format(path=results_path))):
        await run_bulk_update(client, "-", concurrency=1, dry_run=False, resume=[str(results_path)])


def sample_json(cls: type[Any], **given: Any) -> dict[str, Any]:
    """A payload of ``cls`` that the client reads: a value of the right type for every field."""
    import datetime
    import enum
    import typing

    import attrs

    hints = typing.get_type_hints(cls)
    payload: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name == "etag":
            continue
        kind = next((a for a in typing.get_args(hints[field.name]) if a is not type(None)), hints[field.name])
        kind = typing.get_origin(kind) or kind
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            payload[field.name] = next(iter(kind)).value
        else:
            defaults = {str: "x", bool: False, int: 0, datetime.datetime: "2024-05-14T10:50:00Z", list: [], tuple: []}
            payload[field.name] = defaults.get(kind, {})
    return {**payload, **given}


# The spec check (tests/spec_check.py) knows the reservation paths only, so far.
@pytest.mark.nonconforming_requests
async def test_tasks_and_workers_are_updated_in_bulk_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 18 item 6: a line without reservation_sid updates the task or the worker itself."""
    from taskrouter_async import Task, Worker

    from .sids import TASK_SID, WORKER_SID, WORKSPACE_SID

    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if "/Tasks/" in request.url.path:
            return httpx.Response(200, json=sample_json(Task, sid=TASK_SID, attributes="{}"), headers={"ETag": '"8"'})
        return httpx.Response(200, json=sample_json(Worker, sid=WORKER_SID, attributes="{}"))

    path = write(
        tmp_path / "in.jsonl",
        {
            "workspace_sid": WORKSPACE_SID,
            "task_sid": TASK_SID,
            "params": {"AssignmentStatus": "completed"},
            "etag": '"7"',
        },
        {"workspace_sid": WORKSPACE_SID, "worker_sid": WORKER_SID, "params": {"activity_sid": "WA" + "1" * 32}},
        {"workspace_sid": WORKSPACE_SID, "task_sid": TASK_SID, "params": {"ReservationStatus": "accepted"}},
    )
    transport = httpx.MockTransport(answer)
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, transport=transport, max_retries=0) as client:
        assert await run_bulk_update(client, path, concurrency=2, dry_run=False) == 1
    found = results(capsys.readouterr().out)
    assert found[1].get("task", found)["sid"] == TASK_SID
    assert found[2]["worker"]["sid"] == WORKER_SID
    assert found[3]["error"]["message"].startswith("\"params\": unknown update field 'ReservationStatus'")
    by_path = {r.url.path.rsplit("/", 1)[-1]: r for r in sent}
    assert by_path[TASK_SID].headers["if-match"] == '"7"'
    assert by_path[TASK_SID].content == b"AssignmentStatus=completed"
    assert by_path[WORKER_SID].content == b"ActivitySid=WA" + b"1" * 32
