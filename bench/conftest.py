"""pytest-benchmark setup for ``pytest bench --benchmark-only``.

The project's ``addopts`` carry ``--benchmark-disable`` (the unit suite must not
time anything), which pytest-benchmark refuses to combine with
``--benchmark-only``. Asking for ``--benchmark-only`` here means "time them", so
this hook turns benchmarking back on before the plugin reads its options.
Without it, ``pytest bench`` runs each case once as a smoke test.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("benchmark_only", False):
        config.option.benchmark_enable = True
