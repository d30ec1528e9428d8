"""Shared fixtures, and which build of ``router`` the tests import.

``make test`` runs the suite on the pure-Python build, then the core, simulator
and adapter tests again on the compiled build (``Makefile``: ``COMPILED_TESTS``)
with ``BENCH_ROUTER_PATH=build/compiled BENCH_ROUTER_BUILD=compiled``; those
variables are read here, before any test module imports ``router``, by the
benchmarks' own loader (``bench/build.py``), which also fails the run when a
compiled build was asked for and did not load.
"""

# importing bench applies the two variables (bench/__init__.py) before router is imported
from bench.build import require_build

require_build()


import hashlib  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

_ROOT = Path(__file__).resolve().parent.parent


def code_seed() -> int:
    """A seed from the code under test: the Python files of ``router/`` and ``tests/``.

    Hypothesis tests that are not derandomized (the machines' randomized runs, the
    ``@given`` properties) draw from it, so a run is a function of the code: the same
    tree always draws the same examples (a CI run repeats the one made before it), and
    a change to the code or the tests draws new ones, so the randomized runs still
    explore. Edits to documents and figures change nothing.
    """
    digest = hashlib.sha256()
    for top in ("router", "tests"):
        for path in sorted((_ROOT / top).rglob("*.py")):
            digest.update(path.relative_to(_ROOT).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return int.from_bytes(digest.digest()[:8], "big")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Seed Hypothesis from :func:`code_seed` unless ``--hypothesis-seed`` says otherwise
    or ``ROUTER_FUZZ`` asks for a fresh exploration."""
    if os.environ.get("ROUTER_FUZZ") or config.getoption("hypothesis_seed", None) is not None:
        return
    config.option.hypothesis_seed = str(code_seed())


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        return "hypothesis seed: none (ROUTER_FUZZ: a fresh exploration)"
    return f"hypothesis seed: {seed} (reproduce: pytest --hypothesis-seed={seed})"
