"""Profile one update run with py-spy and say where its CPU goes: the library, aiohttp, the event loop.

    pip install py-spy
    python -m benchmarks.cpu_profile [--client "taskrouter_async engine=aiohttp, update_many"]
                                 [--loop asyncio] [--concurrency 10] [--n 20000] [--raw profile.txt]

Runs the same child process as ``run.py`` under ``py-spy record --format raw`` against the nginx
mock, leaves out the samples taken while importing, and gives each sample to the innermost frame
that belongs to a group below (a ``json`` or ``urllib`` frame counts for the code that called it).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .clients import LOOPS, UPDATES
from .server import nginx_server

GROUPS = {
    "aiohttp (with yarl, multidict)": ("aiohttp", "yarl", "multidict", "propcache", "aiohappyeyeballs"),
    "event loop and sockets": ("asyncio", "uvloop", "selectors.py", "socket.py", "ssl.py"),
    "anyio": ("anyio", "sniffio"),
    "httpx, httpcore, h11": ("httpx", "httpcore", "h11"),
    "taskrouter_async (with its attrs and cattrs code)": (
        "taskrouter_async",
        "attr",
        "attrs",
        "cattrs",
        "<cattrs generated",
        "<attrs generated",
    ),
    "the twilio SDK": ("twilio",),
    "benchmark harness": ("benchmarks",),
}
_FRAME = re.compile(r"(.*) \((.*):\d+\)$")


def _group(path: str) -> str | None:
    for group, prefixes in GROUPS.items():
        for prefix in prefixes:
            if path.startswith(prefix + "/") or path == prefix or (prefix.startswith("<") and path.startswith(prefix)):
                return group
    return None


def summary(raw: str, top: int = 12) -> str:
    """Share of samples per group, and the library's own functions by share (innermost library frame)."""
    groups: collections.Counter[str] = collections.Counter()
    library: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any("importlib" in frame for frame in frames):
            continue
        parsed = [match.groups() if (match := _FRAME.match(frame)) else (frame, frame) for frame in frames]
        group = next((found for _, path in reversed(parsed) if (found := _group(path))), "other")
        groups[group] += int(count)
        own = next(
            (f"{path}: {function}" for function, path in reversed(parsed) if path.startswith("taskrouter_")), None
        )
        if own and group.startswith("taskrouter_async"):
            library[own] += int(count)
    total = sum(groups.values()) or 1
    lines = [f"{total} samples, imports left out"]
    lines += [f"  {100 * count / total:5.1f}%  {group}" for group, count in groups.most_common()]
    lines.append("taskrouter_async's own functions (innermost):")
    lines += [f"  {100 * count / total:5.1f}%  {function}" for function, count in library.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--client", default="taskrouter_async engine=aiohttp, update_many", choices=list(UPDATES))
    parser.add_argument("--loop", default="asyncio", choices=LOOPS)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--raw", type=Path, help="also keep py-spy's raw (collapsed stacks) output here")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        parser.error("py-spy is not installed: pip install py-spy")
    with nginx_server() as mock, tempfile.TemporaryDirectory() as tmp:
        spec = {"kind": "update", "client": args.client, "loop": args.loop, "n": args.n}
        spec.update(concurrency=args.concurrency, base_url=mock.base_url, etag=mock.etag)
        output = Path(tmp) / "profile.txt"
        command = [py_spy, "record", "--format", "raw", "--rate", "250", "--output", str(output), "--"]
        subprocess.run([*command, sys.executable, "-m", "benchmarks.child", json.dumps(spec)], check=True)
        raw = output.read_text()
    if args.raw:
        args.raw.write_text(raw)
    print(f"{args.client}, {args.loop}, c={args.concurrency}, N={args.n:,}")
    print(summary(raw))


if __name__ == "__main__":
    main()
