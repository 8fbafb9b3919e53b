"""``python -m taskrouter_async``: the command line (see ``taskrouter_async._cli``)."""

from ._cli import main

raise SystemExit(main())
