"""mutH38's sweep: the estimator, the config schema, the lazy heaps, the open survivors.

Each test here kills mutants a mutation sweep found alive, or pins a bug one showed
(BENCHMARKS.md, "Mutation sweep of lazyheap, estimate, schema and the open survivors
(mutH38)"). Behaviour only: inputs in, events, admissions, problems and snapshots out.
Deterministic, no timing.
"""

from __future__ import annotations

from router import Router
from router.events import Assigned
from tests.test_mutation_sweep_g37 import _burst_then_silence

# --- the estimator -----------------------------------------------------------------------


def _gate_opens_at(estimate: str = "") -> list[tuple[str, float]]:
    """When the held task of g37's burst-then-silence starts (a look each second to 60 s)."""
    r: Router = _burst_then_silence(estimate)
    started = []
    for now in range(3, 61):
        started += [(e.inquiry_id, e.at) for e in r.tick(float(now)) if isinstance(e, Assigned)]
    return started


def test_the_configured_arrival_window_sets_how_fast_the_outbound_gate_forgets_a_burst() -> None:
    # a bug the survivor `estimate.py:242` (the estimator's own 600 s) showed: the
    # estimator never took `[backpressure.estimate].arrival_window_s`, so a 10 s window
    # held the task as long as the default. With 10 s the decayed count of the 20
    # arrivals is 0.31 at 42 s (0.96 erlangs of 30 s calls), well below the silence bound
    # (3 / 41 s: 2.2 erlangs), and the look at 42 s starts it; with 600 s the bound alone
    # does, at 52 s (the looks: every 10 s from 2 s)
    assert _gate_opens_at() == [("t", 52.0)]
    assert _gate_opens_at("arrival_window_s = 600\n") == [("t", 52.0)]
    assert _gate_opens_at("arrival_window_s = 10\n") == [("t", 42.0)]
    assert _gate_opens_at("arrival_window_s = 5\n") == [("t", 22.0)]
