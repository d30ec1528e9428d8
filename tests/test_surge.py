"""Surge mode: hysteresis, the bundle it applies, and the agents re-evaluated on each toggle."""

from __future__ import annotations

from typing import Any

from router import AgentSpec, Inquiry, Router, decode_config
from router.events import (
    AgentOnBreak,
    Assigned,
    CallbackScheduled,
    Completed,
    SurgeEnded,
    SurgeStarted,
)

CONFIG = """
[routing]
mode = "immediate"
[wellbeing]
max_continuous_work_s = 100
break_s = 50
suspend_in_surge = ["continuous_work"]
[[queues]]
name = "flood"                  # nobody can serve it: it fills up at will
requires = {{ nobody = 1 }}
[[queues]]
name = "chat"
channel = "chat"
[[queues]]
name = "expert"
channel = "chat"
requires = {{ gold = 3 }}
steps = [{{ after_s = 600, requires = {{}} }}]
[[queues]]
name = "line"
[[queues]]
name = "out"
[backpressure]
policy = "admit_all"
[backpressure.callback]
min_wait_s = 100
exempt = ["flood"]
[backpressure.outbound]
queues = ["out"]
reserve_idle = 0
protect = ["line"]
[backpressure.surge]
enter_waiting = 4
exit_waiting = 2
enter_after_s = {enter_after}
exit_after_s = 20
queues = ["flood"]
caps = {{ chat = 4 }}
wrap_up_s = 5
relax_steps = true
callbacks = true
"""


def make(enter_after: float = 10) -> Router:
    return Router(decode_config(CONFIG.format(enter_after=enter_after)))


def flood(r: Router, n: int, now: float, start: int = 0) -> None:
    for i in range(start, start + n):
        r.submit(Inquiry(id=f"f{i}", queue="flood"), now)


def surge_events(events: list[Any]) -> list[tuple[str, float, str]]:
    return [
        (type(e).__name__, e.at, e.reason)
        for e in events
        if isinstance(e, SurgeStarted | SurgeEnded)
    ]


def test_hysteresis_enter_after_a_while_leave_below_the_lower_threshold() -> None:
    r = make()
    flood(r, 4, 0)
    assert surge_events(r.tick(0)) == []  # 4 is not above 4
    flood(r, 1, 1, start=4)
    assert surge_events(r.tick(1)) == []
    assert r.next_deadline() == 11.0  # the crossing must last 10 s
    r.withdraw("f4", 5)  # back to 4: the crossing is broken
    r.tick(5)
    flood(r, 1, 6, start=5)
    r.tick(6)
    assert surge_events(r.tick(11)) == []  # the timer set at 1 finds a crossing since 6
    events = r.tick(16)
    assert surge_events(events) == [("SurgeStarted", 16.0, "waiting: 5 > 4 for 10 s")]
    assert r.statistics().surge is True
    for i in range(4):
        r.withdraw(f"f{i}", 20)  # 1 waiting: below 2, for 20 s needed
    r.tick(20)
    flood(r, 1, 30, start=10)  # 2 waiting: not below 2 any more
    r.tick(30)
    r.withdraw("f10", 35)
    r.tick(35)
    assert surge_events(r.tick(50)) == []  # only 15 s below since 35
    events = r.tick(55)
    assert surge_events(events) == [("SurgeEnded", 55.0, "waiting 1 < 2 for 20 s")]
    assert r.counters.surges == 1 and r.statistics().surge is False


def start_surge(r: Router, now: float) -> None:
    flood(r, 5, now)
    assert [e for e in r.tick(now) if isinstance(e, SurgeStarted)]


def end_surge(r: Router, now: float) -> list[Any]:
    for i in range(5):
        r.withdraw(f"f{i}", now)
    r.tick(now)
    events = r.tick(now + 20)
    assert [e for e in events if isinstance(e, SurgeEnded)]
    return events


def test_bundle_raises_chat_caps_to_the_surge_cap_and_back() -> None:
    r = make(enter_after=0)
    r.login(AgentSpec(id="c", capacity={"chat": 2, "voice": 1}), 0)
    for i in range(6):
        r.submit(Inquiry(id=f"c{i}", queue="chat"), 0)
    assigned = [e.inquiry_id for e in r.tick(0) if isinstance(e, Assigned)]
    assert assigned == ["c0", "c1"]
    start_surge(r, 1)
    assert [e.inquiry_id for e in r.tick(1) if isinstance(e, Assigned)] == []
    # the agent was re-listed on the toggle and took two more chats in the same tick
    assert r.agent_of("c2") == "c" and r.agent_of("c3") == "c"
    assert r.inquiry_state("c4") == "waiting"
    end_surge(r, 2)
    for i in range(4):
        r.complete(f"c{i}", 30)
    r.tick(30)
    # back to the normal cap: two at a time, never preempted
    assert r.agent_of("c4") == "c" and r.agent_of("c5") == "c"


def test_bundle_shortens_wrap_up_relaxes_steps_and_turns_callbacks_on() -> None:
    r = make(enter_after=0)
    r.login(AgentSpec(id="c", capacity={"voice": 1, "chat": 1}, wrap_up_s=30), 0)
    r.submit(Inquiry(id="x", queue="expert"), 0)  # needs gold 3: nobody can serve it yet
    r.submit(Inquiry(id="l0", queue="line"), 0)
    r.tick(0)
    # outside surge a long expected wait does not make a callback (callback is not chained)
    adm = r.submit(Inquiry(id="l1", queue="line"), 0)
    assert (adm.outcome, adm.expected_wait_s) == ("admitted", 180.0)
    start_surge(r, 1)
    # "x" jumped to its queue's last relaxation step (no skill needed) and was taken
    assert r.agent_of("x") == "c"
    adm = r.submit(Inquiry(id="l2", queue="line"), 1)
    assert (adm.outcome, adm.reason) == ("callback", "expected_wait: 360 s > 100 s")
    assert [e.inquiry_id for e in r.tick(1) if isinstance(e, CallbackScheduled)] == ["l2"]
    r.complete("l0", 10)
    done = [e for e in r.tick(10) if isinstance(e, Completed)]
    assert done[0].wrap_up_until == 15.0  # 30 s of wrap-up cut to 5 in surge
    assert [e.inquiry_id for e in r.tick(15) if isinstance(e, Assigned)] == ["l1"]


def test_outbound_tasks_pause_in_surge_and_resume_after() -> None:
    r = make(enter_after=0)
    r.login(AgentSpec(id="a"), 0)
    adm = r.submit(Inquiry(id="task", queue="out"), 0)
    assert (adm.outcome, adm.position) == ("admitted", 1)
    start_surge(r, 0)
    assert r.inquiry_state("task") == "parked"
    r.tick(100)
    assert r.inquiry_state("task") == "parked"  # idle agent, but outbound is paused
    events = end_surge(r, 200)
    assert [e.inquiry_id for e in events if isinstance(e, Assigned)] == ["task"]


def test_guardrails_suspended_in_surge_switch_at_the_toggle() -> None:
    r = make(enter_after=0)
    r.login(AgentSpec(id="a", capacity={"chat": 1}), 0)
    r.submit(Inquiry(id="c0", queue="chat"), 0)
    r.tick(0)
    start_surge(r, 50)
    r.complete("c0", 60)
    r.submit(Inquiry(id="c1", queue="chat"), 60)
    r.tick(60)
    # 100 s of continuous work would mean a break; suspended in surge
    events = r.tick(150)
    assert not [e for e in events if isinstance(e, AgentOnBreak)]
    assert r.agent_of("c1") == "a"
    r.complete("c1", 160)
    events = end_surge(r, 170)
    breaks = [e for e in events if isinstance(e, AgentOnBreak)]
    assert [(e.agent_id, e.reason, e.at) for e in breaks] == [("a", "wellbeing", 190.0)]
