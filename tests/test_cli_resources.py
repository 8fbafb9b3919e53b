"""Issue 18 item 6: a command for every operation of every resource, from the client's operation records."""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx
import pytest

from taskrouter_async import AsyncTaskRouter, TaskUpdate, Worker
from taskrouter_async._cli import _commands, main
from taskrouter_async._cli._parser import build_parser
from taskrouter_async._cli._resources import call_arguments, operation_params
from taskrouter_async.resources import RESOURCES

from .sids import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKER_SID, WORKSPACE_SID
from .test_cli_bulk import sample_json


def parsed(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_every_operation_record_is_a_command_with_help() -> None:
    operations = [(name, op) for name, resource in RESOURCES.items() for op in resource.operations]
    assert len(operations) == 61  # every operation of TaskRouter v1
    for name, operation in operations:
        sids = [f"{sid.prefix or 'XX'}{'0' * 32}" for sid in operation.sids]
        args = parsed(name.replace("_", "-"), operation.name.replace("_", "-"), *sids)
        assert args.operation is operation
        assert args.command_parser.format_help()


def test_typed_flags_named_after_the_fields_become_the_clients_arguments() -> None:
    args = parsed(
        *("tasks", "update", WORKSPACE_SID, TASK_SID, "--assignment-status", "completed", "--reason", "done"),
        *("--if-match", '"3"'),
    )
    positional, keywords = call_arguments(args, operation_params(args))
    assert positional == [WORKSPACE_SID, TASK_SID, TaskUpdate(assignment_status="completed", reason="done")]
    assert keywords == {"etag": '"3"'}


def test_query_flags_take_python_values() -> None:
    args = parsed("workers", "list", WORKSPACE_SID, "--activity-name", "Available", "--available", "true")
    assert call_arguments(args, None) == (
        [WORKSPACE_SID],
        {"activity_name": "Available", "available": True, "page_size": None, "limit": None},
    )


def test_help_comes_from_the_specs_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["tasks", "update", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--assignment-status {pending,reserved,assigned,canceled,completed,wrapping}" in text
    assert "The reason that the Task was canceled or completed." in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tasks", "update", WORKSPACE_SID, TASK_SID, "--assignment-status", "done"], "invalid choice: 'done'"),
        (["tasks", "fetch", WORKSPACE_SID, WORKER_SID], "expected a Task SID ('WT' followed by 32 hex digits)"),
        (["tasks", "update", WORKSPACE_SID, TASK_SID, "--if-match", " 3"], "expected an ETag as the API sent it"),
    ],
)
def test_bad_usage_exits_2_before_any_request(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """The commands' client answers from a mock transport: workers as the API writes them."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        worker = sample_json(Worker, sid=WORKER_SID, attributes="{}", friendly_name="Alice")
        if request.url.path.endswith("/Workers"):
            meta = {"key": "workers", "next_page_url": None, "page": 0, "page_size": 50}
            return httpx.Response(200, json={"workers": [worker], "meta": meta})
        return httpx.Response(200, json=worker)

    def client(**options: Any) -> AsyncTaskRouter:
        return AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, transport=httpx.MockTransport(answer), max_retries=0)

    monkeypatch.setattr(_commands, "AsyncTaskRouter", client)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    return sent


# The spec check (tests/spec_check.py) knows the reservation paths only, so far.
@pytest.mark.nonconforming_requests
def test_a_list_prints_json_lines_and_a_table(
    answered: list[httpx.Request], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["workers", "list", WORKSPACE_SID, "--activity-name", "Available"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["friendly_name"] == "Alice"
    assert answered[0].url.params["ActivityName"] == "Available"
    assert main(["workers", "list", WORKSPACE_SID, "--table"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert "FRIENDLY_NAME" in header.split()
    assert "Alice" in row.split()


@pytest.mark.nonconforming_requests
def test_an_update_sends_the_fields_and_the_etag_as_given(
    answered: list[httpx.Request], capsys: pytest.CaptureFixture[str]
) -> None:
    worker_sid = WORKER_SID
    argv = ["workers", "update", WORKSPACE_SID, worker_sid, "--friendly-name", "Bob", "--if-match", "7"]
    assert main(argv) == 0
    assert answered[0].content == b"FriendlyName=Bob"
    assert answered[0].headers["if-match"] == "7"
    assert json.loads(capsys.readouterr().out)["sid"] == worker_sid


@pytest.mark.nonconforming_requests
def test_a_single_answer_as_a_table_is_field_value_rows(
    answered: list[httpx.Request], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["workers", "fetch", WORKSPACE_SID, WORKER_SID, "--table"]) == 0
    rows = [line.strip().split(maxsplit=1) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["FIELD", "VALUE"]
    assert ["friendly_name", "Alice"] in rows


def test_completion_covers_the_resource_commands() -> None:
    import shtab

    script = shtab.complete(build_parser(), shell="bash")
    assert "task-queues" in script
    assert "--assignment-status" in script


def test_only_the_group_named_on_the_command_line_is_built() -> None:
    """Building all 61 commands costs every run a few hundred milliseconds; main builds the named group only."""
    parser = build_parser(only="tasks")
    assert parser.parse_args(["tasks", "fetch", WORKSPACE_SID, TASK_SID]).operation.id == "FetchTask"
    groups = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    workers = next(a for a in groups["workers"]._actions if isinstance(a, argparse._SubParsersAction))
    assert workers.choices == {}
