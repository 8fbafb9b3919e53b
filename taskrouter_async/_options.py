"""Checks for the options a client, a ``with_options`` view or a single call can set; before any I/O."""

from __future__ import annotations

import math

import httpx

from ._errors import ValidationError

__all__ = ["checked_max_retries", "checked_max_retry_after", "checked_timeout"]


def checked_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """Every phase a positive, finite number of seconds, or ``None`` (no limit) inside an httpx.Timeout."""
    if isinstance(timeout, httpx.Timeout):
        for phase, seconds in timeout.as_dict().items():
            if seconds is not None and not _is_positive_seconds(seconds):
                raise ValidationError(
                    f"the {phase} timeout must be a positive number of seconds, or None for no limit, got {seconds!r}"
                )
        return timeout
    if not _is_positive_seconds(timeout):
        raise ValidationError(
            "timeout must be a positive number of seconds such as 10.0, or an httpx.Timeout "
            f"(httpx.Timeout(None) for no limit), got {timeout!r}"
        )
    return httpx.Timeout(float(timeout))


def _is_positive_seconds(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def checked_max_retry_after(max_retry_after: float) -> float:
    valid = isinstance(max_retry_after, (int, float)) and not isinstance(max_retry_after, bool)
    if not valid or not math.isfinite(max_retry_after) or max_retry_after < 0:
        raise ValidationError(f"max_retry_after must be a number of seconds, 0 or more, got {max_retry_after!r}")
    return float(max_retry_after)


def checked_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValidationError(f"max_retries must be a non-negative integer, got {max_retries!r}")
    return max_retries
