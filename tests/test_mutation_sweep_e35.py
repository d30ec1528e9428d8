"""mutE35's sweep: the survivors left open, attribute targeting, the policies, the clock.

Each test here kills mutants a mutation sweep found alive (BENCHMARKS.md, "Mutation sweep
of targeting, the policies and the left survivors (mutE35)"). The policies are tested
through behaviour (inputs in, events and admissions out), not their internals, so these
tests hold while the core and the admission fast path change. Deterministic, no timing.
"""

from __future__ import annotations

from typing import Any

from router import AgentSpec, Inquiry, Router, decode_config
from router.events import Deflected

# --- the survivors left open by mutB33 and mutC34 ---------------------------------------


def _one_queue(extra: str = "") -> Router:
    return Router(decode_config('[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n' + extra))


def _codel_run(steps: list[Any]) -> list[tuple[str, float]]:
    """Drive a CoDel router (target 10 s, interval 12 s) through ``steps``: ``(id, at)``
    submits and ticks, a bare number a tick. Its sheds (ids and times), in order."""
    r = _one_queue(
        '[backpressure]\npolicy = "codel"\n'
        '[backpressure.codel]\ntarget_s = 10\ninterval_s = 12\naction = "deflect"\n'
    )
    shed: list[tuple[str, float]] = []
    for step in steps:
        if isinstance(step, tuple):
            r.submit(Inquiry(id=step[0], queue="q"), step[1])
            step = step[1]
        shed += [(e.inquiry_id, round(e.at, 3)) for e in r.tick(step) if isinstance(e, Deflected)]
    return shed


def test_codel_reads_the_new_head_after_each_drop_within_one_tick() -> None:
    # A, B, C old; Y1, Y2 young. Sheds: A at 22 (above target 10 s since 10, for an
    # interval), B at 34, C at 34 + 12/sqrt(2). Y1 is then 9.5 s in line, below target:
    # dropping stops, Y1 crosses the target at 43 and is shed an interval later, at 55.
    # One late tick (at 60) covering the three CoDel timers after 34 must shed the same
    # inquiries at the same times as ticks at each deadline: the head is read again after
    # each drop, not the one just shed (mutC34's open `admission.py:469`, `head = ...`
    # dropped: Y1 was shed at 34 + 12/sqrt(2) + 12/sqrt(3), 49.4, by the stale head's wait)
    arrivals = [("A", 0.0), ("B", 0.5), ("C", 1.0), 10.0, 22.0, ("Y1", 33.0), ("Y2", 33.5), 34.0]
    expected = [("A", 22.0), ("B", 34.0), ("C", 42.485), ("Y1", 55.0)]
    assert _codel_run([*arrivals, 60.0]) == expected
    assert _codel_run([*arrivals, 42.48528137423857, 43.0, 55.0, 60.0]) == expected


def _arrival_wait(waiting: int, freed: int) -> tuple[int | None, float]:
    """The position and expected wait of an arrival behind ``waiting`` inquiries, with
    ``freed`` agents logged in since the last matching pass (none listed yet)."""
    r = _one_queue()
    for i in range(waiting):
        r.submit(Inquiry(id=f"w{i}", queue="q"), 0)
    r.tick(0)  # nobody to serve them: all wait
    for i in range(freed):
        r.login(AgentSpec(id=f"a{i}"), 1)
    adm = r.submit(Inquiry(id="x", queue="q"), 1)  # before the pass that would list them
    return adm.position, adm.expected_wait_s


def test_the_look_at_freed_agents_counts_at_most_the_first_eight_in_line() -> None:
    # `_freed_fit` counts freed agents who could take the arrival, stopping at `need`
    # (its position, at most 8: "they take the first in line"): up to position 8 an arrival
    # with that many agents freed expects no wait; at position 9 the look stops at 8 and
    # the ninth is estimated, however many were freed (mutB33's open `control.py:275`
    # `n > need`, `:276` `break` to `continue`: a wait of 0 at position 9)
    assert _arrival_wait(7, 8) == (8, 0.0)
    assert _arrival_wait(7, 9) == (8, 0.0)
    for freed in (8, 9, 20):
        position, ewt = _arrival_wait(8, freed)
        assert position == 9 and ewt > 0.0, freed
