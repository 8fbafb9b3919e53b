"""What people type: update fields by either name, If-Match ETags, credentials, and errors worded for the CLI."""

from __future__ import annotations

import socket
import sys

import pytest

from taskrouter_async import AsyncTaskRouter, TaskReservationUpdate, WorkerReservationUpdate
from taskrouter_async._cli import main
from taskrouter_async._cli._commands import _client_options
from taskrouter_async._cli._inputs import CLIError, close_match, credentials_from_env, if_match_value, update_params
from taskrouter_async._cli._parser import build_parser
from taskrouter_async.testing import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

from .sids import ACCOUNT_SID, RESERVATION_SID, TASK_SID, WORKSPACE_SID

FETCH = ["reservations", "fetch", "--workspace", WORKSPACE_SID, "--task", TASK_SID, RESERVATION_SID]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", DEFAULT_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", DEFAULT_AUTH_TOKEN)


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The last line argparse prints for bad usage (after checking the exit status is 2)."""
    with pytest.raises(SystemExit) as usage:
        main(argv)
    assert usage.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize(
    "name", ["ReservationStatus", "reservation_status", "reservationstatus", "RESERVATION_STATUS", "reservation-status"]
)
def test_update_fields_by_api_or_snake_case_name(name: str) -> None:
    assert update_params([(name, "accepted")], TaskReservationUpdate) == TaskReservationUpdate.accept()


def test_from_and_list_fields_by_either_name() -> None:
    params = update_params(
        [("from", "+15550100"), ("Instruction", "conference"), ("status_callback_event", "initiated")],
        WorkerReservationUpdate,
    )
    assert params.from_ == "+15550100"
    assert params.status_callback_event is not None
    assert [e.value for e in params.status_callback_event] == ["initiated"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ReservatonStatus", "unknown update field 'ReservatonStatus' (did you mean ReservationStatus?)"),
        ("reservaton_status", "unknown update field 'reservaton_status' (did you mean reservation_status?)"),
        ("post_work_activity", "unknown update field 'post_work_activity' (did you mean post_work_activity_sid?)"),
        ("Colour", "unknown update field 'Colour'"),
    ],
)
def test_an_unknown_field_name_suggests_the_nearest_one(name: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        update_params([(name, "x")], TaskReservationUpdate)
    assert str(error.value) == message


def test_supervise_fields_are_for_task_reservations_only() -> None:
    with pytest.raises(ValueError, match=r"^supervisor applies to task reservations only$"):
        update_params([("supervisor", "client:sue")], WorkerReservationUpdate)


def test_close_match_ignores_case_and_separators() -> None:
    assert close_match("Etag", ["etag", "params"]) == "etag"
    assert close_match("reservationSid", ["reservation_sid", "task_sid"]) == "reservation_sid"
    assert close_match("zzz", ["etag", "params"]) is None


@pytest.mark.parametrize("given", ["1", '"1"', 'W/"1"', "*", "abc-123", '"1", "2"'])
def test_if_match_is_sent_exactly_as_given(given: str) -> None:
    """Issue 18 item 5: the CLI used to quote a bare 1 as "1"; the value is the ETag header as read."""
    assert if_match_value(given) == given


@pytest.mark.parametrize("given", ["", " 7 ", "caf\u00e9", "a\nb"])
def test_if_match_refuses_what_cannot_be_a_header_value(given: str) -> None:
    with pytest.raises(ValueError, match="an ETag as the API sent it"):
        if_match_value(given)


def test_if_match_bad_usage_exits_2(credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    update = ["reservations", "update", "--workspace", WORKSPACE_SID, "--task", TASK_SID, RESERVATION_SID]
    message = usage_error([*update, "--status", "accepted", "--if-match", " 7"], capsys)
    assert message.endswith("argument --if-match: expected an ETag as the API sent it (printable ASCII), got ' 7'")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)"),
        ({"TWILIO_ACCOUNT_SID": ACCOUNT_SID}, "TWILIO_AUTH_TOKEN is not set (TWILIO_ACCOUNT_SID is)"),
        ({"TWILIO_AUTH_TOKEN": "t"}, "TWILIO_ACCOUNT_SID is not set (TWILIO_AUTH_TOKEN is)"),
        ({"TWILIO_API_KEY": "SK" + "1" * 32}, "TWILIO_API_KEY is set but TWILIO_API_SECRET is not"),
        ({"TWILIO_API_SECRET": "s"}, "TWILIO_API_SECRET is set but TWILIO_API_KEY is not"),
    ],
)
def test_missing_credentials_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(CLIError) as error:
        credentials_from_env(env)
    assert str(error.value).startswith(message)


def test_a_secret_in_a_sid_variable_is_never_echoed() -> None:
    secret = "0123456789abcdef-not-a-sid"
    for env in (
        {"TWILIO_ACCOUNT_SID": secret, "TWILIO_AUTH_TOKEN": "t"},
        {"TWILIO_API_KEY": secret, "TWILIO_API_SECRET": "s"},
    ):
        with pytest.raises(CLIError) as error:
            credentials_from_env(env)
        assert secret not in str(error.value)
        assert "value is not shown" in str(error.value)


def test_credentials_for_the_client() -> None:
    assert credentials_from_env({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": "t"}) == {
        "account_sid": ACCOUNT_SID,
        "auth_token": "t",
    }
    key = "SK" + "2" * 32
    assert credentials_from_env({"TWILIO_API_KEY": key, "TWILIO_API_SECRET": "s"}) == {
        "api_key": key,
        "api_secret": "s",
    }


def test_errors_name_flags_not_python_arguments(credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    plain = usage_error([*FETCH, "--base-url", "http://taskrouter.example.com"], capsys)
    assert "add --allow-insecure-http" in plain
    assert "allow_insecure_http" not in plain
    listing = ["reservations", "list", "--workspace", WORKSPACE_SID, "--task", TASK_SID]
    assert usage_error([*listing, "--limit", "-1"], capsys).endswith(
        "argument --limit: expected a whole number 0 or more, got '-1'"
    )
    assert usage_error([*listing, "--page-size", "1001"], capsys).endswith(
        "argument --page-size: expected a whole number from 1 to 1000, got '1001'"
    )
    assert usage_error(
        ["reservations", "fetch", "--workspace", "WS1", "--task", TASK_SID, RESERVATION_SID], capsys
    ) == (
        "taskrouter-async reservations fetch: error: argument --workspace: "
        "expected a Workspace SID ('WS' followed by 32 hex digits), got 'WS1'"
    )
    worker = ["reservations", "list", "--workspace", WORKSPACE_SID, "--worker", "WK" + "1" * 32]
    assert usage_error([*worker, "--worker-sid", "WK" + "2" * 32], capsys).endswith(
        "--worker-sid filters task reservations only: give --task"
    )
    assert "must not carry credentials" in usage_error([*FETCH, "--base-url", "https://u:p@example.com"], capsys)
    assert "p@" not in capsys.readouterr().err


def test_the_base_url_variable_is_checked_in_cli_words(
    credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWILIO_TASKROUTER_BASE_URL", "http://taskrouter.example.com")
    assert main(FETCH) == 1
    assert capsys.readouterr().err == (
        "error: TWILIO_TASKROUTER_BASE_URL http://taskrouter.example.com is plain http to a host that is not "
        "loopback: use https, or add --allow-insecure-http if you mean it\n"
    )


@pytest.mark.anyio
async def test_allow_insecure_http_is_a_flag(credentials: None) -> None:
    """With the flag, a plain-http --base-url elsewhere than loopback builds a client (no request is sent here)."""
    argv = [*FETCH, "--base-url", "http://taskrouter.example.com", "--allow-insecure-http"]
    options = _client_options(build_parser().parse_args(argv))
    assert options["allow_insecure_http"] is True
    async with AsyncTaskRouter(**options) as client:
        assert client.base_url == "http://taskrouter.example.com"


def test_a_connection_error_names_the_host(credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    assert main([*FETCH, "--base-url", f"http://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach 127.0.0.1:{port}: ConnectError")
    assert len(err.splitlines()) == 1


def test_table_without_rich_says_what_to_install(
    credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "taskrouter_async._cli._table", raising=False)
    for name in ["rich", *(m for m in sys.modules if m.startswith("rich."))]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the cli extra were not installed
    assert main([*FETCH, "--table", "--base-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err == "error: --table needs rich: pip install 'taskrouter-async[cli]'\n"


def test_engine_auto_is_the_librarys_choice_and_missing_extras_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from taskrouter_async._cli import _commands

    assert _commands._engine("auto") == "auto"  # AsyncTaskRouter picks the fastest engine installed
    assert _commands._engine("httpx") == "httpx"
    monkeypatch.setattr(_commands.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(_commands, "pyreqwest_usable", lambda: False)
    with pytest.raises(_commands.CLIError, match=r"taskrouter-async\[aiohttp\]"):
        _commands._engine("aiohttp")
    with pytest.raises(_commands.CLIError, match=r"taskrouter-async\[pyreqwest\]"):
        _commands._engine("pyreqwest")
