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

import pytest

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


@pytest.mark.parametrize(
    ("m_works", "at"), [(True, 74.0), (False, 80.0)], ids=["m_takes_work", "m_timer"]
)
def test_a_colleague_due_first_who_rested_frees_the_place_held_for_it(
    m_works: bool, at: float
) -> None:
    # `core.py:2892` (`added = True` in `_ask_early`: a release at every pass that asked
    # anyone; mutS49's open `core:2829`) found it: m (due 80) frees up in her window at 41
    # with no place (l1 and l2 on a break), and rests (idle 30 s: that was a break, no
    # candidate any more). x (due 90) frees up at 55; when l2 is back at 72 the place is
    # held for m, due first. m's stretch restarts (her natural break) when she takes work
    # at 74, or at her timer at 80: she is due at 154 or 160, no longer ahead of x, and x
    # takes the place then. Before, nothing looked at the candidates again: x got no
    # early break (the mutant gave it at z's free-up at 76, a pass that asked someone)
    r = Router(config(window(40) + _own_queues("mxz")))
    for n in (1, 2):
        r.login(AgentSpec(id=f"l{n}"), 0)
        r.go_on_break(f"l{n}", 0)
    for aid, t in (("m", 0), ("x", 10)):
        r.login(AgentSpec(id=aid, skills={aid: 1}), t)
        _call(r, aid, aid + "0", t)
    r.complete("m0", 41)
    assert breaks(r.tick(41)) == []
    r.login(AgentSpec(id="z", skills={"z": 1}), 50)
    _call(r, "z", "z0", 50)
    r.complete("x0", 55)
    assert breaks(r.tick(55)) == []
    r.set_ready("l2", 72)
    assert breaks(r.tick(72)) == [] and early_entries(r) == (1, 1)
    got = []
    if m_works:
        r.submit(Inquiry(id="m1", queue="m"), 74)
        got += breaks(r.tick(74))
        assert r.holds("m1", "m")
    r.complete("z0", 76)
    got += breaks(r.tick(76))
    for t in range(77, 95):
        got += breaks(r.tick(t))
    assert got == [("x", at + 30)]
