"""mutG37's sweep: the policies' rest (and the state and config modules it reached).

Each test here kills mutants a mutation sweep found alive (BENCHMARKS.md, "Mutation sweep
of the policies' rest and durable mode's log (mutG37)"). Behaviour only: inputs in, events,
admissions and counters out, so these tests hold while the core changes. Deterministic, no
timing.
"""

from __future__ import annotations

from router import AgentSpec, Inquiry, Router, decode_config
from router.events import Assigned, SurgeEnded, SurgeStarted
from tests.test_mutation_sweep_e35 import _one_queue

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


# --- outbound ----------------------------------------------------------------------------


def _burst_then_silence() -> Router:
    """20 inbound arrivals in 1 s to a protected queue (30 s calls by the prior), all
    withdrawn; then 4 idle agents and one outbound task, held at 2 s."""
    r = Router(
        decode_config(
            '[routing]\nmode = "immediate"\n[[queues]]\nname = "in"\n[[queues]]\nname = "out"\n'
            '[backpressure.outbound]\nqueues = ["out"]\nreserve_idle = 0\nprotect = ["in"]\n'
            "[backpressure.estimate]\nprior_handle_s = 30\n"
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


def test_a_task_back_in_line_at_its_deadline_expires() -> None:
    # `outbound.py:306` (`deadline < now`): a task declined at the very second of its
    # deadline (which passed while it was on offer) was held again, and held for good
    r = Router(
        decode_config(
            '[routing]\nmode = "offer"\noffer_timeout_s = 100\n[[queues]]\nname = "out"\n'
            '[backpressure.outbound]\nqueues = ["out"]\nreserve_idle = 0\n'
            "deadline_s = { out = 50 }\n"
        )
    )
    r.login(AgentSpec(id="a0"), 0)
    r.submit(Inquiry(id="t0", queue="out"), 1)
    r.tick(1)
    assert r.tick(51) == [] and r.inquiry_state("t0") == "offered"
    r.decline("t0", 51)
    assert [(type(e).__name__, getattr(e, "reason", "")) for e in r.tick(51)] == [
        ("OfferDeclined", ""),
        ("Requeued", "declined"),
        ("TaskExpired", "deadline: not started 50 s after arrival (deadline 50 s)"),
    ]
    assert r.counters.tasks_expired == 1
