"""A query must not change what happens later (``next_deadline``, ``snapshot``).

Found by the chain state machine (a fuzz run of the 2026-12-04 late stop): ``next_deadline``
popped the deadline entries at the top that were not live *now* (``_deadline_live``), but
some come back to life: a policy's ticket timer (the overflow timer) is live only while its
inquiry waits, so it sleeps while the inquiry is offered or assigned and wakes after a
decline or a hand-back (the same ``entered``); a preference deadline sleeps while the
inquiry is assigned and wakes when it is handed back with a preferred agent left. A runner
that read ``next_deadline`` meanwhile dropped the timer; one that did not kept it, and the
two went different ways. Now ``next_deadline`` drops only the entries that can never fire
again (``_deadline_spent``) and steps over the sleeping ones, which stay in place to fire, or
be dropped, at their own time (query21).

An offer's expiry cannot wake an overflow timer that a query could have dropped: the timer
sleeps at the top only while the live expiry is due after it, so it is due, and dropped by
time, first; :func:`test_an_offer_expiry_around_a_sleeping_timer` pins that both ways agree.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import router
from router import AgentSpec, Inquiry, InvalidInput, Offered, Router, decode_config
from tests.helpers import brief, config
from tests.test_core_state_machine import CHAIN, QUEUES

OVERFLOW = """
policy = ["overflow"]
overflow = { queues = { sales = { to = "second", after_s = 20, max_queue = 2 } } }
"""

Step = Callable[[Router], object]


def _run(toml: str, steps: list[Step], query: bool) -> list[tuple[str, ...]]:
    """The events of ``steps`` (each an input or a tick); ``query``: ``next_deadline()``
    after every one (its answers are not part of the result)."""
    r = Router(decode_config(toml.encode()))
    out: list[tuple[str, ...]] = []
    for step in steps:
        events = step(r)
        if isinstance(events, list):
            out.extend(brief(events))
        if query:
            r.next_deadline()
    return out


def _both(toml: str, steps: list[Step]) -> list[tuple[str, ...]]:
    quiet = _run(toml, steps, query=False)
    assert _run(toml, steps, query=True) == quiet
    return quiet


def _overflows(query: bool) -> list[tuple[str, str]]:
    r = Router(decode_config((QUEUES + "[backpressure]\n" + CHAIN).encode()))
    r.login(AgentSpec(id="ag1", skills={}, capacity={"chat": 3, "voice": 1}), 0.0)
    r.login(AgentSpec(id="ag2", skills={"sales": 2}, capacity={"chat": 3, "voice": 1}), 0.0)
    for i in (1, 2):
        r.submit(Inquiry(id=f"i{i}", queue="sales"), 0.0)
    for e in r.tick(0.0):
        if type(e) is Offered:
            r.accept(e.inquiry_id, 0.0)
    if query:
        r.next_deadline()
    r.hand_back("i1", 0.0)
    return [(type(e).__name__, e.inquiry_id) for e in r.tick(45.0) if hasattr(e, "inquiry_id")]


def test_next_deadline_does_not_change_the_overflows_that_follow() -> None:
    assert _overflows(query=True) == _overflows(query=False)


def _offered_at_15() -> list[Step]:
    """i1 waits from 0 (its overflow timer at 20); ag2 comes at 15 and is offered it (the
    offer expires at 25): at the top of the heap the overflow timer sleeps."""
    return [
        lambda r: r.submit(Inquiry(id="i1", queue="sales"), 0.0),
        lambda r: r.tick(0.0),
        lambda r: r.login(AgentSpec(id="ag2", skills={"sales": 2}), 15.0),
        lambda r: r.tick(15.0),
    ]


def test_a_decline_wakes_the_overflow_timer_a_query_stepped_over() -> None:
    toml = QUEUES + "[backpressure]\n" + OVERFLOW
    r = Router(config(toml, decline_memory="forever"))  # (a refusal kept)
    for step in _offered_at_15():
        step(r)
    assert r.next_deadline() == 25.0  # the offer's expiry: the overflow timer sleeps
    assert r.next_deadline() == 25.0  # asked again: the same answer
    r.decline("i1", 16.0, "ag2")
    r.tick(16.0)
    assert r.next_deadline() == 20.0  # awake again: i1 waits
    events = _both(
        toml, [*_offered_at_15(), lambda r: r.decline("i1", 16.0), lambda r: r.tick(21.0)]
    )
    assert ("Overflowed", "i1") in [e[:2] for e in events], events


def test_an_offer_expiry_around_a_sleeping_timer() -> None:
    # the timer (20) is due before the expiry (25) that would wake it: time drops it
    # either way, and i1 stays in sales (ag2, whose offer expired, is never offered it again)
    toml = QUEUES + "[backpressure]\n" + OVERFLOW
    events = _both(toml, [*_offered_at_15(), lambda r: r.tick(24.0), lambda r: r.tick(40.0)])
    assert ("OfferExpired", "i1", "ag2") in events
    assert "Overflowed" not in [e[0] for e in events]


def test_a_hand_back_wakes_the_preference_deadline_a_query_stepped_over() -> None:
    toml = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "care"
channel = "voice"
requires = { care = 1 }
preferred_wait_s = 30
"""
    care = {"care": 2}
    steps: list[Step] = [
        lambda r: r.login(AgentSpec(id="li", skills=care), 0.0),
        lambda r: r.login(AgentSpec(id="wu", skills=care), 0.0),
        lambda r: r.login(AgentSpec(id="ye", skills=care), 0.0),
        lambda r: r.go_on_break("wu", 0.0),
        lambda r: r.go_on_break("ye", 0.0),
        lambda r: r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li", "wu"]), 1.0),
        lambda r: r.tick(1.0),
        lambda r: r.accept("c1", 1.0, "li"),  # assigned: its preference deadline (31) sleeps
        lambda r: r.tick(2.0),
        lambda r: r.hand_back("c1", 3.0),  # it waits for wu again, until 31
        lambda r: r.set_ready("ye", 3.0),
        lambda r: r.tick(3.0),
        lambda r: r.tick(31.0),
    ]
    events = _both(toml, steps)
    assert events[-1][:3] == ("Offered", "c1", "ye"), events


@pytest.mark.parametrize("bad", [float("nan"), float("-inf"), None, "10"])
def test_a_bad_bound_is_refused_naming_it(bad: object) -> None:
    r = Router(decode_config((QUEUES + "[backpressure]\n" + CHAIN).encode()))
    if router.compiled and not isinstance(bad, float):
        # a compiled method refuses an argument of the wrong type itself, before anything
        # changes: mypyc's TypeError (docs/compiled.md)
        with pytest.raises(TypeError, match="float"):
            r.next_deadline(bad)  # type: ignore[arg-type]
    else:
        with pytest.raises(InvalidInput, match="before: must be a finite number or inf"):
            r.next_deadline(bad)  # type: ignore[arg-type]
    assert r.next_deadline(10) is None and r.next_deadline(10.0) is None
