"""The distribution's name, version and install hints, in one place.

The import package is ``router``; the distribution on PyPI is ``inquiry-router``
(``router`` there is an unrelated URL-routing library), so every hint to install
an optional extra names it: ``pip install 'inquiry-router[redis]'``.
"""

from __future__ import annotations

__all__ = ["DIST", "dist_version", "install_hint"]

#: The distribution's name on PyPI.
DIST = "inquiry-router"


def install_hint(extra: str) -> str:
    """``pip install 'inquiry-router[redis]'``."""
    return f"pip install '{DIST}[{extra}]'"


def dist_version() -> str:
    """The installed distribution's version (``0+unknown`` when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DIST)
    except PackageNotFoundError:
        return "0+unknown"
