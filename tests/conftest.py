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
