"""The PEP 517 backend: setuptools, plus the pinned mypy when the build is compiled.

``ROUTER_COMPILE=1 pip install .`` (or ``pip install -e .``, ``python -m build``) asks
for ``setup.MYPY`` as an extra build requirement, so the compiled build works in
pip's isolated build environment; without ``ROUTER_COMPILE`` nothing changes and no
compiler is needed (docs/compiled.md). The requirement and metadata hooks run
``setup.py`` with ``ROUTER_COMPILE`` unset: mypy is not installed yet when the
requirements are asked for; the metadata hooks of a compiled build set
``ROUTER_COMPILE_METADATA=1`` for it, so its metadata requires ``librt`` as the
compiled wheel's does (``setup.install_requires``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the hooks this backend does not change)

MYPY = "mypy==2.4.1"  # the same pin as setup.py's MYPY (tests/test_compiled.py checks)
#: the compiled build's runtime dependency, setup.py's LIBRT (router/state/vecheap.py)
LIBRT = "librt>=0.16"
#: what mypyc needs to type the sources: the pinned mypy, msgspec's own type hints and
#: librt's (the compiled agent heaps' vectors, linked against at build time)
COMPILE_REQUIRES = [MYPY, "msgspec>=0.18", LIBRT]

T = TypeVar("T")


def _wanted() -> bool:
    return os.environ.get("ROUTER_COMPILE", "").strip().lower() in ("1", "true", "yes")


@contextmanager
def _pure(metadata: bool = False) -> Iterator[None]:
    """``setup.py`` run as the pure build (no mypyc); with ``metadata`` and a compiled
    build wanted, its dependencies still the compiled build's (``librt``)."""
    flag = "1" if metadata and _wanted() else None
    saved = os.environ.pop("ROUTER_COMPILE", None)
    saved_flag = os.environ.pop("ROUTER_COMPILE_METADATA", None)
    if flag is not None:
        os.environ["ROUTER_COMPILE_METADATA"] = flag
    try:
        yield
    finally:
        os.environ.pop("ROUTER_COMPILE_METADATA", None)
        if saved_flag is not None:
            os.environ["ROUTER_COMPILE_METADATA"] = saved_flag
        if saved is not None:
            os.environ["ROUTER_COMPILE"] = saved


def _as_pure(hook: Callable[..., T], *args: object) -> T:
    with _pure():
        return hook(*args)


def _metadata(hook: Callable[..., T], *args: object) -> T:
    with _pure(metadata=True):
        return hook(*args)


def get_requires_for_build_wheel(config_settings: dict[str, object] | None = None) -> list[str]:
    extra = COMPILE_REQUIRES if _wanted() else []
    return [*_as_pure(_setuptools.get_requires_for_build_wheel, config_settings), *extra]


def get_requires_for_build_editable(
    config_settings: dict[str, object] | None = None,
) -> list[str]:
    extra = COMPILE_REQUIRES if _wanted() else []
    return [*_as_pure(_setuptools.get_requires_for_build_editable, config_settings), *extra]


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: dict[str, object] | None = None
) -> str:
    return _metadata(
        _setuptools.prepare_metadata_for_build_wheel, metadata_directory, config_settings
    )


def prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: dict[str, object] | None = None
) -> str:
    return _metadata(
        _setuptools.prepare_metadata_for_build_editable, metadata_directory, config_settings
    )
