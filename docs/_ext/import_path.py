"""A mkdocs hook: the checkout's package is importable while the site builds, installed or not.

griffe reads the source statically (``paths: ["."]``), but griffe_fieldz imports each attrs class
to build its parameter table; without the package on ``sys.path`` (a clone where it is not
installed) it skips them silently and the reference loses its tables. The path is added in
``on_config``: mkdocs restores ``sys.path`` after importing a hook module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parent.parent.parent)


def on_config(config: Any) -> Any:
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    return config
