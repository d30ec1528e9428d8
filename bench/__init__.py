"""Benchmarks of the router beside its peers; ``python -m bench`` (see BENCHMARKS.md).

Modules: ``workload`` (realistic centers and the steady-state lifecycle driver),
``naive`` (the scan-every-agent peer), ``timing`` (calibration, interleaved
rounds), ``sections`` (what is measured), ``run`` (the CLI and the report),
``check`` (the ratio guard against ``baseline.json``), ``chart`` (the PNG).
Micro benchmarks for pytest-benchmark are in ``test_micro.py``.
"""
