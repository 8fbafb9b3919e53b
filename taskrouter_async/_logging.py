"""The library's logger, and ``TASKROUTER_LOG=debug|info`` to turn it on without code (as ``OPENAI_LOG`` does).

Nothing is configured unless that variable is set: the library never touches the root logger.
What is logged is redacted (no credentials, no query strings), whatever the level.
"""

from __future__ import annotations

import logging
import os

__all__ = ["LOG_ENV", "logger", "setup_from_env"]

LOG_ENV = "TASKROUTER_LOG"

logger = logging.getLogger("taskrouter_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def setup_from_env() -> None:
    """If ``TASKROUTER_LOG`` names a level, log the library's records at that level to stderr."""
    level = _LEVELS.get(os.environ.get(LOG_ENV, "").strip().lower())
    if level is None or any(getattr(h, "_from_env", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))
    handler._from_env = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
