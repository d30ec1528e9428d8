"""A command whose optional extra is missing: ``--help`` still works, a run says what to install.

Theory of operation: ``router dashboard`` and ``router serve`` build their argument
parsers from the standard library alone and import their extra (aiohttp, redis-py)
only when they run. When that import fails, :func:`missing_extra` lets the parser
read the arguments once, so ``--help`` prints the options and exits 0 (argparse
raises ``SystemExit``); any other arguments, valid or not, get the install line
and exit code 2: a usage error first would only hide the line the user needs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence

from router._dist import missing_dependency

__all__ = ["missing_extra"]


def missing_extra(
    command: str, exc: ImportError, parse: Callable[[list[str]], object], argv: Sequence[str]
) -> int:
    """Print ``--help`` (exits 0) if asked, else the install line for ``exc``; returns 2."""
    with contextlib.suppress(Exception):  # a usage error; SystemExit (help) goes through
        parse(list(argv))
    print(missing_dependency(command, exc), file=sys.stderr)
    return 2
