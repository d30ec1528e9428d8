"""The recent line (``Router._rline``, dl44): agent timers off the deadline heap (pure build).

An agent timer due when the agent's oldest recent-work entry leaves the window rides that
entry's cell of the recent line (``Agent.timer_rides``) instead of a heap entry. The cells are
made as work ends, so they are in time order; a cell is live while its agent's timer rides it,
and is merged with the heap's and the offer line's heads by ``(when, seq)``. A router whose
recent line is switched off (``_rline_epoch`` at infinity: no entry gets a cell, every timer
goes to the heap, as before dl44) must make the same decisions: the same events, next
deadlines and snapshot bytes, through ties (equal times: several completions at one instant,
a riding timer and a heap entry due together), wellbeing timers that move a timer off its
cell and back, a reconfigure that changes the window, and a restored copy. Compiled, no entry gets a
cell (the native heap re-keys its entry in place, cheaper than a cell's three objects): the
same drive pins that every timer stays in the heap there.
"""

from __future__ import annotations

from router import Router
from router.core import K_AGENT
from tests.helpers import config
from tests.test_deadline_heap import Drive

CONFIG = """
[routing]
mode = "offer"
offer_timeout_s = 20
max_no_answer = 3
presence_timeout_s = 400
recent_window_s = 60
[routing.weights]
recent_work = 1.0
recent_count = 0.5
idle_time = 1.0
[wellbeing]
max_continuous_work_s = 240
break_s = 30
max_consecutive_heavy = 2
heavy_recovery_s = 10
[[queues]]
name = "chat"
channel = "chat"
requires = { chat = 1 }
[[queues]]
name = "voice"
channel = "voice"
requires = { voice = 2 }
heavy = true
steps = [{ after_s = 15, requires = { voice = 1 } }]
"""


def _heap_only(r: Router) -> Router:
    r._rline_epoch = float("inf")  # no entry after it: no cell, no timer rides
    return r


def test_riding_timers_decide_as_the_heap_does() -> None:
    riding = Router(config(CONFIG))
    heap = _heap_only(Router(config(CONFIG)))
    drive = Drive([riding, heap], seed=44)
    drive.login(10, chat=2)
    drive.submit(30)
    drive.tick()
    rode = ties = 0
    epoch = riding._rline_epoch
    for i in range(900):
        if i == 300:  # a restored copy goes on in lockstep (its timers restored to the heap)
            drive.routers.append(Router.restore(riding.snapshot()))
        if i == 600:  # a shorter window: the riding timers go to the heap, cells start again
            drive.call("reconfigure", config(CONFIG.replace("window_s = 60", "window_s = 45")))
            _heap_only(heap)  # (a reconfigure starts the cells again at its time)
        drive.step()
        riders = [a for a in riding._agents.values() if a.timer_rides]
        rode += len(riders)
        assert not any(a.timer_rides for a in heap._agents.values())
        assert not heap._rline
        # a riding timer is live on its cell and has no live heap entry
        held = {(e[0], e[1]) for e in riding._deadline_entries() if e[2] == K_AGENT}
        for a in riders:
            assert (a.timer_at, a.timer_seq) in held
            assert not any(e[2] == K_AGENT and e[4] == a.timer_seq for e in riding._deadlines)
        if riding._rline_epoch != epoch:
            ties += 1
            epoch = riding._rline_epoch
        if i % 100 == 0:
            snaps = {r.snapshot() for r in drive.routers}
            assert len(snaps) == 1
    assert len({r.snapshot() for r in drive.routers}) == 1
    if riding._native_heap:  # compiled: no cells (a cell's objects cost more than the sift)
        assert rode == 0 and not riding._rline and riding._rline_epoch == float("inf")
    else:
        assert rode > 500  # timers rode their cells
        assert ties >= 3  # completions at one instant, a reconfigure: entries left without


def test_the_steady_state_holds_no_agent_timer_in_the_heap() -> None:
    """With the window the only timer need, every agent timer is its oldest entry's window
    end: all ride (no heap sift per lifecycle), and ``next_deadline`` reads them."""
    cfg = "\n".join(
        line
        for line in CONFIG.splitlines()
        if not line.startswith(("presence", "max_", "break_s", "heavy", "[wellbeing]"))
    )
    r = Router(config(cfg))
    drive = Drive([r], seed=7)
    drive.login(8, chat=3)
    drive.submit(20)
    drive.tick()
    for _ in range(400):
        drive.step()
    riders = [a for a in r._agents.values() if a.timer_rides]
    if r._native_heap:  # compiled: every timer in the native heap (the line costs more there)
        assert not riders and not r._rline
        assert any(e[2] == K_AGENT for e in r._deadlines)
        return
    assert riders
    assert not any(e[2] == K_AGENT for e in r._deadlines)
    assert r.next_deadline() == min(r._next_at(), min(a.timer_at for a in riders))
