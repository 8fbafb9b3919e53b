"""``python -m taskrouter_async`` (or ``taskrouter-async``): reservations, bulk updates, the fake and a demo.

Credentials come from the environment (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or
TWILIO_API_KEY and TWILIO_API_SECRET). Output is JSON lines unless ``--table`` is given.
Exit status: 0 done, 1 an expected failure (one ``error:`` line on stderr, never a traceback),
2 bad usage, 130 Ctrl-C, 141 stdout closed early (``... | head -1``), as CLIs do.

The modules: ``_parser`` (arguments), ``_inputs`` (names, ETags, credentials), ``_commands``
(checks, then runs), ``_bulk_update``, ``_fake_server``; output in ``_output`` (plain),
``_table`` and ``_progress`` (rich, the ``cli`` extra), ``_stats`` (a bulk run's figures).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence

import anyio

from .._errors import TaskRouterError
from ._commands import prepare
from ._inputs import CLIError, UsageError
from ._output import describe_error
from ._parser import build_parser

__all__ = ["main"]

#: 128 + the signal's number, as a shell reports a process killed by SIGINT or SIGPIPE.
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse exits 2 itself on bad usage)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    named = next((a for a in arguments if not a.startswith("-")), None)
    args = build_parser(only=named).parse_args(arguments)
    try:
        command = prepare(args)
    except UsageError as exc:
        args.command_parser.error(str(exc))
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        status: int = anyio.run(command)
    except BaseException as exc:  # sorted below; anything unexpected is raised again
        return _exit_status(exc)
    return status


def _exit_status(exc: BaseException) -> int:
    """The exit status for what ended a command, with one line on stderr for expected failures."""
    errors = list(_leaves(exc))
    if any(isinstance(e, KeyboardInterrupt) for e in errors):
        return EXIT_INTERRUPTED
    if all(isinstance(e, BrokenPipeError) for e in errors):
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    if all(isinstance(e, (CLIError, TaskRouterError, BrokenPipeError)) for e in errors):
        for error in errors:
            if not isinstance(error, BrokenPipeError):
                print(f"error: {describe_error(error)}", file=sys.stderr)
        return 1
    raise exc


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, as a task group raises them; ``exc`` if not a group."""
    inner = getattr(exc, "exceptions", None)
    if isinstance(exc, (CLIError, TaskRouterError)) or not isinstance(inner, tuple):
        yield exc
        return
    for item in inner:
        yield from _leaves(item)


def _silence_stdout() -> None:
    """Point stdout at devnull, so Python's flush at exit does not report the broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests capture stdout): nothing to silence
        pass
