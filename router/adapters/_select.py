"""Which backend runs the calling task, and the backend instance for a name.

Imports neither trio nor asyncio until a backend is asked for: :func:`get_backend`
imports the chosen one (``_trio.py`` or ``_asyncio.py``) when a router is opened.
"""

from __future__ import annotations

import sys

from router.adapters._backend import Backend

__all__ = ["current_backend_name", "get_backend"]


def current_backend_name() -> str:
    """``"trio"`` or ``"asyncio"``: which loop runs the calling task (sniffio's test).

    Raises RuntimeError outside any loop. Loads neither library: it only looks at
    the ones already imported.
    """
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return "trio"
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return "asyncio"
    raise RuntimeError("open_router must be used inside trio.run() or a running asyncio loop")


def get_backend(name: str | Backend | None = None) -> Backend:
    """A backend instance: ``"trio"``, ``"asyncio"`` / ``"uvloop"``, or detected when None."""
    if isinstance(name, Backend):
        return name
    if name is None:
        name = current_backend_name()
    if name == "trio":
        from router.adapters._trio import TrioBackend

        _check_running(name, "trio")
        return TrioBackend()
    if name in ("asyncio", "uvloop"):
        from router.adapters._asyncio import AsyncioBackend

        _check_running(name, "asyncio")
        return AsyncioBackend()
    raise ValueError(f"backend: unknown backend {name!r}; known: 'trio', 'asyncio', 'uvloop'")


def _check_running(name: str, library: str) -> None:
    """A backend named explicitly must be the loop running the caller (trio's or asyncio's own
    error, from deep inside the runner, does not say which argument was wrong)."""
    mod = sys.modules[library]  # imported by the backend's module
    try:
        if library == "trio":
            mod.lowlevel.current_task()
        else:
            mod.get_running_loop()
        return
    except RuntimeError:
        pass
    try:
        where = f"this task runs in {current_backend_name()}"
    except RuntimeError:
        where = "no event loop is running"
    raise ValueError(f"backend: {name!r} given, but {where}")
