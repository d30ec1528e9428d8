"""The distribution's name, version and install hints, in one place.

The import package is ``router``; the distribution on PyPI is ``inquiry-router``
(``router`` there is an unrelated URL-routing library), so every hint to install
an optional extra names it: ``pip install 'inquiry-router[redis]'``.
"""

from __future__ import annotations

__all__ = ["DIST", "EXTRAS", "dist_version", "install_hint", "missing_dependency"]

#: The distribution's name on PyPI.
DIST = "inquiry-router"

#: Top-level module of an optional dependency -> the extra that installs it.
EXTRAS: dict[str, str] = {
    "redis": "redis",
    "aiohttp": "dashboard",
    "prometheus_client": "metrics",
    "opentelemetry": "otel",
    "matplotlib": "plot",
    "yaml": "yaml",
    "trio": "trio",
    "uvloop": "uvloop",
}


def install_hint(extra: str) -> str:
    """``pip install 'inquiry-router[redis]'``."""
    return f"pip install '{DIST}[{extra}]'"


def missing_dependency(command: str, exc: ImportError) -> str:
    """One line naming the extra to install for a command whose dependency is missing."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return f"router {command}: not available ({exc})"
    return f"router {command}: needs the {top!r} package: {install_hint(extra)}"


def dist_version() -> str:
    """The installed distribution's version (``0+unknown`` when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DIST)
    except PackageNotFoundError:
        return "0+unknown"
