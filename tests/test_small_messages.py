"""Issue 18 item 8: the small messages a new user meets first, each saying what to do."""

from __future__ import annotations

import importlib
import socket
import sys

import pytest

from taskrouter_async import APIConnectionError, AsyncTaskRouter, BadRequestError, BulkUpdate, TaskReservationUpdate
from taskrouter_async._cli._parser import build_parser
from taskrouter_async.testing import FakeTaskRouter

from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio


async def test_async_for_over_update_many_says_to_use_async_with() -> None:
    async with FakeTaskRouter().connect() as client:
        run = client.task_reservations.update_many(
            [BulkUpdate(WORKSPACE_SID, TASK_SID, RESERVATION_SID, TaskReservationUpdate.accept())]
        )
        with pytest.raises(TypeError, match=r"async with client\.task_reservations\.update_many\(items\) as results:"):
            async for _ in run:
                pass


def test_the_fastapi_module_without_its_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "starlette", None)
    for name in ("starlette.exceptions", "starlette.requests"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "taskrouter_async.webhooks.fastapi", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'taskrouter-async\[fastapi\]'"):
        importlib.import_module("taskrouter_async.webhooks.fastapi")


async def test_the_fakes_refusal_of_a_status_nothing_moves_to_has_no_empty_brackets() -> None:
    fake = FakeTaskRouter()
    seeded = fake.add_reservation()
    async with fake.connect(max_retries=0) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.task_reservations.update(
                seeded.workspace_sid, seeded.task_sid, seeded.sid, TaskReservationUpdate(reservation_status="pending")
            )
    assert "[]" not in caught.value.message
    assert caught.value.message.endswith(
        f"Reservation {seeded.sid} not in expected state (no status moves to pending) and cannot be updated to "
        "[pending]; it is pending"
    )


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_aiohttp_connection_errors_on_plain_http_do_not_mention_tls() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    async with AsyncTaskRouter(
        ACCOUNT_SID, AUTH_TOKEN, base_url=f"http://127.0.0.1:{port}", engine="aiohttp", max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    assert "ssl" not in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_every_cli_option_has_help_text() -> None:
    parser = build_parser()
    listing = parser.parse_args(["reservations", "list", "--workspace", "WS" + "0" * 32, "--task", "WT" + "0" * 32])
    help_text = listing.command_parser.format_help()
    assert "--workspace WS_SID the workspace" in " ".join(help_text.split())
    undocumented = [
        action.option_strings for action in listing.command_parser._actions if action.option_strings and not action.help
    ]
    assert undocumented == []
