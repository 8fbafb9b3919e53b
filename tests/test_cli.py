"""The command line end to end: real subprocesses against ``fake-server`` on 127.0.0.1, and ``main()`` in-process.

Other files: test_cli_inputs (names, ETags, credentials, usage errors), test_cli_output (the
progress display, the table, the summary), test_cli_bulk (bulk-update in-process), and
test_cli_fake_server (seeding, faults, the input file, the walkthrough).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from taskrouter_async._cli import main
from taskrouter_async._cli._fake_server import seed_reservations
from taskrouter_async._demo import sample_fake
from taskrouter_async.testing import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

from .sids import RESERVATION_SID, TASK_SID, WORKSPACE_SID

_SEEDED = sample_fake()
seed_reservations(_SEEDED, 1, workers=10)  # what `fake-server --seed 1` serves (the same SIDs every run)
SAMPLE = _SEEDED.reservations[:3]
WS, WT = SAMPLE[0].workspace_sid, SAMPLE[0].task_sid
ALICE, BOB, CAROL = (r.sid for r in SAMPLE)
#: A pending reservation of another task: accepting one of WT's reservations rescinds WT's others.
OTHER = _SEEDED.reservations[3]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    return {**env, **extra}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "taskrouter_async", *args]


def _credentials() -> dict[str, str]:
    return _env(TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID, TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN)


def _run(*args: str, stdin: str | None = None, credentials: bool = True) -> subprocess.CompletedProcess[str]:
    env = _credentials() if credentials else _env()
    return subprocess.run(
        _command(*args),
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
    with subprocess.Popen(
        _command("fake-server", "--port", "0", "--seed", "1"), stdout=subprocess.PIPE, text=True, env=_env()
    ) as process:
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


def test_the_base_url_can_come_from_the_environment(server: str) -> None:
    env = {**_credentials(), "TWILIO_TASKROUTER_BASE_URL": server}
    listed = subprocess.run(
        _command("reservations", "list", "--workspace", WS, "--task", WT, "--limit", "1"),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["sid"] == ALICE


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
        *("-p", "Instruction=conference", "-p", "from=+15550100", "--if-match", '"1"'),  # the ETag as read
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
    def line(reservation_sid: str, status: str, task_sid: str = WT) -> str:
        params = {"ReservationStatus": status}
        return json.dumps(
            {"workspace_sid": WS, "task_sid": task_sid, "reservation_sid": reservation_sid, "params": params}
        )

    accept = line(OTHER.sid, "accepted", OTHER.task_sid)
    stdin = "\n".join([accept, line(RESERVATION_SID, "accepted"), "{not json", "", line(BOB, "x")])
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
    for argv, message in [
        ([*update, "--worker", "WK" + "1" * 32, RESERVATION_SID], "nothing to update: give --status or -p/--param"),
        (
            [*update, "--task", TASK_SID, RESERVATION_SID, "-p", "Timeout=soon"],
            "invalid update: Timeout: expected a decimal integer, got 'soon'",
        ),
        ([*update, "--task", TASK_SID, RESERVATION_SID, "-p", "Timeout"], "expected KEY=VALUE, got 'Timeout'"),
        (["reservations", "list", "--workspace", WORKSPACE_SID], "one of the arguments --task --worker is required"),
    ]:
        with pytest.raises(SystemExit) as usage:
            main(argv)
        assert usage.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: taskrouter-async ")
        assert message in err


def test_the_worker_filter_is_for_task_reservations(capsys: pytest.CaptureFixture[str]) -> None:
    listing = ["reservations", "list", "--base-url", "http://127.0.0.1:9", "--workspace", WORKSPACE_SID]
    with pytest.raises(SystemExit) as usage:
        main([*listing, "--worker", "WK" + "1" * 32, "--worker-sid", "WK" + "2" * 32])
    assert usage.value.code == 2  # bad usage, as README says
    assert capsys.readouterr().err.endswith("error: --worker-sid filters task reservations only: give --task\n")


# --- issue 9, items 11 and 14: each failed before its fix ----------------------------------------------


def test_unknown_keys_in_a_bulk_line_make_it_an_error_that_names_them(server: str) -> None:
    def line(**fields: object) -> str:
        return json.dumps({"workspace_sid": WS, "task_sid": WT, "reservation_sid": BOB, **fields})

    stdin = "\n".join(
        [
            line(params={"ReservationStatus": "rejected"}, Etag='"7"'),  # a misspelt etag must not be dropped
            line(params={"ReservationStatu": "rejected"}),
            line(params={"ReservationStatus": "rejected"}, priority=1),
        ]
    )
    before = _run("reservations", "fetch", "--base-url", server, "--workspace", WS, "--task", WT, BOB)
    result = _run("bulk-update", "--base-url", server, stdin=stdin + "\n")
    results = {r["line"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert result.returncode == 1
    assert [results[n]["ok"] for n in (1, 2, 3)] == [False, False, False]
    assert results[1]["error"]["message"] == "unknown key 'Etag' (did you mean 'etag'?)"
    assert "unknown update field 'ReservationStatu' (did you mean ReservationStatus?)" in results[2]["error"]["message"]
    assert results[3]["error"]["message"] == "unknown key 'priority'"
    fetched = _run("reservations", "fetch", "--base-url", server, "--workspace", WS, "--task", WT, BOB)
    assert fetched.stdout == before.stdout, "nothing may be sent for such a line"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    update = ["reservations", "update", "--workspace", WORKSPACE_SID, "--task", TASK_SID, RESERVATION_SID]
    for argv, message in [
        (["bulk-update", "--concurrency", "0"], "argument --concurrency: expected a whole number 1 or more, got '0'"),
        ([*update, "-p", "Instruction"], "argument -p/--param: expected KEY=VALUE, got 'Instruction'"),
    ]:
        with pytest.raises(SystemExit) as usage:
            main(argv)
        assert usage.value.code == 2, argv
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("table", [False, True], ids=["json-lines", "table"])
def test_a_closed_stdout_ends_quietly(server: str, table: bool) -> None:
    """``reservations list ... | head -1``: the reader is gone before the first line is written."""
    args = ["reservations", "list", "--base-url", server, "--workspace", WS, "--task", WT, *(["--table"] * table)]
    with subprocess.Popen(
        _command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_credentials()
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        stderr = process.stderr.read()
        status = process.wait(timeout=60)
    assert stderr == ""
    assert status == 141  # 128 + SIGPIPE, as a shell reports a tool that stopped on a closed pipe
