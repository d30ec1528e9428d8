"""``router COMMAND`` (or ``python -m router COMMAND``): one dispatcher, each command in its
own module.

Commands import lazily so ``check`` never loads the simulator or an event loop.
Every command takes ``argv`` and returns an exit code: 0 ok, 2 user error
(one line per problem, never a traceback). A command whose optional
dependency is missing (``serve`` without redis-py, ``dashboard`` without
aiohttp) says which extra of the distribution to install (``router._dist``); its
``--help`` needs no extra: those commands import theirs when they run
(``router.cli.extras``). A reader that closes stdout early (``| head``) ends a command
quietly, exit 0.
"""

from __future__ import annotations

import importlib
import os
import sys

from router._dist import DIST, EXTRAS, dist_version, missing_dependency

__all__ = ["COMMANDS", "EXTRAS", "main", "missing_dependency", "run", "usage"]

COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": ("router.cli.check", "check_main", "validate a config or scenario file"),
    "explain": ("router.cli.check", "explain_main", "show why agents were chosen in a scenario"),
    "simulate": ("router.sim.cli", "simulate_main", "run a scenario in virtual time"),
    "demo": ("router.sim.cli", "demo_main", "run the flagship 20x Spring Festival scenario"),
    "staff": ("router.cli.staff", "staff_main", "agents needed for a service-level target"),
    "compare-policies": (
        "router.cli.compare",
        "compare_main",
        "backpressure policies side by side",
    ),
    "dashboard": ("router.cli.dashboard", "dashboard_main", "replay a scenario on a live page"),
    "serve": ("router.cli.serve", "serve_main", "serve routing domains over Redis Streams"),
}


def usage() -> str:
    lines = ["usage: router COMMAND [ARGS]  (or: python -m router COMMAND [ARGS])", ""]
    lines.append("commands:")
    lines += [f"  {name:<17} {help}" for name, (_, _, help) in COMMANDS.items()]
    lines += ["", "router COMMAND --help shows a command's options; router --version the version."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"router {dist_version()} ({DIST})")
        return 0
    name, rest = args[0], args[1:]
    entry = COMMANDS.get(name)
    if entry is None:
        print(f"router: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, func = entry[0], entry[1]
    try:
        fn = getattr(importlib.import_module(module), func)
    except ImportError as exc:
        print(missing_dependency(name, exc), file=sys.stderr)
        return 2
    try:
        code: int = fn(rest)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader left (``router explain FILE | head``): end quietly, as ``simulate`` does;
        # stdout goes to /dev/null so the interpreter's own last flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


def run() -> None:
    """The ``router`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    run()
