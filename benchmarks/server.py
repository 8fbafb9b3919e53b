"""A local nginx that plays the TaskRouter API for benchmarks: static answers, started and stopped here.

nginx (Debian's package, installed with apt-get when missing) serves one canned reservation, as
a static file with an ETag, for a fetch or an update of any reservation SID (likewise one task for
any task SID and one worker for any worker SID), and pre-generated list pages for the walk, so the
server costs far less CPU than the Python clients it is measuring. An update that sends
``If-Match`` gets 200 when it names that ETag and 412 otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

WORKSPACE_SID = "WS" + "b" * 32
TASK_SID = "WT" + "c" * 32
WORKER_SID = "WK" + "d" * 32
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "benchmark-token-0123456789abcdef"
OFFLINE_ACTIVITY_SID = "WA" + "0" * 32
WALK_TOTAL = 10_000
PAGE_SIZES = (50, 1000)


def reservation_sid(i: int) -> str:
    return f"WR{i:032x}"


def reservation_json(base: str, i: int, status: str = "accepted") -> dict[str, object]:
    """A reservation as the API returns it, with every documented key."""
    sid = reservation_sid(i)
    path = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{sid}"
    return {
        "account_sid": ACCOUNT_SID,
        "date_created": "2014-05-14T10:50:02Z",
        "date_updated": "2014-05-15T16:03:42Z",
        "links": {
            "task": f"{base}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}",
            "worker": f"{base}/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}",
            "workspace": f"{base}/v1/Workspaces/{WORKSPACE_SID}",
        },
        "reservation_status": status,
        "sid": sid,
        "task_sid": TASK_SID,
        "url": base + path,
        "worker_name": "Doug",
        "worker_sid": WORKER_SID,
        "workspace_sid": WORKSPACE_SID,
    }


def task_sid(i: int) -> str:
    return f"WT{i:032x}"


def worker_sid(i: int) -> str:
    return f"WK{i:032x}"


def task_json(base: str) -> dict[str, object]:
    """A task as the API returns it, with every documented key."""
    path = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}"
    return {
        "account_sid": ACCOUNT_SID,
        "age": 25200,
        "assignment_status": "completed",
        "attributes": '{"body": "hello", "customer_ticket_number": "12345"}',
        "addons": "{}",
        "date_created": "2014-05-14T18:50:02Z",
        "date_updated": "2014-05-15T07:26:06Z",
        "task_queue_entered_date": "2014-05-14T18:50:02Z",
        "priority": 1,
        "reason": "done",
        "sid": TASK_SID,
        "task_queue_sid": "WQ" + "e" * 32,
        "task_queue_friendly_name": "English",
        "task_channel_sid": "TC" + "f" * 32,
        "task_channel_unique_name": "unique",
        "timeout": 60,
        "workflow_sid": "WW" + "1" * 32,
        "workflow_friendly_name": "Example Workflow",
        "workspace_sid": WORKSPACE_SID,
        "url": base + path,
        "links": {
            "task_queue": f"{base}/v1/Workspaces/{WORKSPACE_SID}/TaskQueues/WQ{'e' * 32}",
            "workflow": f"{base}/v1/Workspaces/{WORKSPACE_SID}/Workflows/WW{'1' * 32}",
            "workspace": f"{base}/v1/Workspaces/{WORKSPACE_SID}",
            "reservations": f"{base}{path}/Reservations",
        },
        "virtual_start_time": "2014-05-14T18:50:02Z",
        "ignore_capacity": False,
        "routing_target": None,
    }


def worker_json(base: str) -> dict[str, object]:
    """A worker as the API returns it, with every documented key."""
    path = f"/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}"
    return {
        "account_sid": ACCOUNT_SID,
        "activity_name": "Offline",
        "activity_sid": OFFLINE_ACTIVITY_SID,
        "attributes": '{"languages": ["en"], "skill": "sales"}',
        "available": False,
        "date_created": "2017-05-30T23:05:29Z",
        "date_status_changed": "2017-05-30T23:05:29Z",
        "date_updated": "2017-05-30T23:05:29Z",
        "friendly_name": "Doug",
        "sid": WORKER_SID,
        "workspace_sid": WORKSPACE_SID,
        "url": base + path,
        "links": {
            "channels": f"{base}{path}/Channels",
            "reservations": f"{base}{path}/Reservations",
            "activity": f"{base}/v1/Workspaces/{WORKSPACE_SID}/Activities/{OFFLINE_ACTIVITY_SID}",
            "workspace": f"{base}/v1/Workspaces/{WORKSPACE_SID}",
        },
    }


def ensure_nginx() -> str:
    """The nginx binary; installs Debian's package when it is missing (needs root and apt)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found:
        return found
    print("nginx not found: installing it with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"], check=True, env=env)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_pages(root: Path, base: str) -> None:
    """List pages for the walk: /p{size}/t{token}.json, the first page under the empty token."""
    list_path = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations"
    for size in PAGE_SIZES:
        folder = root / f"p{size}"
        folder.mkdir(parents=True)
        pages = WALK_TOTAL // size
        for page in range(pages):
            token = "" if page == 0 else f"PT{page}"
            next_url = f"{base}{list_path}?PageSize={size}&Page={page + 1}&PageToken=PT{page + 1}"
            body = {
                "meta": {
                    "first_page_url": f"{base}{list_path}?PageSize={size}&Page=0",
                    "key": "reservations",
                    "next_page_url": next_url if page + 1 < pages else None,
                    "page": page,
                    "page_size": size,
                    "previous_page_url": None,
                    "url": f"{base}{list_path}?PageSize={size}&Page={page}",
                },
                "reservations": [reservation_json(base, page * size + i) for i in range(size)],
            }
            (folder / f"t{token}.json").write_text(json.dumps(body))


_CONFIG = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        default_type application/json;
        # Any reservation SID: the static file answers with an ETag, which nginx's static module also
        # checks If-Match against (a `return 200` answer has no ETag of its own, so If-Match would get
        # 412). nginx refuses a POST to a static file with 405; the error page turns that into a GET of
        # the same file, answered 200.
        location ~ "^/v1/Workspaces/WS[0-9a-f]{{32}}/(Tasks|Workers)/W[TK][0-9a-f]{{32}}/Reservations/WR[0-9a-f]+$" {{
            root {dir}/instance;
            client_body_buffer_size 64k;
            rewrite ^ /reservation.json break;
            error_page 405 =200 /reservation.json;
        }}
        location = /reservation.json {{
            internal;
            root {dir}/instance;
        }}
        # Any task SID and any worker SID likewise: one task, one worker.
        location ~ "^/v1/Workspaces/WS[0-9a-f]{{32}}/Tasks/WT[0-9a-f]{{32}}$" {{
            root {dir}/instance;
            client_body_buffer_size 64k;
            rewrite ^ /task.json break;
            error_page 405 =200 /task.json;
        }}
        location = /task.json {{
            internal;
            root {dir}/instance;
        }}
        location ~ "^/v1/Workspaces/WS[0-9a-f]{{32}}/Workers/WK[0-9a-f]{{32}}$" {{
            root {dir}/instance;
            client_body_buffer_size 64k;
            rewrite ^ /worker.json break;
            error_page 405 =200 /worker.json;
        }}
        location = /worker.json {{
            internal;
            root {dir}/instance;
        }}
        location ~ "^/v1/Workspaces/WS[0-9a-f]{{32}}/Tasks/WT[0-9a-f]{{32}}/Reservations$" {{
            root {dir}/pages;
            try_files /p$arg_PageSize/t$arg_PageToken.json =404;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class Mock:
    """A running mock: where it listens and the ETag it sends with every reservation."""

    base_url: str
    etag: str


@contextlib.contextmanager
def nginx_server() -> Iterator[Mock]:
    """Start nginx on a free 127.0.0.1 port; yield it once it answers as expected; stop it and remove its files."""
    binary = ensure_nginx()
    with tempfile.TemporaryDirectory(prefix="taskrouter-bench-") as tmp:
        os.chmod(tmp, 0o755)  # nginx's workers run as an unprivileged user when started by root
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        _write_pages(Path(tmp) / "pages", base)
        (Path(tmp) / "instance").mkdir()
        (Path(tmp) / "instance" / "reservation.json").write_text(json.dumps(reservation_json(base, 0)))
        (Path(tmp) / "instance" / "task.json").write_text(json.dumps(task_json(base)))
        (Path(tmp) / "instance" / "worker.json").write_text(json.dumps(worker_json(base)))
        config = Path(tmp) / "nginx.conf"
        config.write_text(_CONFIG.format(dir=tmp, port=port))
        process = subprocess.Popen([binary, "-c", str(config), "-p", tmp], stderr=subprocess.PIPE)
        try:
            _wait_for(port, process)
            yield Mock(base_url=base, etag=_check(base))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"nginx exited with {process.returncode}: {stderr}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not start listening within 10 s")


def _check(base: str) -> str:
    """The mock's ETag, after checking that it answers a fetch, an update and If-Match as the benchmarks expect,
    and that task and worker updates are answered 200."""
    url = f"{base}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{reservation_sid(123_456)}"

    def status(etag: str | None, body: bytes | None, url: str = url) -> tuple[int, str]:
        request = urllib.request.Request(url, data=body, headers={"If-Match": etag} if etag else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get("ETag", "")
        except urllib.error.HTTPError as error:
            return error.code, ""

    fetched, etag = status(None, None)
    answers = (
        fetched,
        status(None, b"ReservationStatus=accepted")[0],
        status(etag, b"a=b")[0],
        status('"x"', b"a=b")[0],
    )
    if not etag or answers != (200, 200, 200, 412):
        raise RuntimeError(f"the nginx mock answers {answers} with ETag {etag!r}, not (200, 200, 200, 412)")
    for path in (f"Tasks/{task_sid(123_456)}", f"Workers/{worker_sid(123_456)}"):
        answer = status(None, b"a=b", f"{base}/v1/Workspaces/{WORKSPACE_SID}/{path}")[0]
        if answer != 200:
            raise RuntimeError(f"the nginx mock answers {answer} to an update of {path}, not 200")
    return etag
