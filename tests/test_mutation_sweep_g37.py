"""mutG37's sweep: the policies' rest (and the state and config modules it reached).

Each test here kills mutants a mutation sweep found alive (BENCHMARKS.md, "Mutation sweep
of the policies' rest and durable mode's log (mutG37)"). Behaviour only: inputs in, events,
admissions and counters out, so these tests hold while the core changes. Deterministic, no
timing.
"""

from __future__ import annotations

from router import AgentSpec, Inquiry, Router, decode_config
from router.events import (
    Assigned,
    CallbackScheduled,
    Deflected,
    Rejected,
    SurgeEnded,
    SurgeStarted,
)
from router.state import codec
from tests.test_hours import HOURS
from tests.test_mutation_sweep_e35 import _one_queue
from tests.test_mutation_sweep_f36 import OUTBOUND

H = 3600.0

# --- CoDel and shedding ------------------------------------------------------------------

CODEL = (
    '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n[backpressure]\npolicy = %s\n'
    "[backpressure.callback]\nmin_wait_s = 100\n"
    '[backpressure.codel]\ntarget_s = 10\ninterval_s = 12\naction = "deflect"\n'
)


def _codel_router_with_callback_at(callback_at: float, callers: list[tuple[str, float]]) -> Router:
    """A CoDel router (target 10 s, interval 12 s): callers and one callback, ``cb``, in
    line, nobody serving. ``cb`` is taken as a callback (no agent: an endless wait) under
    the callback policy, which is then configured away: the callers wait on the line."""
    codel, both = decode_config(CODEL % '"codel"'), decode_config(CODEL % '["callback", "codel"]')
    r = Router(codel)
    before = [c for c in callers if c[1] < callback_at]
    after = [c for c in callers if c[1] >= callback_at]
    for inquiry_id, at in before:
        r.submit(Inquiry(id=inquiry_id, queue="q"), at)
    r.reconfigure(both, callback_at)
    assert r.submit(Inquiry(id="cb", queue="q"), callback_at).outcome == "callback"
    r.reconfigure(codel, callback_at)
    for inquiry_id, at in after:
        r.submit(Inquiry(id=inquiry_id, queue="q"), at)
    return r


def _run(
    r: Router, steps: list[float], login_at: float | None = None
) -> list[tuple[str, str, float]]:
    """Tick ``r`` at ``steps`` (an agent logs in at ``login_at``): assignments and sheds."""
    seen: list[tuple[str, str, float]] = []
    for now in steps:
        if now == login_at:
            r.login(AgentSpec(id="a1"), now)
        seen += [
            (type(e).__name__, e.inquiry_id, round(e.at, 3))
            for e in r.tick(now)
            if isinstance(e, Assigned | Deflected)
        ]
    return seen


def test_codel_never_sheds_a_callback_at_the_head_nor_counts_it_as_a_drop() -> None:
    # `admission.py:492` (`_shed` true for a callback at the head): the callback was kept
    # but counted as a drop, so CoDel entered its dropping state and shed the callers
    # behind it on the drop schedule (55.4, 60.8). Above target since 10 s with a callback
    # at the head: nothing shed; once an agent takes the callback at 50, the caller now at
    # the head has been above target for an interval and goes at once, the next 12 s on
    r = _codel_router_with_callback_at(0.0, [("c1", 1.0), ("c2", 2.0), ("c3", 3.0)])
    steps = [3.0, 10.0, 15.0, 22.0, 30.0, 40.0, 50.0, 51.0, 60.0, 62.0]
    assert _run(r, steps, login_at=50.0) == [
        ("Assigned", "cb", 50.0),
        ("Deflected", "c1", 50.0),
        ("Deflected", "c2", 62.0),
    ]


def test_codel_skips_a_turn_for_a_callback_at_the_head_by_its_drop_interval() -> None:
    # `admission.py:466` (`max(st.count, 2)`): a callback at the head when a drop was due
    # put the next drop an interval / sqrt(2) on (42.5), not the interval after one drop
    # (46). A shed at 22 (above target since 10), then the callback at the head at 34
    r = _codel_router_with_callback_at(0.5, [("A", 0.0), ("C", 1.0), ("D", 1.5)])
    steps = [1.5, 10.0, 22.0, 34.0, 40.0, 42.486, 46.0]
    assert _run(r, steps, login_at=40.0) == [
        ("Deflected", "A", 22.0),
        ("Assigned", "cb", 40.0),
        ("Deflected", "C", 46.0),
    ]


def test_codel_waits_an_interval_above_target_before_its_first_shed() -> None:
    # `admission.py:412` (`first_above = 1.0` at the start): a queue first looked at when
    # its head was already above target shed at once (20), not an interval later (32)
    r = Router(decode_config(CODEL % '"codel"'))
    r.submit(Inquiry(id="A", queue="q"), 0)
    r.submit(Inquiry(id="B", queue="q"), 0.5)
    assert _run(r, [20.0, 31.0, 32.0]) == [("Deflected", "A", 32.0)]


def test_shedding_configured_later_can_shed_inquiries_already_waiting() -> None:
    # `control.py:125` (the shedding index not built when `shed_lowest_priority` comes in
    # by a reconfigure): the inquiries already waiting could not be shed; a full queue
    # rejected the higher-priority arrival instead
    cfg = (
        '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\nmax_queue = 2\n'
        '[backpressure]\npolicy = "%s"\n'
    )
    r = Router(decode_config(cfg % "reject_when_full"))
    r.submit(Inquiry(id="l1", queue="q", priority=1), 0)
    r.submit(Inquiry(id="l2", queue="q", priority=1), 1)
    r.reconfigure(decode_config(cfg % "shed_lowest_priority"), 2)
    r.tick(2)
    assert r.submit(Inquiry(id="h", queue="q", priority=5), 3).outcome == "admitted"
    assert [(e.inquiry_id, e.reason) for e in r.tick(3) if isinstance(e, Rejected)] == [
        ("l2", "shed: displaced by 'h' (priority 5 > 1); queue_full: q holds 2")
    ]


def test_an_inquiry_made_a_callback_at_a_closing_is_never_shed() -> None:
    # A real bug (found reading `control.py:503`'s survivor): an inquiry waiting when its
    # queue closed became a callback (`at_close = "closed"`), but its entry in the shedding
    # index stayed; back in line at the opening, a higher-priority arrival to the full
    # queue shed it ("Callbacks are never shed", docs/backpressure.md). Now the arrival is
    # rejected, as for any full queue of callbacks
    cfg = (HOURS % ("callback", "closed")).replace(
        'name = "sales"\n', 'name = "sales"\nmax_queue = 2\n'
    ) + '[backpressure]\npolicy = "shed_lowest_priority"\n'
    r = Router(decode_config(cfg))
    r.submit(Inquiry(id="w1", queue="sales", priority=1), 4 * H)  # Monday 10:00, open
    r.submit(Inquiry(id="w2", queue="sales", priority=1), 4 * H + 1)
    r.tick(4 * H + 1)
    told = [e.inquiry_id for e in r.tick(12 * H) if isinstance(e, CallbackScheduled)]
    assert told == ["w1", "w2"]  # closed at 18:00: each will be called back
    r.tick(26 * H)  # Tuesday 08:00: open again, both back in line as callbacks
    assert (r.inquiry_state("w1"), r.inquiry_state("w2")) == ("waiting", "waiting")
    adm = r.submit(Inquiry(id="h", queue="sales", priority=5), 26 * H + 10)
    assert (adm.outcome, adm.reason) == ("rejected", "queue_full: sales holds 2")
    assert [e.inquiry_id for e in r.tick(26 * H + 10) if isinstance(e, Rejected)] == ["h"]
    assert (r.inquiry_state("w1"), r.inquiry_state("w2")) == ("waiting", "waiting")


# --- surge -------------------------------------------------------------------------------


def test_surge_on_expected_wait_ends_when_the_line_empties() -> None:
    # `surge.py:112` (`worst = 1.0`): an empty line measured as a 1 s wait, so surge on
    # `enter_wait_s = 2` (leaving below half of it, 1 s) never ended once nobody waited
    r = _one_queue(
        "[backpressure.surge]\nenter_wait_s = 2\nenter_after_s = 0\nexit_after_s = 0\n"
        'queues = ["q"]\n'
    )
    r.submit(Inquiry(id="x", queue="q"), 0)  # nobody to serve it: 360 s by the prior
    seen = [(type(e).__name__, e.at, e.reason) for e in r.tick(0) if isinstance(e, SurgeStarted)]
    assert seen == [("SurgeStarted", 0.0, "expected_wait: q 360 s > 2 s for 0 s")]
    r.withdraw("x", 5)
    ended = [(e.at, e.reason) for e in r.tick(5) if isinstance(e, SurgeEnded)]
    assert ended == [(5.0, "expected_wait 0 s < 1 s for 0 s")]


def test_a_reconfigure_ends_surge_only_when_it_drops_the_surge_table() -> None:
    # `surge.py:76` (`s is not None`): any reconfigure in surge ended it ("surge_disabled"),
    # and one without a `[backpressure.surge]` table left the router in surge for good
    surge = (
        "[backpressure.surge]\nenter_waiting = 1\nenter_after_s = 0\nexit_after_s = 0\n"
        'queues = ["q"]\n'
    )
    base = '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n'
    r = Router(decode_config(base + surge))
    r.submit(Inquiry(id="a", queue="q"), 0)
    r.submit(Inquiry(id="b", queue="q"), 0)
    assert [type(e).__name__ for e in r.tick(0) if isinstance(e, SurgeStarted)] == ["SurgeStarted"]
    r.reconfigure(decode_config(base + surge.replace("exit_after_s = 0", "exit_after_s = 5")), 1)
    assert [e for e in r.tick(1) if isinstance(e, SurgeEnded)] == []
    r.reconfigure(decode_config(base), 2)
    ended = [(e.at, e.reason) for e in r.tick(2) if isinstance(e, SurgeEnded)]
    assert ended == [(2.0, "surge_disabled")]


# --- outbound ----------------------------------------------------------------------------


def _burst_then_silence(estimate: str = "") -> Router:
    """20 inbound arrivals in 1 s to a protected queue (30 s calls by the prior), all
    withdrawn; then 4 idle agents and one outbound task, held at 2 s. ``estimate``: more
    lines of ``[backpressure.estimate]``."""
    r = Router(
        decode_config(
            '[routing]\nmode = "immediate"\n[[queues]]\nname = "in"\n[[queues]]\nname = "out"\n'
            '[backpressure.outbound]\nqueues = ["out"]\nreserve_idle = 0\nprotect = ["in"]\n'
            "[backpressure.estimate]\nprior_handle_s = 30\n" + estimate
        )
    )
    for i in range(20):
        r.submit(Inquiry(id=f"i{i}", queue="in"), i * 0.05)
    for i in range(20):
        r.withdraw(f"i{i}", 1)
    r.tick(1)
    for k in range(4):
        r.login(AgentSpec(id=f"a{k}"), 2)
    r.submit(Inquiry(id="t", queue="out"), 2)
    r.tick(2)
    assert r.inquiry_state("t") == "parked"
    return r


def test_a_burst_then_silence_frees_outbound_tasks_by_the_silence_bound() -> None:
    # `outbound.py:279` (the silence bound `3 / X` dropped): after the burst, the decayed
    # rate alone (0.32/s at 60 s, 9.5 erlangs) held the task while 4 agents sat idle
    # until 300 s; the bound (3 / 59 s, 1.5 erlangs: 3 agents needed, 3 left beside the
    # task) starts it between 40 s and 60 s
    r = _burst_then_silence()
    assert [r.tick(now) for now in (20.0, 40.0)] == [[], []]
    assert r.inquiry_state("t") == "parked"  # 40 s of silence: 3 / 39 s still needs 4
    started = [(e.inquiry_id, e.at) for e in r.tick(60) if isinstance(e, Assigned)]
    assert started == [("t", 60.0)]


def test_the_inbound_need_is_computed_again_only_every_ten_seconds() -> None:
    # `outbound.py:285` (the need not kept): computed afresh at every pass, the need fell
    # to 3 at 48 s and the task started then; kept for `RECOMPUTE_S` (10 s), the need
    # computed at 42 s holds it until the look at 52 s (the looks: 2, 12, ..., 52)
    r = _burst_then_silence()
    started = []
    for now in range(3, 61):
        started += [(e.inquiry_id, e.at) for e in r.tick(float(now)) if isinstance(e, Assigned)]
    assert started == [("t", 52.0)]


def test_a_token_bucket_compaction_keeps_the_buckets_not_full() -> None:
    # `admission.py:554` (`now + b[1]` in the fullness test): the compaction at the 65th
    # tenant (106.4 s) forgot the spent buckets too (their last looks past 100 s), so a
    # tenant whose token was spent 10 s before (0.1 of a token back at 0.01/s) was
    # admitted as if new
    r = _one_queue(
        '[backpressure]\npolicy = "token_bucket"\n'
        '[backpressure.token_bucket]\nper = "tenant"\nrate_per_s = 0.01\nburst = 1\n'
    )
    for i in range(65):  # 64 tenants with a spent bucket, then a new one: the compaction
        adm = r.submit(Inquiry(id=f"i{i}", queue="q", tenant=f"t{i}"), 100 + i / 10)
        assert adm.outcome == "admitted"
    again = r.submit(Inquiry(id="again", queue="q", tenant="t0"), 110)
    assert (again.outcome, again.reason) == (
        "rejected",
        "rate_limited: tenant t0 above 0.01/s (burst 1)",
    )


def test_a_restored_router_keeps_its_pending_named_timers_times() -> None:
    # `timers.py:86` (`self.at` not restored): the restored router knew no pending CoDel
    # timer, so its snapshot differed from the one it came from (the times per name)
    r = Router(decode_config(CODEL % '"codel"'))
    r.submit(Inquiry(id="A", queue="q"), 0)
    r.submit(Inquiry(id="B", queue="q"), 0.5)
    r.tick(0.5)  # CoDel looks again when A crosses the target, at 10
    snap = r.snapshot()
    b = Router.restore(snap)
    assert b.snapshot() == snap
    seen = [_run(x, [10.0, 21.0, 22.0]) for x in (r, b)]
    assert seen == [[("Deflected", "A", 22.0)]] * 2
    assert b.snapshot() == r.snapshot()


def test_a_callback_between_attempts_restores_from_a_snapshot_without_the_flag() -> None:
    # `callbacks.py:200` (`len(row) >= 2`): older snapshots keep `[id, attempts]` per
    # callback, without "between attempts"; restoring one failed (an IndexError) instead
    # of reading a parked callback as between attempts
    r = _one_queue(
        '[backpressure]\npolicy = "callback"\n'
        "[backpressure.callback]\nmin_wait_s = 1\nretry_s = 10\nmax_attempts = 2\n"
    )
    r.login(AgentSpec(id="a1"), 0)
    r.submit(Inquiry(id="i0", queue="q"), 0)
    r.tick(0)
    assert r.submit(Inquiry(id="cb", queue="q"), 1).outcome == "callback"
    r.complete("i0", 2)
    r.tick(2)
    r.callback_failed("cb", 3)
    r.tick(3)  # its retry at 13
    snap = codec.decode(r.snapshot())
    assert snap.extra["callbacks"] == [["cb", 1, 1]]
    snap.extra["callbacks"] = [row[:2] for row in snap.extra["callbacks"]]
    b = Router.restore(codec.encode(snap))
    assert b.snapshot() == r.snapshot()
    for x in (r, b):
        assert [(type(e).__name__, e.at) for e in x.tick(13)] == [("Assigned", 13.0)]


def test_a_full_queue_sheds_from_its_own_line_not_one_an_inquiry_moved_from() -> None:
    # `control.py:554` (`or` for `and` in `_shed_live`): the queue's index still held l2,
    # transferred to q2 since, as its own lowest-priority newest; a full q shed l2 (from
    # q2, leaving q over its bound) instead of l1
    r = Router(
        decode_config(
            '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\nmax_queue = 2\n'
            '[[queues]]\nname = "q2"\n[backpressure]\npolicy = "shed_lowest_priority"\n'
        )
    )
    r.submit(Inquiry(id="l1", queue="q", priority=1), 0)
    r.submit(Inquiry(id="l2", queue="q", priority=1), 1)
    r.transfer("l2", "q2", 2)
    r.submit(Inquiry(id="l3", queue="q", priority=2), 3)
    assert r.submit(Inquiry(id="h", queue="q", priority=5), 4).outcome == "admitted"
    assert [(e.inquiry_id, e.reason) for e in r.tick(4) if isinstance(e, Rejected)] == [
        ("l1", "shed: displaced by 'h' (priority 5 > 1); queue_full: q holds 2")
    ]
    assert r.inquiry_state("l2") == "waiting"


def test_a_task_whose_queue_leaves_outbound_keeps_no_deadline() -> None:
    # `outbound.py:139` (the deadline kept when the queue leaves outbound): the task waits
    # like an inquiry, and its hold's deadline goes with the hold. Kept, it stayed in the
    # snapshot, and the task was expired by it (at 80, deadline 51) when its queue was made
    # outbound again and a new task there had the strays held
    r = Router(decode_config(OUTBOUND % '"task"' + "deadline_s = { task = 50 }\n"))
    r.login(AgentSpec(id="a1", queues={"calls": 1.0, "task": 1.0}), 0)
    r.submit(Inquiry(id="t1", queue="task"), 1)
    r.tick(1)
    assert codec.decode(r.snapshot()).extra["outbound"]["deadlines"] == [["t1", 51.0]]
    r.reconfigure(decode_config(OUTBOUND % ""), 2)
    r.tick(2)
    assert r.inquiry_state("t1") == "waiting"
    assert codec.decode(r.snapshot()).extra["outbound"]["deadlines"] == []
