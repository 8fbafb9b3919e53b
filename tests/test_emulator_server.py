"""``fake-server`` with a workspace file and callback URLs drives ``examples/fastapi_app.py`` end to end.

Both run as real servers on 127.0.0.1 (subprocesses): the emulator routes a task to an available
worker, calls the app's assignment endpoint (signed), the app answers with an instruction or
defers, the app accepts and completes over REST, and the emulator's event callbacks reach the
app. ``POST /_fake/advance`` moves the emulator's clock so that a reservation times out.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskrouter_async.testing import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

pytestmark = pytest.mark.nonconforming_requests  # resources beyond reservations, sent with raw HTTP

ROOT = Path(__file__).parent.parent
AUTH = (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
CALLER_ID = "+15550100"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    return {**env, "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN, **extra}


def _workspace_file(path: Path, app_url: str) -> None:
    """What a person writes (YAML): one queue for English speakers, voice to the conference, a short timeout."""
    path.write_text(
        f"""
friendly_name: Support
event_callback_url: {app_url}/taskrouter/events
task_queues:
  - friendly_name: English
    target_workers: "languages HAS 'en'"
workflows:
  - friendly_name: Main
    assignment_callback_url: {app_url}/taskrouter/assignment
    task_reservation_timeout: 30
    configuration:
      task_routing:
        filters: []
        default_filter: {{queue: English}}
workers:
  - friendly_name: Alice
    activity: Available
    attributes: {{languages: [en], contact_uri: "client:alice"}}
  - friendly_name: Bob
    activity: Available
    attributes: {{languages: [en]}}
""",
        encoding="utf-8",
    )


@contextmanager
def _process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def test_fake_server_drives_the_fastapi_example_end_to_end(tmp_path: Path) -> None:
    app_port = _free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    workspace_file = tmp_path / "workspace.yaml"
    _workspace_file(workspace_file, app_url)
    server_args = [sys.executable, "-m", "taskrouter_async", "fake-server", "--port", "0", "--workspace"]
    with _process([*server_args, str(workspace_file)], _env()) as server:
        assert server.stdout is not None
        printed = [server.stdout.readline()]
        while printed[-1] and not printed[-1].lstrip().startswith("try:"):
            printed.append(server.stdout.readline())
        base_url = printed[0].split()[-1]
        assert f"  TWILIO_TASKROUTER_BASE_URL={base_url}\n" in printed
        workspace = next(line.split()[1] for line in printed if line.startswith("  workspace WS"))
        app_env = _env(TWILIO_TASKROUTER_BASE_URL=base_url, TWILIO_CALLER_ID=CALLER_ID)
        app_args = [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            "examples",
            "fastapi_app:app",
            "--port",
            str(app_port),
        ]
        with _process(app_args, app_env) as app, httpx.Client(timeout=30) as http:
            _wait_until_up(f"{app_url}/docs")
            tasks = f"{base_url}/v1/Workspaces/{workspace}/Tasks"
            history = _flow(http, app_url, tasks, workspace)
            app.terminate()
            app_log = app.communicate(timeout=30)[1]
        server.terminate()
        server_log = server.communicate(timeout=30)[1]
    assert history["voice"] == ["pending", "accepted", "completed"], app_log
    assert history["chat"] == ["pending", "accepted"]
    assert history["timed out"] == ["pending", "timeout"]
    # One log line per request: method, path, status and time.
    logged = [line for line in server_log.splitlines() if line.startswith("POST /v1/Workspaces/")]
    assert logged
    assert logged[0].split()[2] == "201"
    assert logged[0].endswith(" ms")


def _reservation_once_answered(http: httpx.Client, url: str) -> dict[str, Any]:
    """The task's one reservation once the app's answer to its assignment callback is applied.

    The emulator delivers a callback before it answers the request that caused it, unless another delivery
    is still running (docs/emulator.md): then the answer lands a moment later, so the test waits for it.
    """
    deadline = time.monotonic() + 10
    while True:
        [reservation] = http.get(url, auth=AUTH).json()["reservations"]
        if reservation["reservation_status"] != "pending" or time.monotonic() > deadline:
            return dict(reservation)
        time.sleep(0.05)


def _flow(http: httpx.Client, app_url: str, tasks: str, workspace: str) -> dict[str, list[str]]:
    history: dict[str, list[str]] = {}
    # A voice task: the emulator reserves a worker, the app answers the assignment callback with a conference.
    voice = http.post(tasks, data={"Attributes": json.dumps({"type": "voice"})}, auth=AUTH).json()
    reservation = _reservation_once_answered(http, f"{tasks}/{voice['sid']}/Reservations")
    assert reservation["reservation_status"] == "accepted"
    completed = http.post(
        f"{app_url}/workspaces/{workspace}/tasks/{voice['sid']}/reservations/{reservation['sid']}/complete"
    )
    assert completed.json()["reservation_status"] == "completed"
    history["voice"] = http.get(f"{app_url}/reservations/{reservation['sid']}/history").json()
    assert http.get(f"{tasks}/{voice['sid']}", auth=AUTH).json()["assignment_status"] == "completed"

    # A chat task: the app defers; a worker accepts through the app's endpoint.
    chat = http.post(tasks, data={"Attributes": json.dumps({"type": "chat"})}, auth=AUTH).json()
    pending: list[dict[str, Any]] = http.get(
        f"{app_url}/workspaces/{workspace}/tasks/{chat['sid']}/reservations"
    ).json()
    assert len(pending) == 1
    accepted = http.post(
        f"{app_url}/workspaces/{workspace}/tasks/{chat['sid']}/reservations/{pending[0]['sid']}/accept"
    )
    assert accepted.json()["reservation_status"] == "accepted", accepted.text
    history["chat"] = http.get(f"{app_url}/reservations/{pending[0]['sid']}/history").json()

    # Nobody answers the next chat: the emulator's clock, moved on, times the reservation out.
    late = http.post(tasks, data={"Attributes": json.dumps({"type": "chat"})}, auth=AUTH).json()
    [waiting] = http.get(f"{tasks}/{late['sid']}/Reservations", auth=AUTH).json()["reservations"]
    moved = http.post(f"{tasks.split('/v1/')[0]}/_fake/advance", data={"Seconds": "30"}, auth=AUTH)
    assert moved.status_code == 200
    history["timed out"] = http.get(f"{app_url}/reservations/{waiting['sid']}/history").json()
    return history
