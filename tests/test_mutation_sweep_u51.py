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

from router import AgentSpec, Router
from router.events import Reconfigured
from router.observe.monitor import Monitor
from router.state import codec
from tests.helpers import config
from tests.test_drain_for_break import chats, drains, spec
from tests.test_drain_share import SHARE, counts, deferred, four, readied
from tests.test_max_declines import away, lone
from tests.test_mutation_sweep_s49 import breaks, early_entries, window
from tests.test_mutation_sweep_s50 import _call, _own_queues


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
    # user52: its channel was not told either: None, as an unknown target is (not '')
    assert st.queues["b"].channel is None
    assert st.queues["a"].channel == "voice"


def test_a_restored_routers_snapshot_keeps_the_gone_entries_in_due_order() -> None:
    # breaks:384 (``gone.sort`` dropped in ``early_entries``: the entries of agents gone in
    # the order of the tallies): a0 and b0 (due 82) wait in their windows (c1, c2 and b2 on
    # breaks of their own take every place); a1 and b1 (due 84) queue behind them and log
    # out, their entries stale but counted (behind a live head: not popped). Team a's
    # tally was made first (a1 logged in first), but b2 logs in before a0, so the restored
    # router makes team b's tally first; its snapshot must be the bytes it was restored
    # from (tests/machine_base.py checks it of every restore): by due, then incarnation
    # (a1 before b1), not in the tallies' order
    r = Router(config(window(40) + _own_queues("abc")))
    r.login(AgentSpec(id="a1", team="a", skills={"a": 1}), 0)
    r.logout("a1", 1)
    r.login(AgentSpec(id="b2", team="b"), 2)
    for aid in ("a0", "b0"):
        r.login(AgentSpec(id=aid, team=aid[0], skills={aid[0]: 1}), 2)
        _call(r, aid, "i" + aid, 2, aid[0])
    for aid in ("c1", "c2", "b2"):
        if aid != "b2":
            r.login(AgentSpec(id=aid), 2)
        r.go_on_break(aid, 2)
    for aid in ("a1", "b1"):
        r.login(AgentSpec(id=aid, team=aid[0], skills={aid[0]: 1}), 4)
        _call(r, aid, "i" + aid, 4, aid[0])
    for aid in ("a0", "b0", "a1", "b1"):
        r.complete("i" + aid, 45 if aid[1] == "0" else 50)
        assert breaks(r.tick(45 if aid[1] == "0" else 50)) == []
    r.logout("a1", 51)
    r.logout("b1", 51)
    r.tick(51)
    assert early_entries(r) == (4, 4)
    assert list(r._breaks.teams) == ["a", "b"]
    snap = r.snapshot()
    early, gone = codec.decode(snap).early, codec.decode(snap).early_gone
    assert isinstance(early, codec.EarlyRecord) and isinstance(gone, list)
    assert [e[3] for e in early.entries] == ["a0", "b0"]
    assert [(e[0], e[3]) for e in gone] == [(84.0, "a"), (84.0, "b")]
    restored = Router.restore(snap)
    assert list(restored._breaks.teams) == ["b", "a"]
    assert restored.snapshot() == snap


def test_a_reconfigure_bringing_the_drain_share_counts_a_pending_break_on_a_break() -> None:
    # core:579 (``self._drain_next = None`` dropped from ``__init__``: set only around an
    # early break): su's break fell due at 80 while she held a chat, with no window (no
    # early break ever began); a reconfigure bringing the window and the drain share
    # recounts her: a break given at due holds its break place, no drain place, and starts
    # when the chat ends (the mutant read the unset attribute: AttributeError)
    plain = (
        SHARE.replace("break_window_s = 40\n", "")
        .replace("drain_for_break = true\n", "")
        .replace("max_drain_share = 0.5\n", "")
    )
    r = Router(config(plain))
    r.login(spec("su"), 0.0)
    chats(r, "su", ["su1"], 0.0)
    assert breaks(r.tick(80.0)) == [("su", None)]
    r.reconfigure(config(SHARE), 81.0)
    assert drains(r.tick(81.0)) == [] and counts(r) == (1, 0)
    r.complete("su1", 90.0)
    assert breaks(r.tick(90.0)) == [("su", 120.0)]


def test_a_drain_ending_past_its_deferral_bound_starts_the_break_above_the_share() -> None:
    # core:2823 (``_goes_anyway_or_defers``' ``return True`` made False: the deferral over,
    # neither the break nor back to work): Su drains from 40 (due 80, deferral bound 5 s)
    # and holds her chat until 86, when the one break place is Li's (until 88): her
    # deferral is over, so her break starts at once, above the share (wellbeing first);
    # the mutant left her on a break notice holding nothing, no break ever
    text = SHARE.replace("break_window_s = 40\n", "break_window_s = 40\nmax_break_deferral_s = 5\n")
    r = four(text)
    r.tick(40)
    r.complete("li1", 58)
    assert ("li", 88.0) in breaks(r.tick(58))
    assert breaks(r.tick(85)) == [] and counts(r) == (1, 2)
    r.complete("su1", 86)
    ev = r.tick(86)
    assert breaks(ev) == [("su", 116.0)] and readied(ev) == []
    assert counts(r) == (2, 1)


def test_the_drained_agents_later_deferred_break_holds_a_break_place() -> None:
    # core:2901 (``self._drain_next = None`` dropped after an early break began: the last
    # agent to drain stayed marked): Su drains from 40 and her chat ends at 50 with Li on
    # a break of her own holding the one place: back to work, her break deferred. She takes
    # a chat; when Li is back at 60 the place is hers (a deferred break given its place
    # holds it from the notice, not a drain); the mutant counted her notice as a drain
    # under the drain share, the break place free for anyone
    r = Router(config(SHARE))
    for aid in ("su", "li"):
        r.login(spec(aid), 0.0)
    r.go_on_break("li", 0.0)
    chats(r, "su", ["su1"], 0.0)
    assert drains(r.tick(40)) == [("su", 80.0)] and counts(r) == (0, 1)
    r.complete("su1", 50)
    ev = r.tick(50)
    assert readied(ev) == ["su"] and deferred(ev) == [("su", 80.0)]
    chats(r, "su", ["su2"], 55)
    r.set_ready("li", 60)
    ev = r.tick(60)
    assert breaks(ev) == [("su", None)] and drains(ev) == []
    assert counts(r) == (1, 0) and not r.agent_statistics("su").drain_place
    r.complete("su2", 70)
    assert breaks(r.tick(70)) == [("su", 100.0)]
