"""Run every benchmark side by side against a local nginx and print (or write) the results.

    python -m benchmarks.run [--quick] [--n 10000] [--repeats 3] [--fetches 1000]
                             [--loops asyncio,uvloop] [--write]

Each measured run is a fresh process (see ``child.py``). Within a repeat, the runs that are
compared with each other (one event loop, one concurrency) go one after another, in an order that
rotates between repeats, so that a noisy neighbour hurts every client alike. Ratios compare a
client with its baseline (the official SDK) measured in the same repeat; the tables show medians
over repeats. ``--write`` replaces the results section of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from . import chart, micro
from .clients import LOOPS, OURS_AIOHTTP, OURS_HTTPX, OURS_PYREQWEST, READERS, SDK, UPDATES
from .server import PAGE_SIZES, WALK_TOTAL, Mock, ensure_nginx, nginx_server

CONCURRENCY = (1, 10, 100)
README = Path(__file__).with_name("README.md")
START, END = "<!-- results:start -->", "<!-- results:end -->"
UPDATE_COLUMNS = (
    ("updates_per_s", "updates/s", "{:,.0f}"),
    ("cpu_ms_per_update", "CPU s / 1000 updates", "{:.3f}"),
    ("p50_ms", "p50 ms", "{:.2f}"),
    ("p99_ms", "p99 ms", "{:.2f}"),
    ("peak_rss_mib", "peak RSS MiB", "{:.1f}"),
)
READ_COLUMNS = (
    ("wall_s", "wall s", "{:.3f}"),
    ("cpu_s", "CPU s", "{:.3f}"),
    ("peak_rss_mib", "peak RSS MiB", "{:.1f}"),
)
FAST = f"{OURS_AIOHTTP}, update_many"
RUST = f"{OURS_PYREQWEST}, update_many"
DEFAULT = f"{OURS_HTTPX}, update_many"
#: (loop, client, concurrency or read) -> one result per repeat, each with ``*_ratio`` keys against its baseline.
Results = dict[tuple[str, str, Any], list[dict[str, float]]]


@dataclass(frozen=True)
class Plan:
    n: int
    repeats: int
    fetches: int
    loops: tuple[str, ...]


def _child(spec: dict[str, Any]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.child", json.dumps(spec)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {spec} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _rotated(names: list[str], repeat: int) -> list[str]:
    order = names[repeat % len(names) :] + names[: repeat % len(names)]
    return order[::-1] if repeat % 2 else order


def _add_ratios(measured: dict[str, dict[str, float]], baseline_of: Callable[[str], str]) -> None:
    """Every result gets ``key_ratio`` = its value / its baseline's value in the same repeat."""
    for name, result in measured.items():
        baseline = measured[baseline_of(name)]
        for key in [key for key in result if not key.endswith("_ratio")]:
            if baseline.get(key):
                result[f"{key}_ratio"] = result[key] / baseline[key]


def run_updates(mock: Mock, plan: Plan) -> Results:
    results: Results = defaultdict(list)
    for repeat in range(plan.repeats):
        for loop in plan.loops:
            names = [name for name, client in UPDATES.items() if loop in client.loops]
            for concurrency in CONCURRENCY:
                measured = {}
                for name in _rotated(names, repeat):
                    n = max(1, round(plan.n * UPDATES[name].share))
                    spec = {"kind": "update", "client": name, "loop": loop, "concurrency": concurrency, "n": n}
                    measured[name] = _child({**spec, "base_url": mock.base_url, "etag": mock.etag})
                    rate, cpu = measured[name]["updates_per_s"], measured[name]["cpu_ms_per_update"]
                    print(
                        f"  repeat {repeat + 1} {loop:7s} c={concurrency:<3} {name:50s} {rate:8,.0f}/s"
                        f" {cpu:.3f} CPU s/1000 {measured[name]['peak_rss_mib']:.1f} MiB",
                        flush=True,
                    )
                _add_ratios(measured, lambda name: UPDATES[name].baseline)
                for name, result in measured.items():
                    results[loop, name, concurrency].append(result)
    return results


def _reads(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """(label, the child's arguments) of every read: the fetch loop and the walks."""
    reads = [(f"fetch {plan.fetches:,} one after another", {"kind": "fetch", "n": plan.fetches})]
    for page_size in PAGE_SIZES:
        reads.append((f"walk {WALK_TOTAL:,}, page size {page_size}", {"kind": "walk", "page_size": page_size}))
    return reads


def run_reads(mock: Mock, plan: Plan) -> Results:
    results: Results = defaultdict(list)
    for repeat in range(plan.repeats):
        for loop in plan.loops:
            for label, spec in _reads(plan):
                measured = {}
                for name in _rotated(list(READERS), repeat):
                    full = {**spec, "client": name, "loop": loop, "base_url": mock.base_url, "etag": mock.etag}
                    measured[name] = _child(full)
                    if spec["kind"] == "walk" and measured[name]["count"] != WALK_TOTAL:
                        raise RuntimeError(f"{name} walked {measured[name]['count']} reservations, not {WALK_TOTAL}")
                    print(f"  repeat {repeat + 1} {loop:7s} {label:32s} {name:32s} {measured[name]['wall_s']:.3f} s")
                _add_ratios(measured, lambda name: SDK)
                for name, result in measured.items():
                    results[loop, name, label].append(result)
    return results


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _ratios(results: Results, loop: str, name: str, key: str) -> str:
    return " / ".join(f"{_median(results[loop, name, c], key + '_ratio'):.2f}" for c in CONCURRENCY)


def summary_table(results: Results, plan: Plan) -> str:
    lines = [
        "| event loop | configuration | vs | updates/s, c=1 / 10 / 100 | CPU per update | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for loop in plan.loops:
        for name, client in UPDATES.items():
            if loop not in client.loops or name == client.baseline:
                continue
            cells = [
                _ratios(results, loop, name, key) for key in ("updates_per_s", "cpu_ms_per_update", "peak_rss_mib")
            ]
            label = f"**{name}**" if name.startswith("taskrouter_async") else name
            lines.append(f"| {loop} | {label} | {client.baseline} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals_table(updates: Results, reads: Results, plan: Plan) -> str:
    """The issue's performance goals next to what this run measured."""

    def ratio(loop: str, name: str, c: int, key: str) -> float:
        return _median(updates[loop, name, c], key + "_ratio")

    lines = ["| goal | event loop | measured | met |", "|---|---|---|---|"]

    def add(goal: str, loop: str, values: list[float], limit: float, at_least: bool) -> None:
        met = all(v >= limit if at_least else v <= limit for v in values)
        lines.append(f"| {goal} | {loop} | {' / '.join(f'{v:.2f}' for v in values)} | {'yes' if met else '**no**'} |")

    for loop in plan.loops:
        add("engine=pyreqwest updates/s ≥ 1.2x SDK at c=1", loop, [ratio(loop, RUST, 1, "updates_per_s")], 1.2, True)
        rust_rates = [ratio(loop, RUST, c, "updates_per_s") for c in (10, 100)]
        add("engine=pyreqwest updates/s ≥ 1.5x SDK at c=10 / 100", loop, rust_rates, 1.5, True)
        rust_cpu = [ratio(loop, RUST, c, "cpu_ms_per_update") for c in CONCURRENCY]
        add("engine=pyreqwest CPU per update ≤ 0.7x SDK, c=1 / 10 / 100", loop, rust_cpu, 0.7, False)
        rust_rss = [ratio(loop, RUST, c, "peak_rss_mib") for c in CONCURRENCY]
        add("engine=pyreqwest peak RSS ≤ 1.15x SDK, c=1 / 10 / 100", loop, rust_rss, 1.15, False)
        add("engine=aiohttp updates/s ≥ 1.2x SDK at c=1", loop, [ratio(loop, FAST, 1, "updates_per_s")], 1.2, True)
        fast_rates = [ratio(loop, FAST, c, "updates_per_s") for c in (10, 100)]
        add("engine=aiohttp updates/s ≥ 1.5x SDK at c=10 / 100", loop, fast_rates, 1.5, True)
        fast_cpu = [ratio(loop, FAST, c, "cpu_ms_per_update") for c in CONCURRENCY]
        add("engine=aiohttp CPU per update ≤ 0.7x SDK, c=1 / 10 / 100", loop, fast_cpu, 0.7, False)
        fast_rss = [ratio(loop, FAST, c, "peak_rss_mib") for c in CONCURRENCY]
        add("engine=aiohttp peak RSS ≤ SDK, c=1 / 10 / 100", loop, fast_rss, 1.0, False)
        default_rates = [ratio(loop, DEFAULT, c, "updates_per_s") for c in CONCURRENCY]
        add("engine=httpx updates/s ≥ 0.6x SDK, c=1 / 10 / 100", loop, default_rates, 0.6, True)
        for reader in (OURS_HTTPX, OURS_AIOHTTP, OURS_PYREQWEST):
            walls = [_median(reads[loop, reader, label], "wall_s_ratio") for label, _ in _reads(plan)]
            add(f"{reader}: fetch, walk 50, walk 1000 wall ≤ SDK", loop, walls, 1.0, False)
    return "\n".join(lines)


def update_table(results: Results, plan: Plan) -> str:
    head = ["event loop", "client", "c"] + [f"{label} (x baseline)" for _, label, _ in UPDATE_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|" + "---:|" * len(UPDATE_COLUMNS)]
    for loop in plan.loops:
        for concurrency in CONCURRENCY:
            for name, client in UPDATES.items():
                if loop not in client.loops:
                    continue
                rows = results[loop, name, concurrency]
                cells = [
                    f"{fmt.format(_median(rows, key))} ({_median(rows, key + '_ratio'):.2f}x)"
                    for key, _, fmt in UPDATE_COLUMNS
                ]
                label = f"**{name}**" if name.startswith("taskrouter_async") else name
                lines.append(f"| {loop} | {label} | {concurrency} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_table(results: Results, plan: Plan) -> str:
    head = ["event loop", "read", "client"] + [f"{label} (x SDK)" for _, label, _ in READ_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * len(READ_COLUMNS)]
    for loop in plan.loops:
        for label, _ in _reads(plan):
            for name in READERS:
                rows = results[loop, name, label]
                cells = [
                    f"{fmt.format(_median(rows, key))} ({_median(rows, key + '_ratio'):.2f}x)"
                    for key, _, fmt in READ_COLUMNS
                ]
                lines.append(f"| {loop} | {label} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _load() -> str:
    return ", ".join(f"{load:.1f}" for load in os.getloadavg())


def environment(nginx: str, load_before: str) -> str:
    packages = ("taskrouter-async", "httpx", "httpcore", "anyio", "aiohttp", "yarl", "pyreqwest", "uvloop", "twilio")
    versions = ", ".join(f"{name} {_version(name)}" for name in packages)
    nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line),
        platform.processor() or "unknown CPU",
    )
    cores = len([line for line in cpuinfo if line.startswith("processor")])
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}, {cpu}, {cores} cores "
        f"(shared with other work while measured, so absolute figures are noisy: compare the medians of "
        f"ratios; load average {load_before} when the run started, {_load()} when it ended); "
        f"{nginx_version}, one worker process.\n\n{versions}."
    )


def _plan(args: argparse.Namespace) -> Plan:
    quick = args.quick
    return Plan(
        n=args.n or (2_000 if quick else 10_000),
        repeats=args.repeats or (1 if quick else 3),
        fetches=args.fetches or (300 if quick else 1_000),
        loops=tuple(args.loops.split(",")),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, N=2000, 300 fetches: about 2 minutes")
    parser.add_argument("--n", type=int, help="updates per measured run (default 10000)")
    parser.add_argument("--repeats", type=int, help="repeats of every run (default 3)")
    parser.add_argument("--fetches", type=int, help="fetches per measured fetch loop (default 1000)")
    parser.add_argument("--loops", default=",".join(LOOPS), help="event loops, comma-separated (default both)")
    parser.add_argument("--write", action="store_true", help="write the tables into benchmarks/README.md")
    args = parser.parse_args()
    plan = _plan(args)
    if unknown := set(plan.loops) - set(LOOPS):
        parser.error(f"unknown event loops {sorted(unknown)}: choose from {', '.join(LOOPS)}")
    started, load_before = time.monotonic(), _load()
    nginx = ensure_nginx()
    print("encode/decode microbenchmarks", flush=True)
    micro_table = micro.table()
    with nginx_server() as mock:
        print(f"nginx at {mock.base_url}; {plan}", flush=True)
        updates = run_updates(mock, plan)
        print("fetching and walking", flush=True)
        reads = run_reads(mock, plan)
    minutes = (time.monotonic() - started) / 60
    command = " ".join(["python -m benchmarks.run", *sys.argv[1:]])
    report = "\n\n".join(
        [
            START,
            f"Command: `{command}` (`nox -s bench` runs `python -m benchmarks.run --write`); took {minutes:.0f} "
            f"minutes. N={plan.n:,} updates per run, every one to a reservation SID of its own; "
            f"{plan.repeats} repeat(s), on {' and '.join(plan.loops)}. `x SDK` and `(x baseline)` are the "
            "median over repeats of the ratio to the official SDK measured in the same repeat, on the same "
            "event loop and at the same concurrency (the If-Match rows are compared with the SDK sending "
            "If-Match). CPU is the client process's user+system time.",
            environment(nginx, load_before),
            "### Concurrent updates against the SDK\n\n" + summary_table(updates, plan),
            f"![{chart.ALT}](../docs/{chart.IN_DOCS})",
            "### The issue's performance goals\n\n" + goals_table(updates, reads, plan),
            "### Fetching and walking\n\n" + read_table(reads, plan),
            "### Concurrent updates, absolute figures\n\n" + update_table(updates, plan),
            "### Encode and decode, per call\n\n" + micro_table,
            END,
        ]
    )
    print(report)
    if args.write:
        drawn = chart.draw(
            {key: [row["updates_per_s_ratio"] for row in rows] for key, rows in updates.items()},
            {key: [row["cpu_ms_per_update_ratio"] for row in rows] for key, rows in updates.items()},
            plan.loops,
            CONCURRENCY,
        )
        print(f"chart drawn to {drawn}")
        text = README.read_text()
        before, _, rest = text.partition(START)
        _, _, after = rest.partition(END)
        README.write_text(before + report + after)
        print(f"written to {README}")


if __name__ == "__main__":
    main()
