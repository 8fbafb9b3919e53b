"""Every script in examples/ runs against the fake, the way its docstring says it works.

Each example has a ``main(client, ...)``; these tests hand it a client connected in-process to a
``FakeTaskRouter`` (from ``connected``, the one place clients come from here), then check what the
example left in the fake and what it printed. One more test runs the scripts as a user would, as
programs configured by the environment, against the fake served over HTTP on 127.0.0.1.
``examples/fastapi_app.py`` has its own test file.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

from taskrouter_async import (
    APIError,
    AsyncTaskRouter,
    InternalServerError,
    PreconditionFailedError,
    RateLimitError,
)
from taskrouter_async.testing import FakeTaskRouter

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
#: Examples whose test lives in another file.
TESTED_ELSEWHERE = {"fastapi_app": "test_fastapi_example.py"}


def _load(name: str) -> ModuleType:
    """Import examples/<name>.py (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


quickstart = _load("quickstart")
bulk_accept_csv = _load("bulk_accept_csv")
worker_loop = _load("worker_loop")
refetch_on_412 = _load("refetch_on_412")
retries_and_timeouts = _load("retries_and_timeouts")
TESTED_HERE = {"quickstart", "bulk_accept_csv", "worker_loop", "refetch_on_412", "retries_and_timeouts"}
RUN_WITH_PYTEST = {"testing_with_fake"}


@pytest.fixture
def fake() -> FakeTaskRouter:
    return FakeTaskRouter()


@asynccontextmanager
async def connected(
    fake: FakeTaskRouter, *, before_update: Callable[[str], object] | None = None, **options: Any
) -> AsyncIterator[AsyncTaskRouter]:
    """An ``AsyncTaskRouter`` wired in-process to ``fake``; ``options`` go to the client.

    ``before_update(reservation_sid)`` runs as each update request leaves, before the fake sees
    it: TaskRouter or another process changing the reservation at the worst moment.
    """

    async def on_request(request: httpx.Request) -> None:
        if before_update is not None and request.method == "POST":
            before_update(request.url.path.rsplit("/", 1)[-1])

    async with (
        httpx.AsyncClient(
            transport=fake.transport(), base_url=fake.base_url, event_hooks={"request": [on_request]}
        ) as http,
        AsyncTaskRouter(fake.account_sid, fake.auth_token, base_url=fake.base_url, http_client=http, **options) as c,
    ):
        yield c


def test_every_example_is_run_by_a_test() -> None:
    examples = {path.stem for path in EXAMPLES.glob("*.py")}
    assert examples == TESTED_HERE | RUN_WITH_PYTEST | set(TESTED_ELSEWHERE)
    for name, test_file in TESTED_ELSEWHERE.items():
        assert f"{name}.py" in (Path(__file__).parent / test_file).read_text(encoding="utf-8")


# --- quickstart ------------------------------------------------------------------------------


async def test_quickstart_accepts_the_first_pending_reservation(
    fake: FakeTaskRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    task = fake.add_task()
    first, second = (fake.add_reservation(task_sid=task, worker_name=name) for name in ("Alice", "Bob"))
    async with connected(fake) as client:
        accepted = await quickstart.main(client, first.workspace_sid, task)
    assert accepted.sid == first.sid
    # Multi-reservation: the first to accept gets the task, the task's other reservations are rescinded.
    assert (fake.reservation(first.sid).status, fake.reservation(second.sid).status) == ("accepted", "rescinded")
    assert fake.requests[-1].headers["if-match"] == first.etag
    assert capsys.readouterr().out.splitlines() == [
        f"{first.sid} Alice",
        f"{second.sid} Bob",
        f"accepted {first.sid} for Alice",
    ]


# --- bulk accept from a CSV --------------------------------------------------------------------


async def test_bulk_accept_csv_accepts_every_row_and_reports_failures_by_line(
    fake: FakeTaskRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pending = [fake.add_reservation() for _ in range(25)]
    taken = fake.add_reservation(status="accepted")
    stale = fake.add_reservation()
    rows = [("workspace_sid", "task_sid", "reservation_sid", "etag")]
    rows += [(r.workspace_sid, r.task_sid, r.sid, "") for r in pending[:20]]
    rows.append((taken.workspace_sid, taken.task_sid, taken.sid, ""))  # line 22: no longer pending
    rows.append((stale.workspace_sid, stale.task_sid, stale.sid, '"7"'))  # line 23: a stale ETag
    rows.append((stale.workspace_sid, stale.task_sid, "WR-not-a-sid", ""))  # line 24: refused before sending
    rows += [(r.workspace_sid, r.task_sid, r.sid, r.etag) for r in pending[20:]]  # current ETags: applied
    path = tmp_path / "reservations.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)

    async with connected(fake, max_retries=0) as client:
        outcome = await bulk_accept_csv.main(client, path)

    assert sorted(outcome.accepted) == sorted(r.sid for r in pending)
    assert sorted(outcome.failed) == [22, 23, 24]
    assert "HTTP 400" in outcome.failed[22]
    assert "HTTP 412" in outcome.failed[23]
    assert "reservation_sid" in outcome.failed[24]
    assert {fake.reservation(r.sid).status for r in pending} == {"accepted"}
    assert fake.reservation(stale.sid).status == "pending"
    assert len(fake.requests) == 27  # the malformed row sent nothing
    assert capsys.readouterr().out.splitlines()[-1] == "25 accepted, 3 failed"


# --- worker loop -------------------------------------------------------------------------------


async def test_worker_loop_accepts_only_its_workers_pending_reservations(fake: FakeTaskRouter) -> None:
    worker = fake.add_worker(friendly_name="Alice")
    mine = [fake.add_reservation(worker_sid=worker) for _ in range(3)]
    already = fake.add_reservation(worker_sid=worker, status="accepted")
    someone_elses = fake.add_reservation()
    async with connected(fake, max_retries=0) as client:
        accepted = await worker_loop.main(client, mine[0].workspace_sid, worker, interval=0, rounds=2)
    assert accepted == [r.sid for r in mine]
    assert {fake.reservation(r.sid).status for r in mine} == {"accepted"}
    assert fake.reservation(already.sid).version == 1
    assert fake.reservation(someone_elses.sid).status == "pending"
    posts = [r for r in fake.requests if r.method == "POST"]
    assert [p.headers["if-match"] for p in posts] == [r.etag for r in mine]


async def test_worker_loop_leaves_a_reservation_that_changed_before_the_accept(
    fake: FakeTaskRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = fake.add_worker()
    first, second = fake.add_reservation(worker_sid=worker), fake.add_reservation(worker_sid=worker)

    def time_out_first(sid: str) -> None:
        if sid == first.sid and fake.reservation(sid).status == "pending":
            fake.set_status(sid, "timeout")  # TaskRouter times it out just as the accept is sent

    async with connected(fake, before_update=time_out_first, max_retries=0) as client:
        accepted = await worker_loop.main(client, first.workspace_sid, worker, interval=0, rounds=1)
    assert accepted == [second.sid]
    assert fake.reservation(first.sid).status == "timeout"
    assert f"{first.sid} changed before it could be accepted" in capsys.readouterr().out


# --- 412: fetch again and decide again ---------------------------------------------------------


async def test_refetch_on_412_decides_again_from_the_new_state(fake: FakeTaskRouter) -> None:
    reservation = fake.add_reservation(status="accepted")
    raced: list[str] = []

    def someone_wraps_it_up_first(sid: str) -> None:
        if not raced:
            raced.append(sid)
            fake.set_status(sid, "wrapping")

    async with connected(fake, before_update=someone_wraps_it_up_first) as client:
        result = await refetch_on_412.main(client, reservation.workspace_sid, reservation.task_sid, reservation.sid)
    assert result.reservation_status == "completed"  # it was wrapping when read again: complete it
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET", "POST"]
    assert [r.form["ReservationStatus"] for r in fake.requests if r.method == "POST"] == [["wrapping"], ["completed"]]


async def test_refetch_on_412_gives_up_after_its_attempts(fake: FakeTaskRouter) -> None:
    reservation = fake.add_reservation(status="accepted")
    address = (reservation.workspace_sid, reservation.task_sid, reservation.sid)

    def always_changed(sid: str) -> None:
        fake.set_status(sid, "accepted")  # a new version every time: the ETag just read is always stale

    async with connected(fake, before_update=always_changed) as client:
        with pytest.raises(PreconditionFailedError):
            await refetch_on_412.update_with_refetch(client, *address, refetch_on_412.finish, attempts=2)
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET", "POST"]
    assert fake.reservation(reservation.sid).status == "accepted"


async def test_refetch_on_412_leaves_a_pending_reservation_alone(fake: FakeTaskRouter) -> None:
    reservation = fake.add_reservation()
    async with connected(fake) as client:
        result = await refetch_on_412.main(client, reservation.workspace_sid, reservation.task_sid, reservation.sid)
    assert result.reservation_status == "pending"
    assert [r.method for r in fake.requests] == ["GET"]


# --- retries and timeouts ----------------------------------------------------------------------


async def test_retries_and_timeouts_falls_back_to_the_patient_view(
    fake: FakeTaskRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    reservation = fake.add_reservation()
    fake.stall_next(1)  # the quick fetch gets no answer within its timeout
    fake.fail_next(2, status=429, retry_after=0)  # the patient fetch is rate limited twice, then served
    async with connected(fake, max_retries=0) as client:
        accepted = await retries_and_timeouts.main(
            client, reservation.workspace_sid, reservation.task_sid, reservation.sid, quick_timeout=0.05
        )
    assert accepted.reservation_status == "accepted"
    assert [r.method for r in fake.requests] == ["GET"] * 4 + ["POST"]
    assert fake.reservation(reservation.sid).version == 2
    assert "asking again, patiently" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("status", "error", "printed"),
    [
        (429, RateLimitError, "still rate limited after 5 attempts"),
        (503, InternalServerError, "gave up after 5 attempts"),
    ],
)
async def test_retries_and_timeouts_retries_the_accept_then_says_how_often(
    fake: FakeTaskRouter, capsys: pytest.CaptureFixture[str], status: int, error: type[APIError], printed: str
) -> None:
    """With the ETag, a 503 is retried like a 429: a repeat that was already applied would get 412."""
    reservation = fake.add_reservation()
    attempts = 1 + retries_and_timeouts.PATIENT_RETRIES
    armed: list[str] = []

    def fail_every_attempt(sid: str) -> None:
        if not armed:
            armed.append(sid)
            fake.fail_next(attempts, status=status, retry_after=0)

    async with connected(fake, before_update=fail_every_attempt, max_retries=0) as client:
        with pytest.raises(error) as caught:
            await retries_and_timeouts.main(client, reservation.workspace_sid, reservation.task_sid, reservation.sid)
    assert caught.value.attempts == attempts
    assert [r.method for r in fake.requests] == ["GET"] + ["POST"] * attempts
    assert fake.reservation(reservation.sid).status == "pending"
    assert printed in capsys.readouterr().out


# --- the scripts as programs, configured by the environment ------------------------------------


@contextmanager
def serving(fake: FakeTaskRouter, listener: socket.socket) -> Iterator[None]:
    """Serve ``fake`` over HTTP on ``listener`` while the block runs: uvicorn in a thread, the fake used there only."""
    server = uvicorn.Server(uvicorn.Config(fake, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()


def _run_script(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / args[0]), *args[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_scripts_run_unchanged_against_the_fake_over_http(tmp_path: Path) -> None:
    """No code changes: TWILIO_TASKROUTER_BASE_URL and the credentials point each script at the fake."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        fake = FakeTaskRouter(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}")
        # One task each: accepting one of a task's reservations rescinds its others.
        alice, bob, carol = (fake.add_reservation(worker_name=n) for n in ("Alice", "Bob", "Carol"))
        workspace, task = alice.workspace_sid, alice.task_sid
        rows = tmp_path / "reservations.csv"
        rows.write_text(
            f"workspace_sid,task_sid,reservation_sid\n{workspace},{carol.task_sid},{carol.sid}\n", encoding="utf-8"
        )
        env = {
            **os.environ,
            "TWILIO_TASKROUTER_BASE_URL": fake.base_url,
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
        }
        with serving(fake, listener):
            quickstart_out = _run_script(["quickstart.py", workspace, task], env)  # accepts Alice's, the first
            _run_script(["refetch_on_412.py", workspace, task, alice.sid], env)  # accepted -> wrapping
            _run_script(["retries_and_timeouts.py", workspace, bob.task_sid, bob.sid], env)
            bulk_out = _run_script(["bulk_accept_csv.py", str(rows)], env)
    assert quickstart_out.splitlines()[-1] == f"accepted {alice.sid} for Alice"
    assert bulk_out.splitlines()[-1] == "1 accepted, 0 failed"
    assert [fake.reservation(r.sid).status for r in (alice, bob, carol)] == ["wrapping", "accepted", "accepted"]


# --- testing your code with the fake -----------------------------------------------------------


def test_testing_with_fake_example_passes_under_pytest() -> None:
    """Run the example as its docstring says, in a fresh pytest process: its own tests must pass."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/testing_with_fake.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
