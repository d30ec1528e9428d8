"""Each admission policy alone and in chains: verdicts, outcome events, reasons, config errors."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from router import AgentSpec, ConfigError, Inquiry, InvalidState, Router, UnknownId, decode_config
from router.events import (
    Abandoned,
    Assigned,
    CallbackScheduled,
    Deflected,
    Offered,
    Overflowed,
    Queued,
    Rejected,
    Requeued,
)
from router.model import Admission
from router.policies.admission import POLICIES

QUEUES = """
[[queues]]
name = "q"
{qextra}
[[queues]]
name = "vip"
priority = 5
[[queues]]
name = "second"
"""


def router(backpressure: str, *, mode: str = "immediate", qextra: str = "") -> Router:
    toml = f'[routing]\nmode = "{mode}"\n' + QUEUES.format(qextra=qextra) + backpressure
    return Router(decode_config(toml))


def only(events: list[Any], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def submit(r: Router, iid: str, now: float, queue: str = "q", **kw: Any) -> Admission:
    return r.submit(Inquiry(id=iid, queue=queue, **kw), now)


def test_registry_has_every_policy() -> None:
    assert sorted(POLICIES) == [
        "admit_all",
        "block",
        "callback",
        "codel",
        "deflect",
        "overflow",
        "reject_when_full",
        "shed_lowest_priority",
        "token_bucket",
    ]


# ---------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        (
            '[backpressure]\npolicy = ["deflect", "nope"]',
            r"\$\.backpressure\.policy\[1\]: unknown policy 'nope'; known: admit_all, block, .*",
        ),
        (
            '[backpressure]\npolicy = ["deflect", "deflect"]',
            r"\$\.backpressure\.policy\[1\]: policy 'deflect' appears twice",
        ),
        (
            '[backpressure]\npolicy = "reject_when_full"',
            r"\$\.backpressure\.policy: reject_when_full needs a bound: set "
            r"\$\.backpressure\.max_queue or max_queue on a queue",
        ),
        (
            "[backpressure.deflect]\nqueues = { nope = 10 }",
            r"\$\.backpressure\.deflect\.queues\.nope: unknown queue 'nope'",
        ),
        (
            '[backpressure.callback]\nexempt = ["nope"]',
            r"\$\.backpressure\.callback\.exempt: unknown queue 'nope'",
        ),
        (
            '[backpressure.overflow.queues.q]\nto = "q"\nafter_s = 5',
            r"\$\.backpressure\.overflow\.queues\.q\.to: a queue cannot overflow to itself",
        ),
        (
            '[backpressure.overflow.queues.q]\nto = "second"',
            r"\$\.backpressure\.overflow\.queues\.q: set after_s, max_queue or both",
        ),
        (
            '[backpressure.overflow.queues.q]\nto = "second"\nafter_s = 5\n'
            '[backpressure.overflow.queues.second]\nto = "q"\nafter_s = 5',
            r"\$\.backpressure\.overflow\.queues\.q\.to: overflow rules form a cycle through 'q'",
        ),
        (
            '[[queues]]\nname = "chat"\nchannel = "chat"\n'
            '[backpressure.overflow.queues.q]\nto = "chat"\nafter_s = 5',
            r"\$\.backpressure\.overflow\.queues\.q\.to: queue 'chat' is on channel 'chat', "
            r"'q' on 'voice'",
        ),
        (
            "[backpressure.surge]\nenter_wait_s = 60\nexit_wait_s = 120",
            r"\$\.backpressure\.surge\.exit_wait_s: 120 is above enter_wait_s 60",
        ),
        (
            "[backpressure.surge]\ncaps = { chat = 31 }",
            r"\$\.backpressure\.surge\.caps\.chat: 31 is above the channel's hard maximum 30",
        ),
        (
            "[backpressure.codel]\ntargt_s = 5",
            r"\$\.backpressure\.codel: unknown field 'targt_s'; known: target_s, .*",
        ),
        (
            "[backpressure.token_bucket]\nburst = 0.5",
            r"\$\.backpressure\.token_bucket\.burst: Expected float >= 1\.0",
        ),
    ],
)
def test_config_problems_name_the_field(toml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        decode_config(QUEUES.format(qextra="") + toml)
    assert any(re.fullmatch(problem, p) for p in info.value.problems), info.value.problems


def test_reconfigure_to_a_bad_chain_changes_nothing() -> None:
    r = router("")
    with pytest.raises(ConfigError, match=r"unknown policy 'nope'"):
        r.reconfigure(
            decode_config(QUEUES.format(qextra="") + '[backpressure]\npolicy = "nope"'), 1
        )
    assert r.version == 1


# ---------------------------------------------------------------- expected wait


def test_expected_wait_is_zero_with_a_free_agent_and_infinite_with_no_agent() -> None:
    r = router("")
    adm = submit(r, "1", 0)
    assert adm == Admission(
        inquiry_id="1", queue="q", outcome="admitted", expected_wait_s=math.inf, position=1
    )
    r.login(AgentSpec(id="a"), 0)
    adm = submit(r, "2", 0, queue="vip")
    assert (adm.outcome, adm.expected_wait_s, adm.position) == ("admitted", 0.0, 1)
    queued = only(r.tick(0), Queued)
    # on the wire an unknown wait is None (JSON has no infinity); Admission keeps math.inf
    assert [(e.inquiry_id, e.expected_wait_s) for e in queued] == [("1", None), ("2", 0.0)]


# ---------------------------------------------------------------- reject_when_full


def test_reject_when_full_per_queue_then_global() -> None:
    r = router('[backpressure]\npolicy = "reject_when_full"\nmax_queue = 3', qextra="max_queue = 2")
    assert [submit(r, str(i), 0).outcome for i in range(3)] == ["admitted", "admitted", "rejected"]
    adm = submit(r, "v1", 0, queue="vip")
    assert adm.outcome == "admitted"
    adm = submit(r, "v2", 0, queue="vip")
    assert (adm.outcome, adm.reason) == ("rejected", "router_full: 3 waiting")
    events = only(r.tick(0), Rejected)
    assert [(e.inquiry_id, e.reason) for e in events] == [
        ("2", "queue_full: q holds 2"),
        ("v2", "router_full: 3 waiting"),
    ]
    assert r.counters.rejected == 2 and r.counters.submitted == 5
    assert r.has_room("vip") is False


# ---------------------------------------------------------------- shed_lowest_priority


def test_shed_evicts_the_lowest_priority_newest_waiting() -> None:
    r = router('[backpressure]\npolicy = "shed_lowest_priority"\nmax_queue = 3')
    submit(r, "old-low", 0, priority=0)
    submit(r, "mid", 1, priority=2)
    submit(r, "new-low", 2, priority=0)
    r.tick(2)
    adm = submit(r, "high", 3, priority=3)
    assert adm.outcome == "admitted"
    events = r.tick(3)
    assert [type(e).__name__ for e in events] == ["Rejected", "Queued"]
    assert events[0].inquiry_id == "new-low"
    assert events[0].reason == "shed: displaced by 'high' (priority 3 > 0); router_full: 3 waiting"
    assert r.counters.shed == 1 and r.total_waiting() == 3
    # equal priority never displaces: the arrival is refused instead
    adm = submit(r, "low-again", 4, priority=0)
    assert (adm.outcome, adm.reason) == ("rejected", "router_full: 3 waiting")
    with pytest.raises(UnknownId):
        r.inquiry_state("new-low")
    assert r.inquiry_state("old-low") == "waiting"


def test_shed_is_scoped_to_the_full_queue() -> None:
    r = router(
        '[backpressure]\npolicy = "shed_lowest_priority"\nmax_queue = 10', qextra="max_queue = 1"
    )
    submit(r, "other", 0, queue="second", priority=-5)
    submit(r, "in-q", 0, priority=0)
    adm = submit(r, "urgent", 1, priority=1)
    assert adm.outcome == "admitted"
    shed = only(r.tick(1), Rejected)
    assert [(e.inquiry_id, e.reason) for e in shed] == [
        ("in-q", "shed: displaced by 'urgent' (priority 1 > 0); queue_full: q holds 1")
    ]


# ---------------------------------------------------------------- deflect


def test_deflect_above_the_threshold_per_queue_and_exempt() -> None:
    r = router(
        '[backpressure]\npolicy = "deflect"\n[backpressure.deflect]\nmax_wait_s = 400\n'
        'queues = { second = 100 }\nexempt = ["vip"]'
    )
    r.login(AgentSpec(id="a"), 0)
    r.tick(0)
    # the free agent takes "1"; no answer measured yet: 180 s (prior handle time) a place
    assert submit(r, "1", 0).expected_wait_s == 0.0
    assert submit(r, "2", 0).expected_wait_s == 180.0
    assert submit(r, "3", 0).expected_wait_s == 360.0  # not above 400
    adm = submit(r, "4", 0)
    assert (adm.outcome, adm.expected_wait_s, adm.reason) == (
        "deflected",
        540.0,
        "expected_wait: 540 s > 400 s",
    )
    assert submit(r, "s0", 0, queue="second").outcome == "admitted"
    assert submit(r, "s1", 0, queue="second").reason == "expected_wait: 180 s > 100 s"
    assert submit(r, "v1", 0, queue="vip").outcome == "admitted"  # exempt
    events = only(r.tick(0), Deflected)
    assert [(e.inquiry_id, e.queue) for e in events] == [("4", "q"), ("s1", "second")]
    assert r.counters.deflected == 2


# ---------------------------------------------------------------- callback


CALLBACK = """
[backpressure]
policy = "callback"
[backpressure.callback]
min_wait_s = 100
retry_s = 60
max_attempts = 2
"""


def callback_behind_two() -> Router:
    """Offer mode under :data:`CALLBACK`, one agent ``a``: inquiries ``1``, ``2`` and the
    callback ``cb`` submitted at 0 and matched (``1`` offered to ``a``, ``cb`` scheduled)."""
    r = router(CALLBACK, mode="offer")
    r.login(AgentSpec(id="a"), 0)
    r.tick(0)
    for iid in ("1", "2", "cb"):
        submit(r, iid, 0)
    r.tick(0)
    return r


def test_callback_keeps_the_place_and_never_abandons() -> None:
    r = router(CALLBACK.replace("min_wait_s = 100", "min_wait_s = 200"), mode="offer")
    r.login(AgentSpec(id="a"), 0)
    r.tick(0)
    submit(r, "1", 0)
    submit(r, "2", 1, patience_s=50)
    adm = submit(r, "3", 2, patience_s=50)
    assert (adm.outcome, adm.position, adm.expected_wait_s) == ("callback", 3, 360.0)
    assert adm.reason == "expected_wait: 360 s > 200 s"
    events = [e for e in r.tick(2) if e.inquiry_id == "3"]
    assert [type(e).__name__ for e in events] == ["Queued", "CallbackScheduled"]
    assert events[-1] == CallbackScheduled(
        at=2.0, version=1, inquiry_id="3", queue="q", expected_wait_s=360.0
    )
    r.accept("1", 2)
    submit(r, "4", 3, patience_s=1000)  # arrives later, waits on the line
    events = r.tick(100)
    # "2" and "3" had 50 s of patience, but "3" hung up for a callback: only "2" abandons
    assert [e.inquiry_id for e in only(events, Abandoned)] == ["2"]
    assert r.inquiry_state("3") == "waiting"
    r.complete("1", 150)
    events = r.tick(150)
    assert [e.inquiry_id for e in only(events, Offered)] == ["3"]  # its place came first
    r.accept("3", 160)  # the agent reached the customer
    assert only(r.tick(160), Assigned)[0].wait_s == 158.0
    assert r.counters.callbacks == 1


def test_callback_retries_at_its_place_then_gives_up() -> None:
    r = router(CALLBACK, mode="offer")
    r.login(AgentSpec(id="a"), 0)
    r.tick(0)
    submit(r, "1", 0)
    submit(r, "2", 0)
    submit(r, "cb", 0)
    assert only(r.tick(0), CallbackScheduled)
    r.accept("1", 1)
    r.complete("1", 10)
    r.tick(10)
    r.accept("2", 10)
    r.complete("2", 20)
    assert [e.inquiry_id for e in only(r.tick(20), Offered)] == ["cb"]
    r.callback_failed("cb", 21)  # nobody picked up
    submit(r, "late", 21)
    events = r.tick(21)
    assert only(events, Requeued) == [
        Requeued(
            at=21.0,
            version=1,
            inquiry_id="cb",
            queue="q",
            reason="callback_unreached: attempt 1 of 2, retry at 81",
        )
    ]
    assert r.inquiry_state("cb") == "parked"
    assert [e.inquiry_id for e in only(events, Offered)] == ["late"]
    r.accept("late", 22)
    r.complete("late", 30)
    assert not only(r.tick(30), Offered)  # "cb" is out of line until its retry
    events = r.tick(81)
    assert [e.inquiry_id for e in only(events, Offered)] == ["cb"]
    r.callback_failed("cb", 82)
    events = r.tick(82)
    assert only(events, Abandoned) == [
        Abandoned(
            at=82.0,
            version=1,
            inquiry_id="cb",
            queue="q",
            wait_s=82.0,
            reason="callback_unreached: 2 attempts",
        )
    ]
    assert r.counters.abandoned == 1 and r.counters.callback_attempts_failed == 2


def test_callback_failed_refuses_what_is_not_a_callback_on_offer() -> None:
    r = router(CALLBACK, mode="offer")
    r.login(AgentSpec(id="a"), 0)
    submit(r, "1", 0)
    r.tick(0)
    with pytest.raises(InvalidState, match=r"^inquiry '1' is not a callback$"):
        r.callback_failed("1", 1)
    submit(r, "2", 1)
    submit(r, "cb", 1)
    r.tick(1)
    with pytest.raises(InvalidState, match=r"^inquiry 'cb' is waiting; only a callback on offer"):
        r.callback_failed("cb", 2)
    with pytest.raises(UnknownId, match=r"^unknown inquiry 'zz'$"):
        r.callback_failed("zz", 2)


# ---------------------------------------------------------------- overflow


OVERFLOW = """
[backpressure]
policy = "overflow"
[backpressure.overflow.queues.q]
to = "second"
after_s = 30
max_queue = 3
"""


def test_overflow_after_waiting_keeps_the_arrival_time() -> None:
    r = router(OVERFLOW)
    submit(r, "1", 0)
    r.tick(0)
    events = r.tick(30)
    assert events == [
        Overflowed(
            at=30.0,
            version=1,
            inquiry_id="1",
            from_queue="q",
            to_queue="second",
            reason="waited: 30 s in q (after_s 30)",
        )
    ]
    r.login(AgentSpec(id="a"), 40)
    assigned = only(r.tick(40), Assigned)
    assert (assigned[0].queue, assigned[0].wait_s) == ("second", 40.0)
    assert r.counters.overflowed == 1


def test_overflow_at_arrival_past_the_queue_length() -> None:
    r = router(OVERFLOW)
    for i in range(3):
        submit(r, str(i), 0)
    adm = submit(r, "3", 1)
    assert (adm.outcome, adm.queue, adm.reason) == (
        "admitted",
        "second",
        "overflow: queue_length: q holds 3 (overflow at 3)",
    )
    events = r.tick(1)
    assert [type(e).__name__ for e in events[-2:]] == ["Overflowed", "Queued"]
    assert events[-1].queue == "second"


# ---------------------------------------------------------------- codel


def test_codel_sheds_the_head_with_the_control_law() -> None:
    r = router(
        '[backpressure]\npolicy = "codel"\n[backpressure.codel]\ntarget_s = 10\ninterval_s = 20\n'
        'queues = ["q"]\naction = "deflect"'
    )
    for i in range(6):
        submit(r, str(i), i * 0.5)
    r.tick(3)
    shed: list[tuple[float, str]] = []
    while (nd := r.next_deadline()) is not None and nd < 200:
        shed += [(e.at, e.inquiry_id) for e in only(r.tick(nd), Deflected)]
    # head above target from t=10, for an interval (20 s): first shed at 30, then
    # 20/sqrt(n) apart while the head stays above target; stop when one is left
    t2 = 50.0 + 20 / math.sqrt(2)
    t3 = t2 + 20 / math.sqrt(3)
    assert shed == [(30.0, "0"), (50.0, "1"), (t2, "2"), (t3, "3"), (t3 + 20 / math.sqrt(4), "4")]
    assert r.total_waiting() == 1
    assert r.counters.deflected == 5


# ---------------------------------------------------------------- token_bucket


def test_token_bucket_per_tenant_with_overrides() -> None:
    r = router(
        '[backpressure]\npolicy = "token_bucket"\n[backpressure.token_bucket]\nper = "tenant"\n'
        "rate_per_s = 1\nburst = 2\nlimits = { fliggy = { rate_per_s = 0.5, burst = 1 } }"
    )
    outcomes = [submit(r, f"t{i}", 0, tenant="taobao").outcome for i in range(3)]
    assert outcomes == ["admitted", "admitted", "rejected"]
    assert submit(r, "t3", 1, tenant="taobao").outcome == "admitted"  # one token back after 1 s
    assert submit(r, "f0", 1, tenant="fliggy").outcome == "admitted"
    adm = submit(r, "f1", 2, tenant="fliggy")
    assert adm.reason == "rate_limited: tenant fliggy above 0.5/s (burst 1)"
    assert submit(r, "f2", 3, tenant="fliggy").outcome == "admitted"
    assert submit(r, "n0", 3).outcome == "admitted"  # no tenant: the "-" bucket


# ---------------------------------------------------------------- block


def test_block_records_nothing_and_has_room_says_when_to_retry() -> None:
    r = router('[backpressure]\npolicy = "block"\nmax_queue = 1')
    assert submit(r, "1", 0).outcome == "admitted"
    adm = submit(r, "2", 0)
    assert (adm.outcome, adm.reason) == ("blocked", "would_block: router_full: 1 waiting")
    assert not adm.admitted and r.has_room("q") is False
    assert [e.inquiry_id for e in r.tick(0)] == ["1"]  # no event for the blocked submit
    with pytest.raises(UnknownId):
        r.inquiry_state("2")
    assert r.counters.blocked == 1 and r.counters.submitted == 1
    r.login(AgentSpec(id="a"), 1)
    r.tick(1)
    assert r.has_room("q") is True
    assert submit(r, "2", 1).outcome == "admitted"


# ---------------------------------------------------------------- chains


def test_chain_shed_waits_for_the_rest_of_the_chain() -> None:
    r = router(
        '[backpressure]\npolicy = ["shed_lowest_priority", "token_bucket"]\nmax_queue = 3\n'
        "[backpressure.token_bucket]\nrate_per_s = 0.001\nburst = 3"
    )
    for i in range(3):
        submit(r, str(i), 0)
    # full: "4" would shed "2" (newest of the lowest), but q's bucket is empty: the arrival
    # is refused and the victim stays
    adm = submit(r, "4", 1, priority=9)
    assert (adm.outcome, adm.reason) == (
        "rejected",
        "rate_limited: queue q above 0.001/s (burst 3)",
    )
    assert r.inquiry_state("2") == "waiting"
    assert submit(r, "v", 1, queue="vip").outcome == "admitted"  # vip's bucket is full
    rejected = only(r.tick(1), Rejected)
    assert [(e.inquiry_id, e.reason) for e in rejected] == [
        ("4", "rate_limited: queue q above 0.001/s (burst 3)"),
        ("2", "shed: displaced by 'v' (priority 5 > 0); router_full: 3 waiting"),
    ]


def test_chain_overflow_then_bound_in_the_target_queue() -> None:
    toml = (
        '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\nmax_queue = 2\n'
        '[[queues]]\nname = "second"\nmax_queue = 1\n'
        '[backpressure]\npolicy = ["overflow", "reject_when_full"]\n'
        '[backpressure.overflow.queues.q]\nto = "second"\nmax_queue = 2'
    )
    r = Router(decode_config(toml))
    submit(r, "1", 0)
    submit(r, "2", 0)
    adm = submit(r, "3", 0)
    assert (adm.outcome, adm.queue) == ("admitted", "second")
    adm = submit(r, "4", 0)
    assert (adm.outcome, adm.queue, adm.reason) == (
        "rejected",
        "second",
        "queue_full: second holds 1",
    )
    events = [e for e in r.tick(0) if e.inquiry_id == "4"]
    assert [type(e).__name__ for e in events] == ["Overflowed", "Rejected"]
