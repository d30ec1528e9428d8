"""Which router code a benchmark process measures: its source tree and its build.

Theory of operation
-------------------
One harness times several versions of the router: the working tree, a
reference commit exported by :mod:`bench.guard`, and (once it exists) the
mypyc-compiled build beside the pure-Python one. Each version runs in its own
process; two environment variables, read when :mod:`bench` is imported and
before anything imports :mod:`router`, say which one:

- ``BENCH_ROUTER_PATH``: a directory holding a ``router/`` package. It goes
  first on ``sys.path``, ahead of the editable install, so ``import router``
  loads that tree while ``bench.*`` stays the harness that was started.
- ``BENCH_ROUTER_BUILD``: ``auto`` (default: whatever ``import router`` finds),
  ``pure`` (``router`` and its submodules load from ``.py`` sources only, even
  where compiled extension modules sit beside them) or ``compiled`` (the same
  as ``auto``; :func:`describe` then says whether compiled modules were loaded,
  and :func:`require_build` fails the run if none were).

Whether a compiled build ran is read from ``router.compiled`` when the package
defines it as a bool, else from the files the ``router.*`` modules were loaded
from (an extension-module suffix means compiled).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = [
    "BUILDS",
    "ENV_BUILD",
    "ENV_PATH",
    "apply_environment",
    "describe",
    "require_build",
]

ENV_PATH = "BENCH_ROUTER_PATH"
ENV_BUILD = "BENCH_ROUTER_BUILD"
BUILDS = ("auto", "pure", "compiled")


class _SourceOnlyFinder(MetaPathFinder):
    """Finds ``router`` and ``router.*`` in their ``.py`` sources, never in extension modules."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.loader = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "router" and not fullname.startswith("router."):
            return None
        entries = [self.root] if fullname == "router" else list(path or ())
        for entry in entries:
            spec = importlib.machinery.FileFinder(entry, self.loader).find_spec(fullname)
            if spec is not None and spec.loader is not None:
                return spec
        raise ImportError(f"bench: {fullname} has no .py source under {entries} (build=pure)")


def _router_root() -> Path:
    """The directory holding the ``router`` package ``import router`` would load."""
    spec = importlib.util.find_spec("router")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("bench: no router package to measure")
    return Path(next(iter(spec.submodule_search_locations))).parent


#: the (path, build) applied in this process, so a second call is a no-op
_applied: tuple[str, str] | None = None


def apply_environment() -> None:
    """Honour ``BENCH_ROUTER_PATH`` and ``BENCH_ROUTER_BUILD`` (see the module docstring)."""
    global _applied
    path = os.environ.get(ENV_PATH, "")
    build = os.environ.get(ENV_BUILD, "") or "auto"
    if build not in BUILDS:
        raise SystemExit(f"bench: {ENV_BUILD}={build!r}: expected one of {', '.join(BUILDS)}")
    if not path and build != "pure":
        return
    if _applied == (path, build):
        return  # applied before router was imported (bench/__init__.py): nothing to redo
    if "router" in sys.modules:
        raise SystemExit(f"bench: {ENV_PATH}/{ENV_BUILD} must be set before router is imported")
    if path:
        root = Path(path).resolve()
        if not (root / "router" / "__init__.py").is_file():
            raise SystemExit(f"bench: {ENV_PATH}={path}: no router/__init__.py there")
        sys.path.insert(0, str(root))
    if build == "pure":
        sys.meta_path.insert(0, _SourceOnlyFinder(_router_root()))
    _applied = (path, build)


def _compiled_modules() -> list[str]:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return sorted(
        name
        for name, mod in list(sys.modules.items())
        if (name == "router" or name.startswith("router."))
        and str(getattr(mod, "__file__", "") or "").endswith(suffixes)
    )


def describe() -> dict[str, object]:
    """Which router this process measures: its path, build and whether it is compiled."""
    import router

    flag = getattr(router, "compiled", None)
    modules = _compiled_modules()
    return {
        "compiled": flag if isinstance(flag, bool) else bool(modules),
        "compiled_modules": modules,
        "build": os.environ.get(ENV_BUILD, "") or "auto",
        "router_path": str(Path(router.__file__ or "").resolve().parent.parent),
    }


def require_build() -> None:
    """Fail if ``BENCH_ROUTER_BUILD=compiled`` asked for a compiled build that did not load."""
    if (os.environ.get(ENV_BUILD) or "auto") == "compiled" and not describe()["compiled"]:
        raise SystemExit(f"bench: {ENV_BUILD}=compiled but no compiled router module was loaded")
