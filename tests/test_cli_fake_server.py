"""fake-server's options (--seed, --fault, --updates-file), the fake's random faults behind them, the
README walkthrough (a bulk run of the file fake-server writes), Ctrl-C on a real process, completion."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from taskrouter_async import InternalServerError, RateLimitError, ValidationError
from taskrouter_async._cli import main
from taskrouter_async._cli._bulk_update import check_line
from taskrouter_async._cli._fake_server import seed_reservations, write_updates_file
from taskrouter_async.testing import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTaskRouter


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    return {**env, "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "taskrouter_async", *args]


@contextmanager
def fake_server(*options: str) -> Iterator[tuple[str, list[str]]]:
    """``fake-server --port 0 OPTIONS``: its URL and what it printed before serving."""
    with subprocess.Popen(
        _command("fake-server", "--port", "0", *options), stdout=subprocess.PIPE, text=True, env=_env()
    ) as process:
        assert process.stdout is not None
        printed = [process.stdout.readline()]
        while printed[-1] and not printed[-1].lstrip().startswith("try:"):
            printed.append(process.stdout.readline())
        assert printed[0].startswith("Fake TaskRouter on http://127.0.0.1:"), printed
        try:
            yield printed[0].split()[-1], [line.rstrip("\n") for line in printed]
        finally:
            process.terminate()
            process.wait(timeout=30)


def bulk_update(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command("bulk-update", *args), capture_output=True, text=True, env=_env(), timeout=600, check=False
    )


# --- the fake's random faults ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_random_faults_answer_at_their_rate_and_queued_faults_come_first() -> None:
    fake = FakeTaskRouter()
    reservation = fake.add_reservation()
    fake.fail_randomly(1.0, status=429, retry_after=3)
    fake.fail_next(1, status=503)
    async with fake.connect(max_retries=0) as client:
        fetch = client.task_reservations.fetch
        with pytest.raises(InternalServerError):
            await fetch(reservation.workspace_sid, reservation.task_sid, reservation.sid)
        with pytest.raises(RateLimitError) as limited:
            await fetch(reservation.workspace_sid, reservation.task_sid, reservation.sid)
    assert limited.value.retry_after == 3


@pytest.mark.anyio
async def test_random_faults_are_repeatable_and_stalls_end() -> None:
    async def outcomes() -> list[str]:
        fake = FakeTaskRouter(seed=7)
        reservation = fake.add_reservation()
        fake.fail_randomly(0.3, status=500)
        fake.stall_randomly(0.2, seconds=0.001)
        seen = []
        async with fake.connect(max_retries=0) as client:
            for _ in range(40):
                try:
                    await client.task_reservations.fetch(
                        reservation.workspace_sid, reservation.task_sid, reservation.sid
                    )
                    seen.append("ok")
                except InternalServerError:
                    seen.append("500")
        return seen

    first = await outcomes()
    assert first == await outcomes()
    assert {"ok", "500"} == set(first)


def test_random_fault_rates_are_checked() -> None:
    fake = FakeTaskRouter()
    fake.fail_randomly(0.7, status=429)
    with pytest.raises(ValidationError, match="add up to at most 1"):
        fake.stall_randomly(0.4)
    with pytest.raises(ValidationError, match="status must be 429 or 5xx"):
        fake.fail_randomly(0.1, status=404)
    with pytest.raises(ValidationError, match=r"in 0\.\.1"):
        fake.fail_randomly(-0.1)


# --- seeding and the input file --------------------------------------------------------------------


@pytest.mark.anyio
async def test_seeded_reservations_and_an_input_file_every_line_of_which_checks(tmp_path: Path) -> None:
    fake = FakeTaskRouter()
    seed_reservations(fake, 25, workers=4)
    path = tmp_path / "updates.jsonl"
    assert write_updates_file(fake, str(path)) == 25
    assert len({r.task_sid for r in fake.reservations}) == 25
    assert sorted({r.worker_name for r in fake.reservations}) == ["Agent 1", "Agent 2", "Agent 3", "Agent 4"]
    async with fake.connect() as client:
        for text in path.read_text().splitlines():
            kind, item = check_line(text, client)
            assert kind == "task"
            assert item.etag == '"1"'


def test_fake_server_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for options, message in [
        (["--fault", "404=0.1"], "the fault KIND is 429, a 5xx status such as 503, or stall; got '404'"),
        (["--fault", "429=2"], "a fault RATE is a fraction of requests, above 0 and at most 1; got '429=2'"),
        (["--fault", "429=0.6", "--fault", "stall=0.6"], "the --fault rates add up to 1.2: at most 1"),
        (["--seed", "-3"], "argument --seed: expected a whole number 0 or more, got '-3'"),
    ]:
        with pytest.raises(SystemExit) as usage:
            main(["fake-server", *options])
        assert usage.value.code == 2
        assert message in capsys.readouterr().err


# --- the walkthrough -------------------------------------------------------------------------------


def walkthrough(tmp_path: Path, count: int) -> None:
    """README's walkthrough: fake-server seeds and writes the file, with faults; bulk-update applies it."""
    path = tmp_path / "updates.jsonl"
    options = ["--seed", str(count), "--updates-file", str(path), "--fault", "429=0.02", "--fault", "503=0.01"]
    with fake_server(*options, "--fault", "stall=0.005", "--stall-seconds", "0.2", "--retry-after", "0") as (
        url,
        printed,
    ):
        assert f"  seeded: {count:,} more pending reservations, one task each, offered to 10 workers" in printed
        assert "  faults: 429 (Retry-After 0 s) on 2%; 503 on 1%; 0.2 s stalls on 0.5%" in printed
        assert f"  run: TWILIO_ACCOUNT_SID={DEFAULT_ACCOUNT_SID} " in "\n".join(printed)
        result = bulk_update(str(path), "--base-url", url, "--concurrency", "20")
        again = bulk_update(str(path), "--base-url", url, "--dry-run")
    lines = count + 1  # and one of the sample task's three: the first to accept gets the task
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["line"] for r in outcomes) == list(range(1, lines + 1)), "one result per line"
    failed = [r for r in outcomes if not r["ok"]]
    summary = result.stderr.splitlines()
    assert summary[0].startswith(f"Done: {lines:,} of {lines:,} updates in ")
    assert summary[1] == f"  ok      {lines - len(failed):,}"
    assert result.returncode == (1 if failed else 0)
    # Every failure is one the client may not retry away: 429s and 503s beyond max_retries.
    assert {(r["error"]["status"]) for r in failed} <= {429, 503}
    assert again.returncode == 0
    assert again.stderr == f"Dry run: {lines:,} lines checked, {lines:,} valid, 0 invalid; nothing was sent\n"


@pytest.mark.soak
def test_walkthrough(tmp_path: Path) -> None:
    """200 updates by default; ``nox -s soak`` runs README's 10,000 (TASKROUTER_WALKTHROUGH_UPDATES)."""
    walkthrough(tmp_path, int(os.environ.get("TASKROUTER_WALKTHROUGH_UPDATES", "200")))


def test_ctrl_c_stops_a_run_with_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "updates.jsonl"
    with fake_server("--seed", "200", "--updates-file", str(path), "--fault", "stall=0.5", "--stall-seconds", "60") as (
        url,
        _,
    ):
        command = _command("bulk-update", str(path), "--base-url", url)
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            assert json.loads(process.stdout.readline())["ok"] is True  # the run is going
            process.send_signal(signal.SIGINT)
            stderr = process.stderr.read()
            status = process.wait(timeout=30)
    assert status == 130
    assert stderr.startswith("Interrupted: ")
    assert "  stopped " in stderr
    assert "Traceback" not in stderr


def test_completion_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "zsh"]) == 0
    assert "--updates-file" in capsys.readouterr().out
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash to try the script in")
    complete = '_shtab_taskrouter_async; echo "${COMPREPLY[@]}"'
    first = f"COMP_WORDS=(taskrouter-async bulk); COMP_CWORD=1; {complete}"
    probe = f"COMP_WORDS=(taskrouter-async reservations list --status p); COMP_CWORD=4; {complete}"
    done = subprocess.run(
        [bash, "--norc", "-c", f"{script}\n{first}\n{probe}"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.stdout.splitlines() == ["bulk-update", "pending"], done.stderr
