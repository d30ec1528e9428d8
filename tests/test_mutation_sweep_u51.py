"""Directed tests from the mutation sweep of the newest core code (mutU51).

``max_declines`` (decline50: the run of declines, ``AgentAway`` reason ``max_declines``,
``Snapshot.declines``), ``max_drain_share`` (share50: the ``DRAINING`` flag, drains
ending without a place, the offers fix), fix50's core lines (``Snapshot.early_gone``, the
reconfigure listeners, ``Reconfigured``'s answer targets and channels, the monitor
learning them) and the read-through's ``4b4d022``/``fc00849``, swept one mutant a line
without the randomized fuzz: each test pins one behaviour a mutant changed without the
nearest test files noticing; its comment names the mutants (``file:line`` at ``fb66a51``,
BENCHMARKS.md, mutU51). They drive a small ``Router``; none is timed.
"""

from __future__ import annotations

import msgspec

from router import Router
from router.events import Reconfigured
from router.observe.monitor import Monitor
from tests.helpers import config
from tests.test_max_declines import away, lone


def test_the_run_that_sets_an_agent_away_is_kept_whole_in_snapshots() -> None:
    # core:1833 (``agent.declines = most`` dropped): the N-th decline set the agent away
    # but left its run at N - 1, so the snapshot said one decline fewer than were made
    r = lone()  # max_declines = 2
    r.decline("x", 1.0)
    r.tick(1.0)
    r.decline("x", 2.0)
    assert away(r.tick(2.0)) == [("a", "max_declines")]
    snap = r.snapshot()
    assert msgspec.msgpack.decode(snap)["declines"] == {"a": 2}
    assert Router.restore(snap).snapshot() == snap
    r.set_ready("a", 3.0)  # back: the run from zero
    assert "declines" not in msgspec.msgpack.decode(r.snapshot())


def test_a_monitor_learns_a_queue_from_a_change_of_its_channel_alone() -> None:
    # monitor:793 (the channel loop's ``self._queue(name)`` dropped): a queue the monitor's
    # config did not name (the router was reconfigured before the monitor came), then
    # only its channel changed (no answer target in the event): the monitor kept the
    # channel but listed no such queue
    a = '[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\n'
    r = Router(config(a + '[[queues]]\nname = "b"\n'))
    mon = Monitor(config(a))
    mon.feed(r.tick(0.0))
    r.reconfigure(config(a + '[[queues]]\nname = "b"\nchannel = "chat"\n'), 1.0)
    events = r.tick(1.0)
    (note,) = [e for e in events if isinstance(e, Reconfigured)]
    assert (note.channels, note.answer_targets) == ((("b", "chat"),), ())
    mon.feed(events)
    st = mon.statistics(2.0)
    assert sorted(st.queues) == ["a", "b"]
    assert (st.queues["b"].channel, st.queues["b"].answer_target_s) == ("chat", None)


def test_a_monitor_learns_a_queue_from_a_change_of_its_answer_target_alone() -> None:
    # monitor:796 (the target loop's ``self._queue(name)`` dropped): as above, only the
    # answer target changed (no channel in the event)
    a = '[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\n'
    r = Router(config(a + '[[queues]]\nname = "b"\n'))
    mon = Monitor(config(a))
    mon.feed(r.tick(0.0))
    r.reconfigure(config(a + '[[queues]]\nname = "b"\nanswer_target_s = 40\n'), 1.0)
    events = r.tick(1.0)
    (note,) = [e for e in events if isinstance(e, Reconfigured)]
    assert (note.channels, note.answer_targets) == ((), (("b", 40.0),))
    mon.feed(events)
    st = mon.statistics(2.0)
    assert sorted(st.queues) == ["a", "b"]
    assert st.queues["b"].answer_target_s == 40.0
