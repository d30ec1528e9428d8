"""Directed tests from the mutation sweep of the last round's code (mutS50).

The drain for a break (drain49: ``drain_for_break``, ``AgentDraining``, the window's
opening), the break-window candidates in snapshots (snap49), the restore's slot limit, the
engine's hours in force and added queues (fix49), ``Router.on_reconfigure`` and the chain
built before a reconfigure (tidy49), and mutS49's three open mutants, swept one mutant a
line without the randomized fuzz: each test pins one behaviour a mutant changed without the
nearest test files noticing; its comment names the mutants (``file:line`` at ``659b705``,
BENCHMARKS.md, mutS50). They drive a small ``Router``; none is timed.
"""

from __future__ import annotations

from router import AgentSpec, Inquiry, Router
from tests.helpers import config
from tests.test_mutation_sweep_s49 import breaks, early_entries, window

# BREAK_SHARE (tests/helpers.py): a break of 30 s after 80 s of work, half the staff on a
# break at once; window(w): with break_window_s = w


def _own_queues(names: str) -> str:
    """One queue per agent name, served only by the agent of that name."""
    return "".join(f'[[queues]]\nname = "{n}"\nrequires = {{ {n} = 1 }}\n' for n in names)


def _call(r: Router, aid: str, iid: str, at: float) -> None:
    r.submit(Inquiry(id=iid, queue=aid), at)
    r.tick(at)
    assert r.holds(iid, aid), iid


# ---------------------------------------------------------------------- mutS49's open three


def test_a_compaction_with_a_stale_head_keeps_the_candidates_in_due_order() -> None:
    # `breaks.py:262` (`tally.early.sort()` dropped from the compaction; mutS49's open
    # `breaks:252`): h (due 80), b (84) and c (82) free up in their windows in that order
    # while the four places are taken (the heap [h, b, c, ...]); s frees up again and again
    # (past 64 + 2 x 8 staffed entries: every free-up compacts, all kept). h takes a call
    # and s frees up once more: the compaction drops h's entry at the head, and a filtered
    # heap is no heap (b before c). When two places open, c (due before b; h, due first,
    # counts ahead: one place each) takes one; without the sort b heads the queue and,
    # with h and c due before it, takes none
    r = Router(config(window(40) + _own_queues("hbcs")))
    for n in range(1, 5):
        r.login(AgentSpec(id=f"l{n}"), 0)
        r.go_on_break(f"l{n}", 0)
    for aid, t in (("h", 0), ("c", 2), ("b", 4), ("s", 6)):
        r.login(AgentSpec(id=aid, skills={aid: 1}), t)
        _call(r, aid, aid + "0", t)
    for aid, t in (("h", 41), ("b", 45), ("c", 46), ("s", 47)):
        r.complete(aid + "0", t)
        assert breaks(r.tick(t)) == [], aid
    n = 1
    while early_entries(r)[0] <= 81:
        t = 47 + n / 4
        _call(r, "s", f"s{n}", t)
        r.complete(f"s{n}", t + 0.125)
        assert breaks(r.tick(t + 0.125)) == []
        n += 1
    _call(r, "h", "h1", 68)
    _call(r, "s", "sx", 68.5)
    r.complete("sx", 69)
    assert breaks(r.tick(69)) == []
    assert early_entries(r) == (82, 82)  # compacted at every free-up: all of s's stand
    r.set_ready("l1", 70)
    r.set_ready("l2", 70)
    assert breaks(r.tick(70)) == [("c", 100.0)]
