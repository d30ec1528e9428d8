"""A reconfigure that brings an agent's next need earlier moves its timer: a shorter
stretch before a break, a shorter recent-work window. (The agent keeps one timer, moved
only earlier; before this, only a presence change re-timed the agents, and a shortened
limit waited for the timer set under the old one.)"""

from __future__ import annotations

from typing import Any

import msgspec

from router import AgentSpec, Inquiry, Router
from router.events import AgentOnBreak, Assigned
from tests.helpers import config
from tests.test_wellbeing import CONTINUOUS as STRETCH  # a 3,600 s stretch, 600 s breaks

RECENT = """
[routing]
mode = "immediate"
recent_window_s = 1800
[routing.weights]
recent_work = 1.0
[[queues]]
name = "q"
"""


def _of(events: list[Any], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def _wellbeing(r: Router, **changes: Any) -> Any:
    cfg = r.config
    return msgspec.structs.replace(cfg, wellbeing=msgspec.structs.replace(cfg.wellbeing, **changes))


def _routing(r: Router, **changes: Any) -> Any:
    cfg = r.config
    return msgspec.structs.replace(cfg, routing=msgspec.structs.replace(cfg.routing, **changes))


def test_a_shorter_stretch_sends_the_agent_on_its_break_at_the_new_end() -> None:
    r = Router(config(STRETCH))
    r.login(AgentSpec(id="a"), 0.0)
    r.submit(Inquiry(id="i1", queue="q"), 0.0)
    assert [e.agent_id for e in _of(r.tick(0.0), Assigned)] == ["a"]
    assert r.next_deadline() == 3600.0
    r.reconfigure(_wellbeing(r, max_continuous_work_s=600.0), 100.0)
    r.tick(100.0)  # (a reconfigure rebuilds the pools: a matching pass is due at once)
    assert r.next_deadline() == 600.0  # the stretch now ends 600 s after login
    ev = r.tick(600.0)
    assert _of(ev, AgentOnBreak) == [
        AgentOnBreak(at=600.0, version=2, agent_id="a", reason="wellbeing", until=None)
    ]
    r.submit(Inquiry(id="i2", queue="q"), 700.0)
    assert _of(r.tick(700.0), Assigned) == []  # no new work on the break


def test_a_longer_stretch_keeps_the_agent_working_past_the_old_end() -> None:
    r = Router(config(STRETCH))
    r.login(AgentSpec(id="a"), 0.0)
    r.submit(Inquiry(id="i1", queue="q"), 0.0)
    r.tick(0.0)
    r.reconfigure(_wellbeing(r, max_continuous_work_s=7200.0), 100.0)
    r.tick(100.0)
    # the old timer may still fire at 3600; it finds nothing due and moves on
    assert _of(r.tick(3600.0), AgentOnBreak) == []
    assert r.next_deadline() == 7200.0
    assert _of(r.tick(7200.0), AgentOnBreak) != []


def test_a_shorter_recent_work_window_lets_the_work_leave_it_at_the_new_end() -> None:
    r = Router(config(RECENT))
    r.login(AgentSpec(id="a"), 0.0)
    r.submit(Inquiry(id="i1", queue="q"), 0.0)
    r.tick(0.0)
    r.complete("i1", 100.0)
    r.tick(100.0)
    assert r.next_deadline() == 1900.0  # the work leaves the 1800 s window
    r.reconfigure(_routing(r, recent_window_s=300.0), 200.0)
    r.tick(200.0)
    assert r.next_deadline() == 400.0  # ... and now the 300 s one
    r.tick(400.0)
    assert r.next_deadline() is None  # it left: nothing more to wait for
