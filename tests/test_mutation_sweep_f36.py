"""mutF36's sweep: targeting's rest, the clock's rest, the policies' lines drawn.

Each test here kills mutants a mutation sweep found alive (BENCHMARKS.md, "Mutation sweep
of targeting, clock and the policies, the rest (mutF36)"). Behaviour only: expressions in,
verdicts and messages out; the policies through inputs, events and counters, so these
tests hold while the core changes. Deterministic, no timing.
"""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router, decode_config
from router.config.targeting import compile_target, parse_target
from router.events import CallbackScheduled, Offered, Rejected
from router.state import codec
from tests.helpers import config
from tests.test_hours import HOURS

# --- attribute targeting -----------------------------------------------------------------

AGENT = {"level": 4, "team": "refund", "vip": True, "langs": ["zh", "en"]}

#: (expression, the inquiry's attributes, whether AGENT serves it)
EVAL: list[tuple[str, dict[str, Any] | None, bool]] = [
    ("level in [1, 4]", {}, True),  # a number in a list literal
    ("level in [4]", {}, True),
    ("level in [1, 2]", {}, False),
    ("[1, 4] has level", {}, True),
    ("inquiry.n in [3, 4.0]", {"n": 4}, True),
    ("level in []", {}, False),  # an empty list literal
    ("not level in [] and vip", {}, True),
    ("[] has level", {}, False),
]


@pytest.mark.parametrize(("text", "inquiry", "expected"), EVAL)
def test_targeting_expressions_evaluate_f36(
    text: str, inquiry: dict[str, Any] | None, expected: bool
) -> None:
    t = parse_target(text)
    assert t.matches(AGENT, inquiry) is expected
    assert t.admits(AGENT, t.bind(inquiry)) is expected
    assert compile_target(text).matches(AGENT, inquiry) is expected


def test_compile_target_hands_back_the_same_compiled_expression() -> None:
    # memoised: a config reload re-uses the compiled expression (`targeting.py:624`,
    # `if not len(_CACHE) > 4096`: the cache cleared at each miss but past 4096 entries)
    text = "level >= 3 and team == 'refund'"
    first = compile_target(text)
    assert compile_target(text) is first
    compile_target("level >= 3 and team == 'other'")  # a miss in between keeps the rest
    assert compile_target(text) is first
    assert compile_target(text).matches(AGENT, {}) is True


def test_compile_target_forgets_past_4096_expressions() -> None:
    # the memo is bounded: past 4096 other expressions, an expression is compiled anew
    # (a cache never cleared kept the first one for good)
    text = "level == 4 and vip"
    first = compile_target(text)
    for i in range(4097):
        compile_target(f"level == {i}")
    again = compile_target(text)
    assert again is not first
    assert again.matches(AGENT, {}) is True


# --- the policies --------------------------------------------------------------------------

H = 3600.0


def test_a_callback_taken_while_closed_has_no_patience_left() -> None:
    # `hours.py:118` (`t.patience_at = None` dropped): the customer hung up, so the
    # callback keeps no patience (the snapshot kept the dropped one)
    r = Router(decode_config(HOURS % ("callback", "serve")))
    a = r.submit(Inquiry(id="early", queue="sales", patience_s=30.0), 600.0)
    assert (a.outcome, a.expected_wait_s) == ("callback", 2 * H - 600.0)
    (rec,) = codec.decode(r.snapshot()).tickets
    assert (rec.id, rec.patience_at) == ("early", None)


def test_a_closing_announces_each_callback_its_wait_from_the_closing() -> None:
    # `hours.py:214` (`opens + now`): at a closing with `at_close = "closed"`, a waiting
    # inquiry becomes a callback told to expect the call at the next opening, Tuesday
    # 08:00, 14 hours after the closing at 18:00 (router time 12 h)
    r = Router(decode_config(HOURS % ("callback", "closed")))
    r.submit(Inquiry(id="w", queue="sales"), 4 * H)
    r.tick(4 * H)
    told = [e for e in r.tick(12 * H) if isinstance(e, CallbackScheduled)]
    assert [(e.inquiry_id, e.expected_wait_s, e.reason) for e in told] == [("w", 14 * H, "closed")]


OUTBOUND = (
    '[[queues]]\nname = "calls"\n[[queues]]\nname = "task"\nchannel = "task"\n'
    '[backpressure]\npolicy = "admit_all"\n[backpressure.outbound]\n'
    "queues = [%s]\nreserve_idle = 1\n"
)


def _held_task() -> Router:
    """A router holding task t1 for idle capacity (its one agent serves voice only)."""
    r = Router(decode_config(OUTBOUND % '"task"'))
    r.login(AgentSpec(id="a1", queues={"calls": 1.0, "task": 1.0}), 0)
    r.submit(Inquiry(id="t1", queue="task"), 1)
    r.tick(1)
    return r


def test_a_task_held_when_its_queue_leaves_outbound_waits_in_line() -> None:
    # `outbound.py:138` (`not ops.ticket(t.id) is t`): a held task of a queue taken out of
    # outbound was left parked for good, never offered
    r = _held_task()
    r.reconfigure(decode_config(OUTBOUND % ""), 2)
    r.tick(2)
    r.login(AgentSpec(id="a2", capacity={"task": 1}, queues={"task": 1.0}), 3)
    assert [(type(e).__name__, e.inquiry_id) for e in r.tick(3) if isinstance(e, Offered)] == [
        ("Offered", "t1")
    ]


def test_a_task_held_when_its_queue_is_removed_is_rejected() -> None:
    r = _held_task()
    r.reconfigure(decode_config('[[queues]]\nname = "calls"\n'), 2)
    out = [(e.inquiry_id, e.reason) for e in r.tick(2) if isinstance(e, Rejected)]
    assert out == [("t1", "queue_removed")]


@pytest.mark.parametrize(
    ("policy", "table"),
    [
        ("token_bucket", "[backpressure.token_bucket]\nrate_per_s = 1\nburst = 1\n"),
        ("codel", "[backpressure.codel]\ntarget_s = 10\ninterval_s = 12\n"),
    ],
)
def test_a_policys_state_is_kept_in_the_snapshot_under_its_name(policy: str, table: str) -> None:
    # `admission.py:516` (`name = "token_bucket"` dropped): the state was kept as "base",
    # a snapshot another build could not read back
    r = Router(
        decode_config(
            '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n'
            f'[backpressure]\npolicy = "{policy}"\n{table}'
        )
    )
    for i in range(3):
        r.submit(Inquiry(id=f"i{i}", queue="q"), float(i))
    r.tick(30.0)
    assert list(codec.decode(r.snapshot()).extra["policies"]) == [policy]


def test_a_declined_task_back_in_hold_is_no_longer_active() -> None:
    # `outbound.py:305` (`self.active.pop` dropped): a task declined back into hold still
    # counted as a task an agent works on (its snapshot listed it as active and held)
    text = (OUTBOUND % '"task"').replace("reserve_idle = 1", "reserve_idle = 0")
    r = Router(config(text, decline_memory="forever"))  # (a refusal kept)
    r.login(AgentSpec(id="a1", capacity={"task": 1}, queues={"task": 1.0}), 0)
    r.submit(Inquiry(id="t1", queue="task"), 1)
    r.tick(1)
    assert codec.decode(r.snapshot()).extra["outbound"]["active"] == ["t1"]
    r.decline("t1", 2, "a1")
    r.tick(2)
    out = codec.decode(r.snapshot()).extra["outbound"]
    assert (out["active"], out["held"]) == ([], {"task": ["t1"]})


def test_two_outbound_queues_start_the_most_urgent_head_first() -> None:
    # `outbound.py:315` (`heap[-1][0]`: a queue ranked by its last entry, not its head):
    # ta's head (arrived at 1) goes before tb's (3), though ta also holds one from 5;
    # `outbound.py:194` (`t.patience_at = None` dropped): a held task's patience is its
    # deadline, kept apart, not a patience of its own
    r = Router(
        decode_config(
            '[[queues]]\nname = "ta"\nchannel = "task"\n[[queues]]\nname = "tb"\nchannel = "task"\n'
            '[backpressure]\npolicy = "admit_all"\n[backpressure.outbound]\n'
            'queues = ["ta", "tb"]\nreserve_idle = 0\n'
        )
    )
    for tid, q, at in (("ta1", "ta", 1.0), ("tb3", "tb", 3.0), ("ta5", "ta", 5.0)):
        r.submit(Inquiry(id=tid, queue=q, patience_s=1000.0), at)
        r.tick(at)
    assert [t.patience_at for t in codec.decode(r.snapshot()).tickets] == [None, None, None]
    r.login(AgentSpec(id="a1", capacity={"task": 1}, queues={"ta": 1.0, "tb": 1.0}), 10)
    assert [e.inquiry_id for e in r.tick(10) if isinstance(e, Offered)] == ["ta1"]


def test_a_token_bucket_refills_from_its_last_look_refused_or_not() -> None:
    # rate 1/s, burst 1: 10 takes the token; 10.5 finds half a token (refused) and
    # 10.9 0.9 of one (refused); 11.5 a whole one. `admission.py:540` (`b[0] = now`: the
    # refill time never moved, 10.9 refilled from 10) and `:544` (`b[-1] = tokens`: the
    # tokens left stored as the time) admitted 10.9
    r = Router(
        decode_config(
            '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n'
            '[backpressure]\npolicy = "token_bucket"\n'
            "[backpressure.token_bucket]\nrate_per_s = 1\nburst = 1\n"
        )
    )
    outcomes = [
        r.submit(Inquiry(id=f"i{at}", queue="q"), at).outcome for at in (10, 10.5, 10.9, 11.5)
    ]
    assert outcomes == ["admitted", "rejected", "rejected", "admitted"]


def test_callbacks_between_attempts_each_hold_a_place_after_another_fails() -> None:
    # `callbacks.py:157` (`live(k) is t`): the pruning at a failure forgot the live
    # callbacks between attempts (c1 when c2 failed), not the withdrawn ones, and a queue
    # full with c1 and c2 took a third
    r = Router(
        decode_config(
            '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\nmax_queue = 2\n'
            '[backpressure]\npolicy = ["reject_when_full", "callback"]\n'
            "[backpressure.callback]\nmin_wait_s = 1\nretry_s = 100\nmax_attempts = 3\n"
        )
    )
    r.login(AgentSpec(id="a1"), 0)
    r.submit(Inquiry(id="i0", queue="q"), 0)
    r.tick(0)
    assert [r.submit(Inquiry(id=c, queue="q"), at).outcome for c, at in (("c1", 5), ("c2", 6))] == [
        "callback",
        "callback",
    ]
    r.complete("i0", 7)
    r.tick(7)
    r.callback_failed("c1", 8)  # c2 is then called
    r.tick(8)
    r.callback_failed("c2", 9)
    r.tick(9)
    r.submit(Inquiry(id="b", queue="q"), 9.5)  # a1 busy again
    r.tick(9.5)
    a = r.submit(Inquiry(id="i3", queue="q"), 10)
    assert (a.outcome, a.reason) == ("rejected", "queue_full: q holds 2")


def _wait_after_a_closing(transfer: bool) -> float:
    """The expected wait of an arrival the morning after three inquiries left ``sales``:
    deflected at its closing (18:00, router time 12 h), or moved away a second before."""
    r = Router(decode_config(HOURS % ("deflect", "closed")))
    r.login(AgentSpec(id="a1", queues={"sales": 1.0}), 2 * H)
    r.submit(Inquiry(id="busy", queue="sales"), 2 * H)  # a1 busy for good
    r.tick(2 * H)
    r.submit(Inquiry(id="p1", queue="sales", patience_s=10.0), 2 * H + 1)  # abandons
    r.tick(2 * H + 1)
    r.tick(2 * H + 20)
    for i in range(3):
        r.submit(Inquiry(id=f"w{i}", queue="sales"), 4 * H + i)
    r.tick(4 * H + 5)
    if transfer:
        for i in range(3):
            r.transfer(f"w{i}", "always", 12 * H - 1)
    r.tick(12 * H)
    r.tick(26 * H)  # open again, Tuesday 08:00
    r.submit(Inquiry(id="x1", queue="sales"), 26 * H + 10)
    return r.submit(Inquiry(id="x2", queue="sales"), 26 * H + 20).expected_wait_s


def test_a_closing_tells_the_estimator_of_each_inquiry_it_sends_away() -> None:
    # `hours.py:217` (`on_removed` dropped): inquiries a closing deflects left the line
    # uncounted, so the abandonment hazard kept only p1's 10 s; counted, as a move away
    # is, their long waits (censored patience) lengthen the estimate: 360 s, not 189 s
    closing = _wait_after_a_closing(transfer=False)
    assert closing == pytest.approx(_wait_after_a_closing(transfer=True), rel=1e-6)
    assert closing > 300.0
