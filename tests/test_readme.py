"""README as a front door: its quickstart runs against the fake exactly as written, and its console
lines and links point at things that exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskrouter_async._demo import sample_fake
from taskrouter_async.resources import RESOURCES
from taskrouter_async.testing import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture(scope="module")
def fake_server() -> Iterator[str]:
    """``taskrouter-async fake-server`` as README starts it, on a free port; its first line says where."""
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


def test_the_quickstart_runs_against_the_fake_as_written(fake_server: str, tmp_path: Path) -> None:
    [script] = blocks(section("Quickstart"), "python")
    console = "\n".join(blocks(section("Quickstart"), "console"))
    # The variables README exports, with the fake's port (README's is fake-server's default, 8765).
    exported = dict(re.findall(r"(TWILIO_\w+)=(\S+)", console))
    assert exported["TWILIO_TASKROUTER_BASE_URL"] == "http://127.0.0.1:8765"
    assert (exported["TWILIO_ACCOUNT_SID"], exported["TWILIO_AUTH_TOKEN"]) == (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
    path = tmp_path / "quickstart.py"
    path.write_text(script, encoding="utf-8")
    env = _env(**{**exported, "TWILIO_TASKROUTER_BASE_URL": fake_server})
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    sample = sample_fake().reservations
    lines = run.stdout.splitlines()
    assert lines[:3] == [f"{r.sid} {r.worker_name} pending" for r in sample]
    assert lines[3] == f'accepted {sample[0].sid} for {sample[0].worker_name}, ETag now "2"'


def test_the_quickstart_uses_the_sids_the_fake_serves() -> None:
    sample = sample_fake().reservations[0]
    assert f'"{sample.workspace_sid}"' in section("Quickstart")
    assert f'"{sample.task_sid}"' in section("Quickstart")


def test_the_coverage_table_names_every_resource_of_the_client() -> None:
    table = section("What it covers")
    assert [name for name in RESOURCES if f"| `{name}` |" not in table] == []


def test_the_links_point_at_files_that_exist() -> None:
    targets = re.findall(r"\]\((?!https?://|#)([^)#]+)", README)
    assert targets
    assert [t for t in targets if not (ROOT / t).exists()] == []


def test_the_readme_is_a_front_door_not_a_manual() -> None:
    assert 200 <= README.count("\n") <= 350
