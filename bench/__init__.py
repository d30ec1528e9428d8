"""Benchmarks of the router beside its peers; ``python -m bench`` (see BENCHMARKS.md).

Modules: ``build`` (which router tree and build this process measures),
``workload`` (realistic centers and the steady-state lifecycle driver),
``naive`` (the scan-every-agent and the indexed peers), ``service`` (the
hand-written asyncio service peer), ``flows`` (end-to-end flows through the
adapters, the service and the core), ``timing`` (calibration, interleaved
rounds), ``sections`` (what is measured), ``run`` (the CLI and the report),
``guard`` (the A/B regression guard against a reference commit), ``chart``
(the PNG), ``instructions`` (callgrind's count per lifecycle). Micro benchmarks
for pytest-benchmark are in ``test_micro.py``.

Importing the package applies ``BENCH_ROUTER_PATH`` / ``BENCH_ROUTER_BUILD``
(:mod:`bench.build`) before any of its modules imports ``router``.
"""

from bench.build import apply_environment as _apply_environment

_apply_environment()
