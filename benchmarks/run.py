"""Run every benchmark side by side against a local nginx and print (or write) the results table.

    python -m benchmarks.run [--n 3000] [--repeats 3] [--write]

Each update run is a fresh process (see ``child.py``); within a repeat the clients run one
after another, in an order that rotates between repeats, so that a noisy neighbour hurts every
client alike. Ratios compare a client with the official SDK in the same repeat; the table shows
medians over repeats. ``--write`` replaces the results section of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path

from . import micro
from .clients import BULK, SDK, WALKS, WORKERS
from .server import PAGE_SIZES, WALK_TOTAL, ensure_nginx, nginx_server

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


def _child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.child", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {args[:2]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def run_updates(base: str, n: int, repeats: int) -> dict[tuple[str, int], list[dict[str, float]]]:
    """{(client, concurrency): [result per repeat]}, each result with ``*_ratio`` keys against the SDK."""
    clients = [*WORKERS, *BULK]
    results: dict[tuple[str, int], list[dict[str, float]]] = defaultdict(list)
    for repeat in range(repeats):
        for concurrency in CONCURRENCY:
            order = clients[repeat % len(clients) :] + clients[: repeat % len(clients)]
            if repeat % 2:
                order.reverse()
            measured = {}
            for name in order:
                measured[name] = _child("update", name, base, str(n), str(concurrency))
                print(f"  repeat {repeat + 1} c={concurrency:<3} {name:36s} {measured[name]['updates_per_s']:8,.0f}/s")
            sdk = measured[SDK]
            for name, result in measured.items():
                for key, _, _ in UPDATE_COLUMNS:
                    result[f"{key}_ratio"] = result[key] / sdk[key]
                results[name, concurrency].append(result)
    return results


def run_walks(base: str, repeats: int) -> dict[tuple[str, int], list[dict[str, float]]]:
    results: dict[tuple[str, int], list[dict[str, float]]] = defaultdict(list)
    for _ in range(repeats):
        for page_size in PAGE_SIZES:
            for name in WALKS:
                result = _child("walk", name, base, str(page_size))
                assert result["count"] == WALK_TOTAL, result
                results[name, page_size].append(result)
    return results


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def update_table(results: dict[tuple[str, int], list[dict[str, float]]]) -> str:
    head = ["client", "c"] + [f"{label} (x SDK)" for _, label, _ in UPDATE_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|---|---:|" + "---:|" * len(UPDATE_COLUMNS)]
    for concurrency in CONCURRENCY:
        for name in [*WORKERS, *BULK]:
            rows = results[name, concurrency]
            cells = [
                f"{fmt.format(_median(rows, key))} ({_median(rows, key + '_ratio'):.2f}x)"
                for key, _, fmt in UPDATE_COLUMNS
            ]
            label = f"**{name}**" if name.startswith("taskrouter_async") else name
            lines.append(f"| {label} | {concurrency} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def walk_table(results: dict[tuple[str, int], list[dict[str, float]]]) -> str:
    lines = ["| client | page size | wall s | peak RSS growth MiB |", "|---|---:|---:|---:|"]
    for page_size in PAGE_SIZES:
        for name in WALKS:
            rows = results[name, page_size]
            wall, growth = _median(rows, "wall_s"), _median(rows, "peak_rss_growth_mib")
            lines.append(f"| {name} | {page_size} | {wall:.3f} | {growth:.1f} |")
    return "\n".join(lines)


def environment(nginx: str) -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("taskrouter-async", "httpx", "httpcore", "anyio", "aiohttp", "httpx-aiohttp", "twilio")
    )
    nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    cores = len([line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("processor")])
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}, {cpu}, {cores} cores "
        f"(shared with other work while measured); {nginx_version}, one worker process.\n\n{versions}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="updates per measured run (default 3000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of every run (default 3)")
    parser.add_argument("--write", action="store_true", help="write the tables into benchmarks/README.md")
    args = parser.parse_args()
    nginx = ensure_nginx()
    print("encode/decode microbenchmarks", flush=True)
    micro_table = micro.table()
    with nginx_server() as base:
        print(f"nginx at {base}; updates: N={args.n}, {args.repeats} repeats", flush=True)
        updates = run_updates(base, args.n, args.repeats)
        print(f"walking {WALK_TOTAL:,} reservations", flush=True)
        walks = run_walks(base, args.repeats)
    command = " ".join(["python -m benchmarks.run", *sys.argv[1:]])
    report = "\n\n".join(
        [
            START,
            f"Command: `nox -s bench` (runs `{command}`). N={args.n} updates per run, {args.repeats} repeats, "
            "median of repeats; `(x SDK)` is the median ratio to the official SDK measured in the same repeat. "
            "CPU is the client process's user+system time.",
            environment(nginx),
            "### Concurrent updates\n\n" + update_table(updates),
            f"### Walking {WALK_TOTAL:,} reservations (task reservation list)\n\n" + walk_table(walks),
            "### Encode and decode, per call\n\n" + micro_table,
            END,
        ]
    )
    print(report)
    if args.write:
        text = README.read_text()
        before, _, rest = text.partition(START)
        _, _, after = rest.partition(END)
        README.write_text(before + report + after)
        print(f"written to {README}")


if __name__ == "__main__":
    main()
