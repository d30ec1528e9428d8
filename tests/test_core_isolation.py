"""Importing the core must load no event loop (sans-I/O)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_core_loads_neither_asyncio_nor_trio() -> None:
    code = (
        "import sys, router, router.core, router.state.codec, router.config, router.events;"
        "bad=[m for m in ('asyncio','trio','uvloop') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
