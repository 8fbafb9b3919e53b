"""The argument parser: commands, options and the checks argparse can make (bad usage exits 2).

argparse stays (rather than click or typer) because the parser already existed and shtab turns it
into static bash/zsh/tcsh completion scripts with no change to it; argcomplete would instead run
Python (and import httpx) on every Tab press and needs a hook in the user's shell start-up.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from .._enums import ReservationStatus
from .._resource import MAX_PAGE_SIZE
from .._sids import SID_KINDS, is_sid
from .._version import __version__
from ._inputs import if_match_value
from ._resources import add_resource_commands

__all__ = ["DEFAULT_CONCURRENCY", "build_parser"]

_STATUSES = [s.value for s in ReservationStatus]
DEFAULT_CONCURRENCY = 10


def build_parser(
    file_completion: Mapping[str, object] | None = None, *, only: str | None = None
) -> argparse.ArgumentParser:
    """The whole command line; ``file_completion`` (shtab's FILE) marks arguments that name files.

    ``only`` is the command named on the command line: of the resource groups, only its gets
    its sub-commands built (see ``add_resource_commands``).
    """
    parser = argparse.ArgumentParser(
        prog="taskrouter-async",
        description="Twilio TaskRouter from the command line: a command for every resource and operation "
        "(taskrouter-async workers list WS…), bulk updates, a fake server and a demo.",
        epilog="Credentials come from TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and "
        "TWILIO_API_SECRET). Try 'demo' first: it needs neither credentials nor network.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(required=True, metavar="command")

    api = argparse.ArgumentParser(add_help=False)
    api.add_argument("--base-url", metavar="URL", help="API base URL (default: Twilio's); e.g. a fake-server's")
    api.add_argument(
        "--engine",
        choices=("auto", "httpx", "aiohttp", "pyreqwest"),
        default="auto",
        help="HTTP engine (default auto: the fastest installed, pyreqwest then aiohttp, else httpx)",
    )
    api.add_argument(
        "--allow-insecure-http", action="store_true", help="allow plain http to a --base-url that is not loopback"
    )

    parent = argparse.ArgumentParser(add_help=False, parents=[api])
    parent.add_argument(
        "--workspace", required=True, metavar="WS_SID", type=_sid("WS"), help="the workspace the reservations are in"
    )
    which = parent.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", metavar="WT_SID", type=_sid("WT"), help="a task's reservations")
    which.add_argument("--worker", metavar="WK_SID", type=_sid("WK"), help="a worker's reservations")
    parent.add_argument("--table", action="store_true", help="a table for people (with the ETag) instead of JSON lines")

    reservations = commands.add_parser("reservations", help="list, fetch or update reservations")
    actions = reservations.add_subparsers(required=True, metavar="action")
    listing = actions.add_parser("list", parents=[parent], help="list reservations, following pages")
    listing.add_argument("--status", choices=_STATUSES, metavar="STATUS", help=", ".join(_STATUSES))
    listing.add_argument("--worker-sid", metavar="WK_SID", type=_sid("WK"), help="only this worker's (with --task)")
    listing.add_argument("--page-size", type=_count(1, MAX_PAGE_SIZE), help=f"1..{MAX_PAGE_SIZE} per request")
    listing.add_argument("--limit", type=_count(0), help="stop after this many")
    listing.set_defaults(command="list", command_parser=listing)
    fetch = actions.add_parser("fetch", parents=[parent], help="fetch one reservation")
    fetch.add_argument("sid", metavar="WR_SID", type=_sid("WR"))
    fetch.set_defaults(command="fetch", command_parser=fetch)
    update = actions.add_parser(
        "update",
        parents=[parent],
        help="update one reservation",
        epilog="Field names are the API's (ReservationStatus) or snake_case (reservation_status).",
    )
    update.add_argument("sid", metavar="WR_SID", type=_sid("WR"))
    update.add_argument(
        "--status", choices=_STATUSES, metavar="STATUS", help="the new ReservationStatus: " + ", ".join(_STATUSES)
    )
    update.add_argument(
        "-p", "--param", action="append", default=[], type=_key_value, metavar="KEY=VALUE", help="any update field"
    )
    update.add_argument(
        "--if-match",
        metavar="ETAG",
        type=_typed(if_match_value),
        help="apply only if the reservation still has this ETag: the etag a fetch printed, sent exactly as given "
        "(quotes included, e.g. '\"3\"')",
    )
    update.set_defaults(command="update", command_parser=update)

    bulk = commands.add_parser(
        "bulk-update",
        parents=[api],
        help="apply JSON-lines updates concurrently",
        description='Each input line: {"workspace_sid": "WS...", "task_sid": "WT..." or "worker_sid": "WK...", '
        '"reservation_sid": "WR...", "params": {"ReservationStatus": "accepted", ...}, "etag": optional}; '
        "params by their API or snake_case names; etag as a fetch printed it (quotes included), sent as given. "
        "One JSON result line per input line; a summary on stderr; exit status 1 if any failed.",
    )
    source = bulk.add_argument("file", nargs="?", default="-", help="input file (default: standard input)")
    bulk.add_argument(
        "--concurrency",
        type=_count(1),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"updates in flight at once, for task and for worker reservations (default {DEFAULT_CONCURRENCY})",
    )
    bulk.add_argument("--dry-run", action="store_true", help="check every line (and the credentials); send nothing")
    resume = bulk.add_argument(
        "--resume",
        action="append",
        default=[],
        metavar="RESULTS",
        help="the results (stdout) of an earlier run of the same input: skip lines with a final outcome; "
        "re-send what was under way only with an etag (If-Match makes a repeat safe), list the rest; repeatable",
    )
    bulk.add_argument(
        "--rate",
        type=_rate,
        metavar="N|auto",
        help="at most N requests a second (retries included), per workspace; 'auto' learns each endpoint's "
        "limit from Twilio's answers; shared with --rate-limit-url",
    )
    bulk.add_argument(
        "--rate-limit-url",
        metavar="URL",
        help="redis://... : share the --rate budget with every process using the same Redis (the [redis] extra)",
    )
    bulk.set_defaults(command="bulk-update", command_parser=bulk)

    server = commands.add_parser(
        "fake-server",
        help="serve a fake TaskRouter with sample data on 127.0.0.1",
        description="Serve the library's fake TaskRouter on 127.0.0.1, seeded with sample reservations.",
    )
    server.add_argument("--port", type=_count(0, 65535), default=8765, help="0 picks a free port (default 8765)")
    server.add_argument("--seed", type=_count(0), default=0, metavar="N", help="also seed N pending reservations")
    server.add_argument(
        "--workers",
        type=_count(1),
        default=10,
        metavar="N",
        help="offer the seeded reservations to N workers (default 10)",
    )
    updates_file = server.add_argument(
        "--updates-file",
        metavar="PATH",
        help="write a bulk-update input file that accepts one pending reservation per task (with If-Match)",
    )
    server.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="KIND=RATE",
        help="answer this fraction of requests with a fault: 429, a 5xx status such as 503, or stall; repeatable",
    )
    server.add_argument(
        "--retry-after", type=_count(0), default=1, metavar="SECONDS", help="Retry-After of a 429 fault (default 1)"
    )
    server.add_argument(
        "--stall-seconds", type=_seconds, default=2.0, metavar="SECONDS", help="how long a stall lasts (default 2)"
    )
    # The emulator's options (docs/emulator.md): a workspace to route in, callbacks, memory, determinism.
    server.add_argument("--workspace", metavar="PATH", help="serve this workspace (YAML or JSON) instead of the sample")
    server.add_argument("--assignment-url", metavar="URL", help="send assignment callbacks here (on 127.0.0.1)")
    server.add_argument("--event-url", metavar="URL", help="send event callbacks here (on 127.0.0.1)")
    server.add_argument(
        "--history", type=_count(1), default=10_000, metavar="N", help="keep the last N requests and events"
    )
    server.add_argument("--random-seed", type=_count(0), default=0, metavar="N", help="seed of generated SIDs")
    server.add_argument("--quiet", action="store_true", help="no log line per request on stderr")
    server.set_defaults(command="fake-server", command_parser=server)

    add_resource_commands(commands, api, _typed, if_match=_typed(if_match_value), only=only)

    demo = commands.add_parser("demo", help="walk through reservations against an in-process fake")
    demo.set_defaults(command="demo", command_parser=demo)

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description="Print a completion script, e.g. taskrouter-async completion bash > "
        "~/.local/share/bash-completion/completions/taskrouter-async",
    )
    completion.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    completion.set_defaults(command="completion", command_parser=completion)

    if file_completion is not None:
        for action in (source, resume, updates_file):
            action.complete = file_completion  # type: ignore[attr-defined]  # read by shtab
    return parser


# --- argument types: a ValueError or ArgumentTypeError becomes "argument --x: ..." and exit 2 ---------


def _typed(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def checked(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return checked


def _sid(prefix: str) -> Callable[[str], str]:
    def sid(text: str) -> str:
        if not is_sid(text, prefix):
            raise argparse.ArgumentTypeError(
                f"expected a {SID_KINDS[prefix]} SID ({prefix!r} followed by 32 hex digits), got {text!r}"
            )
        return text

    return sid


def _count(low: int, high: int | None = None) -> Callable[[str], int]:
    def count(text: str) -> int:
        value = int(text) if text.strip().isascii() and text.strip().isdigit() else None
        if value is None or value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, got {text!r}")
        return value

    return count


def _rate(text: str) -> int | str:
    """``--rate``: a whole number of requests a second, or ``auto``."""
    return "auto" if text.strip() == "auto" else _count(1)(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 or more), got {text!r}")
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _fault(text: str) -> tuple[str, float]:
    kind, equals, rate_text = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"expected KIND=RATE such as 429=0.02, got {text!r}")
    if kind != "stall" and not (kind == "429" or (kind.isdigit() and 500 <= int(kind) <= 599)):
        raise argparse.ArgumentTypeError(f"the fault KIND is 429, a 5xx status such as 503, or stall; got {kind!r}")
    try:
        rate = float(rate_text)
    except ValueError:
        rate = -1.0
    if not 0 < rate <= 1:
        raise argparse.ArgumentTypeError(f"a fault RATE is a fraction of requests, above 0 and at most 1; got {text!r}")
    return kind, rate
