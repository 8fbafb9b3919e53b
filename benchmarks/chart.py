"""The benchmark's chart: each engine's updates/s and CPU per update as a ratio to the SDK, by concurrency.

Drawn from the same run as the tables (medians over repeats of the ratio measured in the same
repeat) into ``docs/assets/benchmarks.png``, which the docs' performance page and
benchmarks/README.md show. Needs matplotlib (``nox -s bench`` installs it).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .clients import OURS_AIOHTTP, OURS_HTTPX, OURS_PYREQWEST

#: The chart's path under docs/.
IN_DOCS = "assets/benchmarks.png"
PATH = Path(__file__).resolve().parent.parent / "docs" / IN_DOCS
ALT = "updates/s and CPU per update of each engine as a ratio to the official SDK, at concurrency 1, 10 and 100"
#: The rows drawn: each engine through update_many, as users run bulk updates.
ENGINES = {
    f"{OURS_PYREQWEST}, update_many": "engine=pyreqwest",
    f"{OURS_AIOHTTP}, update_many": "engine=aiohttp",
    f"{OURS_HTTPX}, update_many": "engine=httpx",
}
#: (event loop, row, concurrency) -> the ratio to the SDK in each repeat.
Ratios = Mapping[tuple[str, str, Any], Sequence[float]]


def draw(rates: Ratios, cpu: Ratios, loops: Sequence[str], concurrency: Sequence[int], path: Path = PATH) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(loops), figsize=(5.5 * len(loops), 7), squeeze=False, sharey="row")
    width = 0.8 / len(ENGINES)
    for column, loop in enumerate(loops):
        for row, (ratios, label) in enumerate(
            [(rates, "updates/s (x SDK, higher is better)"), (cpu, "CPU per update (x SDK, lower is better)")]
        ):
            ax = axes[row][column]
            for index, (name, shown) in enumerate(ENGINES.items()):
                medians = [statistics.median(ratios.get((loop, name, c)) or [float("nan")]) for c in concurrency]
                positions = [x + (index - (len(ENGINES) - 1) / 2) * width for x in range(len(concurrency))]
                bars = ax.bar(positions, medians, width, label=shown)
                ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
            ax.axhline(1.0, color="black", linewidth=1, linestyle="--", label="official SDK = 1.0")
            ax.set_xticks(range(len(concurrency)), [f"c={c}" for c in concurrency])
            ax.set_title(f"{label}\n{loop}", fontsize=9)
            ax.margins(y=0.15)
    axes[0][0].legend(fontsize=8, loc="upper left")
    figure.suptitle("taskrouter_async update_many vs the official twilio SDK (median ratio, same run)", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
