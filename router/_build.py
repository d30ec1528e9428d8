"""Which build of the package is loaded: pure Python or the optional mypyc build.

``setup.py`` compiles the hot-path modules when ``ROUTER_COMPILE=1`` (docs/compiled.md);
a compiled module is an extension module beside its ``.py`` source, and Python's
import system prefers it. Nothing here imports a module: it reads what
``sys.modules`` already holds.
"""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES

__all__ = ["build_name", "compiled_modules", "is_compiled"]


def is_compiled(module_name: str) -> bool:
    """Whether the already imported ``module_name`` was loaded from an extension module."""
    mod = sys.modules.get(module_name)
    path = getattr(mod, "__file__", None) or ""
    return isinstance(path, str) and path.endswith(tuple(EXTENSION_SUFFIXES))


def compiled_modules() -> list[str]:
    """The ``router`` modules imported so far that are compiled, sorted by name."""
    return sorted(
        name
        for name in list(sys.modules)
        if (name == "router" or name.startswith("router.")) and is_compiled(name)
    )


def build_name() -> str:
    """``compiled (mypyc)`` when the core is compiled, else ``pure Python``: for reports."""
    return "compiled (mypyc)" if is_compiled("router.core") else "pure Python"
