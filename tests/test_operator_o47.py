"""An operator's shift in a surge (op47): promises the docs make to an operator, kept
across a hot reconfigure.

A callback whose call did not reach the customer waits between two attempts out of
line (``PARKED``), holding its place (docs/backpressure.md). Removing its queue must
treat it as it treats the queue's waiting inquiries (docs/tuning.md §6): it moves to
``hand_over[queue]`` or the queue's ``on_remove``, or, with no target, is rejected
then, counted in ``Reconfigured``; a customer promised a callback is never dropped
later while a target was given.
"""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router
from router.events import Assigned, Offered, Overflowed, Reconfigured, Rejected, Requeued
from router.observe import Monitor
from tests.helpers import config

QUEUES = """
[routing]
mode = "offer"
offer_timeout_s = 20
[backpressure]
policy = ["callback"]
[backpressure.callback]
min_wait_s = 0.001
retry_s = 100
[[queues]]
name = "a"
requires = { x = 1 }
{on_remove}
[[queues]]
name = "b"
requires = { x = 1 }
"""

# the bounds count a place between attempts where it is now (the router's and b's: 1)
ONLY_B = """
[routing]
mode = "offer"
offer_timeout_s = 20
[backpressure]
policy = ["callback", "reject_when_full"]
max_queue = 1
[backpressure.callback]
min_wait_s = 0.001
retry_s = 100
[[queues]]
name = "b"
requires = { x = 1 }
max_queue = 1
"""


def _between_attempts(on_remove: str = "") -> Router:
    """Queue ``a`` holds callback ``c1`` between two attempts (retry at 111)."""
    r = Router(config(QUEUES.replace("{on_remove}", on_remove)))
    r.login(AgentSpec(id="ag", skills={"x": 1}, capacity={"voice": 1}), now=0.0)
    r.submit(Inquiry(id="busy", queue="a"), now=0.0)
    r.tick(0.0)
    r.accept("busy", now=1.0)
    assert r.submit(Inquiry(id="c1", queue="a", patience_s=60), now=2.0).outcome == "callback"
    r.complete("busy", now=10.0)
    assert [type(e) for e in r.tick(10.0)][-1] is Offered
    r.callback_failed("c1", now=11.0)
    ev = r.tick(11.0)
    assert isinstance(ev[-1], Requeued) and ev[-1].reason.startswith("callback_unreached")
    assert r.inquiry_state("c1") == "parked"
    return r


def _run_to(r: Router, end: float) -> list[Any]:
    out: list[Any] = []
    while (nd := r.next_deadline()) is not None and nd <= end:
        out += r.tick(nd)
        for e in out:
            if isinstance(e, Offered) and r.inquiry_state(e.inquiry_id) == "offered":
                r.accept(e.inquiry_id, nd)
        out += r.tick(nd)
    return out + r.tick(end)


@pytest.mark.parametrize(
    ("on_remove", "hand_over"),
    [('on_remove = "b"', None), ("", {"a": "b"})],
    ids=["on_remove", "hand_over"],
)
def test_a_callback_between_attempts_follows_its_removed_queue(
    on_remove: str, hand_over: dict[str, str] | None
) -> None:
    r = _between_attempts(on_remove)
    assert r.reconfigure(config(ONLY_B), now=20.0, hand_over=hand_over) == 2
    ev = r.tick(20.0)
    assert ev == [
        Overflowed(
            at=20.0,
            version=2,
            inquiry_id="c1",
            from_queue="a",
            to_queue="b",
            reason="queue_removed",
        ),
        Reconfigured(at=20.0, version=2, handed_over=1, rejected=0),
    ]
    assert r.inquiry_state("c1") == "parked"  # still between attempts: the retry is at 111
    # its place is held in b now: b (max_queue 1) is full
    assert r.submit(Inquiry(id="c2", queue="b"), now=30.0).reason == "queue_full: b holds 1"
    ev = _run_to(r, 200.0)
    assert [e.inquiry_id for e in ev if isinstance(e, Rejected)] == ["c2"]  # (b was full)
    answered = [e for e in ev if isinstance(e, Assigned)]
    assert [(e.inquiry_id, e.queue, e.at) for e in answered] == [("c1", "b", 111.0)]
    tot = r.statistics().queues["b"].totals
    assert (tot.offered, tot.answered, tot.rejected) == (1, 1, 1)


def test_a_callback_between_attempts_of_a_removed_queue_without_target_is_rejected() -> None:
    r = _between_attempts()
    assert r.reconfigure(config(ONLY_B), now=20.0) == 2
    ev = r.tick(20.0)
    assert ev == [
        Rejected(at=20.0, version=2, inquiry_id="c1", queue="a", reason="queue_removed"),
        Reconfigured(at=20.0, version=2, handed_over=0, rejected=1),
    ]
    with pytest.raises(KeyError):
        r.inquiry_state("c1")
    assert r.counters.rejected == 1 and r.total_waiting() == 0
    assert _run_to(r, 200.0) == []
    # it holds no place any more: the router's bound (1) has room for a new callback
    assert r.submit(Inquiry(id="busy2", queue="b"), now=201.0).outcome == "admitted"
    r.tick(201.0)  # offered to ag: a new arrival would wait
    assert r.submit(Inquiry(id="c2", queue="b"), now=202.0).outcome == "callback"


HANDED = """
[routing]
mode = "immediate"
[[queues]]
name = "a"
requires = { x = 1 }
on_remove = "b"
[[queues]]
name = "b"
requires = { x = 1 }
"""


def test_a_removed_queues_hand_over_is_a_move_the_monitor_sees() -> None:
    """docs/backpressure.md: a move gets an ``Overflowed`` event on the way; so the event
    consumers (the monitor, the simulator's report) keep each queue's row adding up:
    ``offered + moved_in - moved_out`` = outcomes + still in the router."""
    cfg = config(HANDED)
    after = config(HANDED.split('[[queues]]\nname = "a"')[0] + '[[queues]]\nname = "b"\n')
    r, mon = Router(cfg), Monitor(cfg)
    r.login(AgentSpec(id="ag", skills={"x": 1}), 0.0)
    for k in range(3):
        r.submit(Inquiry(id=f"i{k}", queue="a"), 1.0)
    mon.feed(r.tick(1.0))  # i0 assigned, i1 and i2 wait
    r.reconfigure(after, 5.0)
    mon.configure(after)
    ev = r.tick(5.0)
    assert ev == [
        Overflowed(
            at=5.0,
            version=2,
            inquiry_id=f"i{k}",
            from_queue="a",
            to_queue="b",
            reason="queue_removed",
        )
        for k in (1, 2)
    ] + [Reconfigured(at=5.0, version=2, handed_over=2, rejected=0)]
    mon.feed(ev)
    for k, t in enumerate((10.0, 20.0, 30.0)):  # one agent: i0, i1, i2 in turn
        r.complete(f"i{k}", t)
        mon.feed(r.tick(t))
    rows = mon.statistics(30.0).queues
    for q, offered, moved_in, moved_out, answered in (("a", 3, 0, 2, 1), ("b", 0, 2, 0, 2)):
        row = rows[q]
        won = row.windows["since_reset"]
        assert (won.offered, row.moved_in, row.moved_out, won.answered) == (
            offered,
            moved_in,
            moved_out,
            answered,
        )
        assert offered + moved_in - moved_out == won.answered + row.waiting


OUTBOUND = """
[routing]
mode = "immediate"
[backpressure.outbound]
queues = [{outbound}]
reserve_idle = 0
[[queues]]
name = "in"
requires = {{ x = 1 }}
[[queues]]
name = "ob"
requires = {{ x = 1 }}
{on_remove}
[[queues]]
name = "ob2"
requires = {{ x = 1 }}
"""


def _held_tasks(on_remove: str) -> Router:
    """An agent busy on an inbound call; tasks t0..t2 held in the outbound queue ``ob``."""
    r = Router(config(OUTBOUND.format(outbound='"ob", "ob2"', on_remove=on_remove)))
    r.login(AgentSpec(id="ag", skills={"x": 1}), 0.0)
    r.submit(Inquiry(id="i0", queue="in"), 0.0)
    for k in range(3):
        r.submit(Inquiry(id=f"t{k}", queue="ob"), 0.0)
    r.tick(0.0)
    assert [r.inquiry_state(f"t{k}") for k in range(3)] == ["parked"] * 3
    return r


ONLY_OB2 = OUTBOUND.format(outbound='"ob2"', on_remove="").replace(
    '[[queues]]\nname = "ob"\nrequires = { x = 1 }\n\n', ""
)


def test_tasks_held_in_a_removed_outbound_queue_follow_its_on_remove() -> None:
    r = _held_tasks('on_remove = "ob2"')
    r.reconfigure(config(ONLY_OB2), 1.0)
    ev = r.tick(1.0)
    assert ev == [
        Overflowed(
            at=1.0,
            version=2,
            inquiry_id=f"t{k}",
            from_queue="ob",
            to_queue="ob2",
            reason="queue_removed",
        )
        for k in range(3)
    ] + [Reconfigured(at=1.0, version=2, handed_over=3, rejected=0)]
    # still held (outbound tasks in ob2 now): released onto idle capacity only, in order
    assert [r.inquiry_state(f"t{k}") for k in range(3)] == ["parked"] * 3
    done = []
    for k, t in enumerate((10.0, 20.0, 30.0, 40.0)):
        r.complete("i0" if k == 0 else f"t{k - 1}", t)
        done += [(e.inquiry_id, e.queue) for e in r.tick(t) if isinstance(e, Assigned)]
    assert done == [("t0", "ob2"), ("t1", "ob2"), ("t2", "ob2")]
    assert r.counters.rejected == 0


def test_tasks_held_in_a_removed_outbound_queue_handed_to_an_inbound_queue_wait_in_line() -> None:
    r = _held_tasks('on_remove = "in"')
    r.reconfigure(config(ONLY_OB2), 1.0)
    ev = r.tick(1.0)
    assert [(type(e).__name__, getattr(e, "to_queue", None)) for e in ev] == [
        ("Overflowed", "in")
    ] * 3 + [("Reconfigured", None)]
    assert [r.inquiry_state(f"t{k}") for k in range(3)] == ["waiting"] * 3
    assert r.queue_length("in") == 3
    r.complete("i0", 10.0)
    (a,) = [e for e in r.tick(10.0) if isinstance(e, Assigned)]
    assert (a.inquiry_id, a.queue, a.wait_s) == ("t0", "in", 10.0)


def test_tasks_held_in_a_removed_outbound_queue_without_target_are_counted_rejected() -> None:
    r = _held_tasks("")
    r.reconfigure(config(ONLY_OB2), 1.0)
    ev = r.tick(1.0)
    assert ev == [
        Rejected(at=1.0, version=2, inquiry_id=f"t{k}", queue="ob", reason="queue_removed")
        for k in range(3)
    ] + [Reconfigured(at=1.0, version=2, handed_over=0, rejected=3)]
    assert r.counters.rejected == 3
