"""The PEP 517 backend: setuptools, plus the pinned mypy when the build is compiled.

``ROUTER_COMPILE=1 pip install .`` (or ``pip install -e .``, ``python -m build``) asks
for ``setup.MYPY`` as an extra build requirement, so the compiled build works in
pip's isolated build environment; without ``ROUTER_COMPILE`` nothing changes and no
compiler is needed (docs/compiled.md).
"""

from __future__ import annotations

import os

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the hooks this backend does not change)

MYPY = "mypy==2.4.1"  # the same pin as setup.py's MYPY (tests/test_compiled.py checks)


def _extra() -> list[str]:
    wanted = os.environ.get("ROUTER_COMPILE", "").strip().lower() in ("1", "true", "yes")
    return [MYPY] if wanted else []


def get_requires_for_build_wheel(config_settings: dict[str, object] | None = None) -> list[str]:
    return [*_setuptools.get_requires_for_build_wheel(config_settings), *_extra()]


def get_requires_for_build_editable(
    config_settings: dict[str, object] | None = None,
) -> list[str]:
    return [*_setuptools.get_requires_for_build_editable(config_settings), *_extra()]
