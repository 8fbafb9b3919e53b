"""The command line: a few real subprocesses against ``fake-server`` on 127.0.0.1, the rest in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from taskrouter_async._cli import main
from taskrouter_async._demo import sample_fake
from taskrouter_async.testing import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

from .sids import RESERVATION_SID, TASK_SID, WORKSPACE_SID

SAMPLE = sample_fake().reservations  # the SIDs fake-server seeds (the same every run)
WS, WT = SAMPLE[0].workspace_sid, SAMPLE[0].task_sid
ALICE, BOB, CAROL = (r.sid for r in SAMPLE)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    return {**env, **extra}


def _run(*args: str, stdin: str | None = None, credentials: bool = True) -> subprocess.CompletedProcess[str]:
    env = _env(TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID, TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN) if credentials else _env()
    return subprocess.run(
        [sys.executable, "-m", "taskrouter_async", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``fake-server`` on a free port; its first line says where."""
    command = [sys.executable, "-m", "taskrouter_async", "fake-server", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=_env()) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Fake TaskRouter on http://127.0.0.1:"), first
        try:
            yield first.split()[-1]
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_demo_needs_no_credentials() -> None:
    result = _run("demo", credentials=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "Instruction=conference",
        "rejected",
        "HTTP 412",
        "code 20412",
        "completed",
        "reservation.accepted",
    ):
        assert expected in out
    assert result.stderr == ""


def test_reservations_list_as_a_table_and_as_json_lines(server: str) -> None:
    table = _run("reservations", "list", "--base-url", server, "--workspace", WS, "--task", WT, "--table")
    lines = _run("reservations", "list", "--base-url", server, "--workspace", WS, "--task", WT, "--limit", "2")
    assert table.returncode == lines.returncode == 0, table.stderr + lines.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["SID", "STATUS", "WORKER"]
    assert [row.split()[0] for row in rows] == [ALICE, BOB, CAROL]
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [r["sid"] for r in records] == [ALICE, BOB]
    assert records[0]["url"].startswith(server)


def test_fake_server_answers_any_http_client(server: str) -> None:
    url = f"{server}/v1/Workspaces/{WS}/Tasks/{WT}/Reservations"
    with httpx.Client() as http:
        refused = http.get(url, auth=(DEFAULT_ACCOUNT_SID, "wrong"))
        page = http.get(url, params={"PageSize": 1}, auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN))
    assert (refused.status_code, refused.json()["code"]) == (401, 20003)
    assert page.status_code == 200
    assert page.json()["meta"]["next_page_url"] == f"{url}?PageSize=1&Page=1&PageToken=PA{ALICE}"


def test_update_and_a_one_line_error(server: str) -> None:
    update = _run(
        *("reservations", "update", "--base-url", server, "--workspace", WS, "--task", WT, CAROL),
        *("-p", "Instruction=conference", "-p", "From=+15550100", "--if-match", '"1"'),
    )
    missing = _run("reservations", "fetch", "--base-url", server, "--workspace", WS, "--task", WT, "WR" + "0" * 32)
    assert update.returncode == 0, update.stderr
    assert json.loads(update.stdout)["reservation_status"] == "accepted"
    assert json.loads(update.stdout)["etag"] == '"2"'
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "error: HTTP 404: The requested resource was not found (code 20404, https://www.twilio.com/docs/errors/20404)"
    ]


def test_bulk_update_writes_a_result_per_line_and_fails_if_any_failed(server: str) -> None:
    def line(reservation_sid: str, status: str) -> str:
        params = {"ReservationStatus": status}
        return json.dumps({"workspace_sid": WS, "task_sid": WT, "reservation_sid": reservation_sid, "params": params})

    stdin = "\n".join([line(ALICE, "accepted"), line(RESERVATION_SID, "accepted"), "{not json", "", line(BOB, "x")])
    result = _run("bulk-update", "--base-url", server, "--concurrency", "2", stdin=stdin + "\n")
    assert result.returncode == 1
    results = {r["line"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert sorted(results) == [1, 2, 3, 5]
    assert results[1]["ok"] is True
    assert results[1]["reservation"]["reservation_status"] == "accepted"
    assert results[2]["error"]["status"] == 404
    assert results[2]["error"]["code"] == 20404
    assert "not JSON" in results[3]["error"]["message"]
    assert "ReservationStatus" in results[5]["error"]["message"]
    assert "Traceback" not in result.stderr


def test_fake_server_without_uvicorn_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["fake-server", "--port", "0"]) == 1
    assert capsys.readouterr().err == "error: fake-server needs uvicorn: pip install 'taskrouter-async[fake]'\n"


def test_expected_errors_before_any_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fetch = ["reservations", "fetch", "--workspace", WORKSPACE_SID, "--task", TASK_SID, RESERVATION_SID]
    assert main(fetch) == 1
    assert capsys.readouterr().err.startswith("error: no credentials")

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", DEFAULT_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", DEFAULT_AUTH_TOKEN)
    update = ["reservations", "update", "--base-url", "http://127.0.0.1:9", "--workspace", WORKSPACE_SID]
    assert main([*update, "--worker", "WK" + "1" * 32, RESERVATION_SID]) == 1
    assert capsys.readouterr().err == "error: nothing to update: give --status or --param KEY=VALUE\n"
    assert main([*update, "--task", TASK_SID, RESERVATION_SID, "-p", "Timeout=soon"]) == 1
    assert capsys.readouterr().err == "error: invalid update: Timeout: expected a decimal integer, got 'soon'\n"
    assert main([*update, "--task", TASK_SID, RESERVATION_SID, "-p", "Timeout"]) == 1
    assert "KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["reservations", "list", "--workspace", WORKSPACE_SID])
    assert usage.value.code == 2


def test_the_worker_filter_is_for_task_reservations(capsys: pytest.CaptureFixture[str]) -> None:
    listing = ["reservations", "list", "--base-url", "http://127.0.0.1:9", "--workspace", WORKSPACE_SID]
    assert main([*listing, "--worker", "WK" + "1" * 32, "--worker-sid", "WK" + "2" * 32]) == 1
    assert capsys.readouterr().err == "error: --worker-sid filters task reservations only: give --task\n"
