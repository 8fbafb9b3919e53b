"""Two versions of the library side by side in one run: their reservation ratios to the SDK, before and after.

    git worktree add ../bench-before <commit>
    python -m benchmarks.compare ../bench-before [--n 3000] [--repeats 5] [--fetches 300] [--loops asyncio]

Every measured run is a fresh process (``child.py``); the "before" runs start in the other tree, so
they import its ``taskrouter_async`` and its ``benchmarks`` (the SDK always runs from this tree).
Within a repeat, the SDK and both versions of each configuration run one after another in an
order that rotates between repeats; each version's figure is divided by the SDK's of the same
repeat, and the table gives the medians over repeats of those ratios and of after / before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from .clients import OURS_AIOHTTP, OURS_HTTPX, SDK
from .run import CONCURRENCY, DEFAULT, FAST, Plan, _reads
from .server import WALK_TOTAL, Mock, nginx_server

UPDATE_ROWS = (FAST, DEFAULT, f"{OURS_AIOHTTP}, update() loop")
READ_ROWS = (OURS_AIOHTTP, OURS_HTTPX)
#: (row, concurrency or read) -> per repeat, {"before": ratio, "after": ratio}.
Ratios = dict[tuple[str, Any], list[dict[str, float]]]


def _child(spec: dict[str, Any], tree: Path) -> dict[str, float]:
    """One measured run in ``tree``; run again once if it fails (on a loaded machine the SDK's aiohttp
    session has been seen to fail a request with "Can not write request body")."""
    for attempt in (1, 2):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.child", json.dumps(spec)], capture_output=True, text=True, cwd=tree
        )
        if done.returncode == 0:
            break
        print(f"  child {spec['client']} in {tree} failed (attempt {attempt}): {done.stderr[-300:]}", flush=True)
    else:
        raise RuntimeError(f"benchmark child {spec} in {tree} failed twice:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _repeat(
    mock: Mock, plan: Plan, loop: str, repeat: int, trees: dict[str, Path], kind: dict[str, Any], rows: tuple[str, ...]
) -> dict[str, dict[str, dict[str, float]]]:
    """One repeat of one comparison: the SDK once, every row in both trees; results by row, then tree."""
    runs = [(SDK, "after")] + [(row, version) for row in rows for version in trees]  # rotated as run.py does
    measured: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    shift = repeat % len(runs)
    order = runs[shift:] + runs[:shift]
    for row, version in order[::-1] if repeat % 2 else order:
        spec = {**kind, "client": row, "loop": loop, "base_url": mock.base_url, "etag": mock.etag}
        measured[row][version] = _child(spec, trees[version])
        if kind["kind"] == "walk" and measured[row][version]["count"] != WALK_TOTAL:
            raise RuntimeError(f"{row} ({version}) walked {measured[row][version]['count']}, not {WALK_TOTAL}")
    return measured


def run(mock: Mock, plan: Plan, trees: dict[str, Path]) -> dict[str, Ratios]:
    ratios: dict[str, Ratios] = defaultdict(lambda: defaultdict(list))
    for repeat in range(plan.repeats):
        for loop in plan.loops:
            for concurrency in CONCURRENCY:
                kind = {"kind": "update", "concurrency": concurrency, "n": plan.n}
                measured = _repeat(mock, plan, loop, repeat, trees, kind, UPDATE_ROWS)
                sdk = measured[SDK]["after"]["updates_per_s"]
                for row in UPDATE_ROWS:
                    found = {version: measured[row][version]["updates_per_s"] / sdk for version in trees}
                    ratios[loop][row, concurrency].append(found)
                    print(f"  repeat {repeat + 1} {loop} c={concurrency:<3} {row:48s} {_show(found)}", flush=True)
            for label, kind in _reads(plan):
                measured = _repeat(mock, plan, loop, repeat, trees, kind, READ_ROWS)
                sdk = measured[SDK]["after"]["wall_s"]
                for row in READ_ROWS:
                    found = {version: measured[row][version]["wall_s"] / sdk for version in trees}
                    ratios[loop][row, label].append(found)
                    print(f"  repeat {repeat + 1} {loop} {label:32s} {row:32s} {_show(found)}", flush=True)
    return ratios


def _show(found: dict[str, float]) -> str:
    return " ".join(f"{version} {ratio:.2f}x" for version, ratio in found.items())


def table(ratios: dict[str, Ratios]) -> str:
    lines = [
        "| event loop | measure | configuration | before (x SDK) | after (x SDK) | after / before |",
        "|---|---|---|---:|---:|---:|",
    ]
    for loop, by_row in ratios.items():
        for (row, what), rows in by_row.items():
            measure = f"updates/s, c={what}" if isinstance(what, int) else f"wall s (lower is better), {what}"
            before = statistics.median(r["before"] for r in rows)
            after = statistics.median(r["after"] for r in rows)
            change = statistics.median(r["after"] / r["before"] for r in rows)
            lines.append(f"| {loop} | {measure} | {row} | {before:.2f} | {after:.2f} | {change:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("before", type=Path, help="a worktree of the version to compare with (git worktree add)")
    parser.add_argument("--n", type=int, default=3_000, help="updates per measured run (default 3000)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of every run (default 5)")
    parser.add_argument("--fetches", type=int, default=300, help="fetches per measured fetch loop (default 300)")
    parser.add_argument("--loops", default="asyncio", help="event loops, comma-separated (default asyncio)")
    args = parser.parse_args()
    if not (args.before / "benchmarks" / "child.py").exists():
        parser.error(f"{args.before} has no benchmarks/child.py")
    plan = Plan(n=args.n, repeats=args.repeats, fetches=args.fetches, loops=tuple(args.loops.split(",")))
    trees = {"before": args.before.resolve(), "after": Path(__file__).resolve().parent.parent}
    with nginx_server() as mock:
        print(f"nginx at {mock.base_url}; {plan}; before = {trees['before']}", flush=True)
        ratios = run(mock, plan, trees)
    print(f"\nCommand: `python -m benchmarks.compare {' '.join(sys.argv[1:])}`; medians over {plan.repeats} repeats.\n")
    print(table(ratios))


if __name__ == "__main__":
    main()
