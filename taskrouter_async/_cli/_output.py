"""Plain output, with no terminal library: JSON lines, error text for people, the rich-is-missing message."""

from __future__ import annotations

import json
import sys
from typing import Any

from .._errors import APIConnectionError, APIStatusError, APITimeoutError, PreconditionFailedError, TaskRouterError
from ._inputs import CLIError

__all__ = ["describe_error", "error_json", "needs_rich", "write_json_line"]


def write_json_line(record: object) -> None:
    """One JSON object per line on stdout, flushed, so ``tail -f`` and pipes see results as they come."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def describe_error(error: BaseException) -> str:
    """An error as one line for people; a connection failure or timeout names the host it could not reach."""
    if isinstance(error, APIConnectionError):
        host = error.request.url.netloc.decode("ascii", "replace")
        if isinstance(error, APITimeoutError):
            return f"timed out talking to {host}: {error}"
        return f"cannot reach {host}: {error}"
    return str(error)


def error_json(error: TaskRouterError | None) -> dict[str, Any]:
    """A failed result's ``error`` object: Twilio's fields for an error status (and a 412's ETags), else a message."""
    if isinstance(error, PreconditionFailedError):  # both ETags, so a dropped pair of quotes is plain to see
        found = {
            "status": error.status_code,
            "code": error.code,
            "message": error.message,
            "more_info": error.more_info,
        }
        return {**found, "if_match": error.if_match, "current_etag": error.current_etag}
    if isinstance(error, APIStatusError):
        return {"status": error.status_code, "code": error.code, "message": error.message, "more_info": error.more_info}
    return {"message": describe_error(error) if error is not None else "unknown error"}


def needs_rich(feature: str) -> CLIError:
    """The error for a feature that draws with rich when the ``cli`` extra is not installed."""
    return CLIError(f"{feature} needs rich: pip install 'taskrouter-async[cli]'")
