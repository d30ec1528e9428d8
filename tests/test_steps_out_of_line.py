"""Skill-relaxation steps of an inquiry that comes back in line after time out of it.

A callback between attempts and a held outbound task are out of line (parked) while
their wait runs on; a step that fell due meanwhile applies as they come back, and the
next step's timer is set for later, never in the past. A timer in the past fired at
its own time: the router's time ran backwards (a refused input then restored that
earlier time) and statistics were counted at it. A held task released by a reconfigure
that also changed its queue's steps takes a step its queue has. Found by the
reconfigure machine (``tests/test_reconfigure_property.py``, seed 2497728060).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router, UnknownId, decode_config
from router.events import Assigned, Offered

STEPPED = """
[routing]
mode = "{mode}"
[[queues]]
name = "q"
channel = "chat"
requires = {{ chat = 3 }}
{steps}
[backpressure]
{backpressure}
"""

TWO_STEPS = """
[[queues.steps]]
after_s = 5
requires = { chat = 2 }
[[queues.steps]]
after_s = 50
requires = { chat = 1 }
"""


def make(
    *, steps: str = TWO_STEPS, outbound: bool = False, mode: str = "immediate", extra: str = ""
) -> Any:
    backpressure = 'outbound = { queues = ["q"] }' if outbound else ""
    toml = STEPPED.format(mode=mode, steps=steps, backpressure=backpressure + extra)
    return decode_config(toml)


def kept(cfg: Any) -> Any:
    """``cfg`` with a refusal kept for the inquiry's whole stay (``decline_memory``): a lone
    agent's hand-back would end its round under the default."""
    return msgspec.structs.replace(
        cfg, routing=msgspec.structs.replace(cfg.routing, decline_memory="forever")
    )


def step_of(r: Router, iid: str) -> int:
    return int(r._tickets[iid].terms.step)


def assert_time_holds(r: Router, now: float) -> None:
    """No timer before ``now``, and a refused input leaves the router at ``now``."""
    nxt = r.next_deadline()
    assert nxt is None or nxt >= now, f"a timer at {nxt}, before now={now}"
    with pytest.raises(UnknownId):
        r.heartbeat("nobody", now)
    assert r.now == now


def test_a_held_task_released_by_a_reconfigure_takes_the_steps_now_due() -> None:
    r = Router(make(outbound=True))
    r.login(AgentSpec(id="a", skills={"chat": 1}, capacity={"chat": 1}), 0)
    r.submit(Inquiry(id="t", queue="q"), 0)
    r.tick(0)
    assert r.inquiry_state("t") == "parked"  # held: the agent is not eligible at step 0
    r.tick(16)
    r.reconfigure(make(outbound=False), 16)  # no longer outbound: the task enters the line
    assert r.inquiry_state("t") == "waiting"
    assert step_of(r, "t") == 1  # its wait (16 s) made the first step due, not the second
    assert_time_holds(r, 16.0)
    assert not [e for e in r.tick(16) if isinstance(e, Assigned)]  # chat 2 needed: not "a"
    events = r.tick(50)  # the second step at its own time: "a" fits
    assert [(e.inquiry_id, e.at) for e in events if isinstance(e, Assigned)] == [("t", 50.0)]
    assert r.now == 50.0


def test_a_held_task_keeps_a_step_its_changed_queue_has() -> None:
    r = Router(kept(make(outbound=True)))
    r.login(AgentSpec(id="a", skills={"chat": 3}, capacity={"chat": 1}), 0)
    r.submit(Inquiry(id="t", queue="q"), 0)
    assert [e.agent_id for e in r.tick(0) if isinstance(e, Assigned)] == ["a"]
    r.hand_back("t", 10)  # back in line at step 1 (due at 5), never for "a" again
    r.tick(10)
    assert r.inquiry_state("t") == "parked"  # held again after the matching pass
    assert step_of(r, "t") == 1
    r.reconfigure(kept(make(steps="")), 11)  # no steps, not outbound: released at step 0
    assert r.inquiry_state("t") == "waiting"
    assert step_of(r, "t") == 0
    assert_time_holds(r, 11.0)
    r.login(AgentSpec(id="b", skills={"chat": 2}, capacity={"chat": 1}), 12)
    assert not [e for e in r.tick(12) if isinstance(e, Assigned)]  # step 0 needs chat 3
    r.login(AgentSpec(id="c", skills={"chat": 3}, capacity={"chat": 1}), 13)
    assert [(e.inquiry_id, e.agent_id) for e in r.tick(13) if isinstance(e, Assigned)] == [
        ("t", "c")
    ]


CALLBACK = """
policy = "callback"
[backpressure.callback]
min_wait_s = 1
retry_s = 60
max_attempts = 3
"""


def test_a_callback_back_for_its_retry_takes_the_steps_its_wait_made_due() -> None:
    r = Router(make(mode="offer", extra=CALLBACK))
    r.login(AgentSpec(id="a", skills={"chat": 3}, capacity={"chat": 1}), 0)
    r.login(AgentSpec(id="b", skills={"chat": 1}, capacity={"chat": 1}), 0)
    r.tick(0)
    r.submit(Inquiry(id="busy", queue="q"), 0)
    assert [e.agent_id for e in r.tick(0) if isinstance(e, Offered)] == ["a"]
    r.accept("busy", 0)
    r.submit(Inquiry(id="cb", queue="q"), 0)  # a callback: nobody fits before step 2
    r.tick(0)
    r.tick(30)
    assert step_of(r, "cb") == 1
    r.complete("busy", 30)
    assert [e.inquiry_id for e in r.tick(30) if isinstance(e, Offered)] == ["cb"]
    r.callback_failed("cb", 31)  # parked until its retry at 91: the step at 50 passes
    r.tick(50)
    assert r.inquiry_state("cb") == "parked"
    r.login(AgentSpec(id="c", skills={"chat": 3}, capacity={"chat": 1}), 60)
    r.submit(Inquiry(id="x", queue="q"), 60)
    r.tick(60)
    r.accept("x", 60)  # "c" busy; "a" gone on break: only "b" (chat 1) is free at 91
    r.go_on_break("a", 60)
    assert_time_holds(r, 91.0)  # a refused input at 91 brings "cb" back first
    assert r.inquiry_state("cb") == "waiting"
    assert step_of(r, "cb") == 2  # back at 91 with both steps due
    assert_time_holds(r, 91.0)
    events = r.tick(91)
    assert [(e.inquiry_id, e.agent_id, e.at) for e in events if isinstance(e, Offered)] == [
        ("cb", "b", 91.0)
    ]
