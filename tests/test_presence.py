"""Presence timeouts: an agent whose console went silent is set away, its offers go back."""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Router, UnknownId, encode_events
from tests.helpers import basic, brief, inq


def router(**routing: Any) -> Router:
    return basic(presence_timeout_s=60.0, **routing)


def ye(now: float = 0.0, r: Router | None = None, name: str = "ye") -> Router:
    r = r if r is not None else router()
    r.login(AgentSpec(id=name, skills={"refund": 3}), now)
    r.tick(now)
    return r


def test_off_by_default_an_idle_agent_needs_no_timer() -> None:
    r = basic()
    r.login(AgentSpec(id="ye"), 0)
    r.tick(0)
    assert r.next_deadline() is None


def test_a_silent_ready_agent_is_set_away_at_the_timeout() -> None:
    r = ye()
    assert r.next_deadline() == 60.0
    ev = r.tick(60)
    assert brief(ev) == [("AgentAway", "ye")]
    assert ev[0].reason == "presence_timeout"
    assert r.counters.presence_timeouts == 1
    r.submit(inq("x"), 61)
    assert [e for e in r.tick(61) if type(e).__name__ == "Offered"] == []
    r.heartbeat("ye", 70)  # alive again, but away until it says it is ready
    assert [e for e in r.tick(70) if type(e).__name__ == "Offered"] == []
    r.set_ready("ye", 71)
    assert ("Offered", "x", "ye") in brief(r.tick(71))


def test_heartbeats_and_any_input_of_the_agent_keep_it() -> None:
    r = ye()
    r.heartbeat("ye", 50)
    assert r.tick(60) == []  # the timer wakes at 60 and moves to 110
    assert r.next_deadline() == 110.0
    r.submit(inq("x"), 100)
    r.tick(100)
    r.accept("x", 105)  # an accept counts: 165
    assert brief(r.tick(105)) == [("Assigned", "x", "ye")]
    assert r.tick(110) == []
    r.complete("x", 150)  # and a completion: 210
    r.tick(150)
    assert r.tick(209) == []
    assert brief(r.tick(210)) == [("AgentAway", "ye")]


def test_the_offers_of_a_silent_agent_go_back_to_their_place() -> None:
    r = ye(0, router(offer_timeout_s=100.0))
    r.submit(inq("x"), 30)
    assert ("Offered", "x", "ye") in brief(r.tick(30))
    ye(40, r, "li")
    r.heartbeat("li", 55)
    ev = r.tick(60)
    assert brief(ev) == [("Requeued", "x"), ("AgentAway", "ye"), ("Offered", "x", "li")]
    assert ev[0].reason == "presence_timeout"
    assert r.counters.expired == 0  # not an expired offer: the agent is not blamed


def test_an_agent_on_break_or_busy_is_not_timed_out_until_ready() -> None:
    r = ye()
    r.go_on_break("ye", 10)
    assert brief(r.tick(100)) == [("AgentOnBreak", "ye")]
    r.set_ready("ye", 200)  # counts as activity
    r.tick(200)
    assert brief(r.tick(260)) == [("AgentAway", "ye")]


def test_switching_it_on_counts_every_agent_as_seen_then() -> None:
    r = basic()
    r.login(AgentSpec(id="ye"), 0)
    cfg = r.config
    import msgspec

    on = msgspec.structs.replace(
        cfg, routing=msgspec.structs.replace(cfg.routing, presence_timeout_s=30.0)
    )
    r.reconfigure(on, 1000)
    assert [type(e).__name__ for e in r.tick(1000)] == ["AgentLoggedIn", "Reconfigured"]
    assert brief(r.tick(1030)) == [("AgentAway", "ye")]


def test_a_heartbeat_for_an_unknown_agent_changes_nothing() -> None:
    r = router()
    r.login(AgentSpec(id="ye"), 0)
    before = r.snapshot()
    with pytest.raises(UnknownId, match=r"^unknown agent 'nobody'"):
        r.heartbeat("nobody", 1)
    assert r.snapshot() == before


def test_presence_survives_a_snapshot() -> None:
    r = router()
    r.login(AgentSpec(id="ye"), 0)
    r.login(AgentSpec(id="li"), 0)
    r.heartbeat("li", 40)
    snap = r.snapshot()
    restored = Router.restore(snap)
    assert restored.snapshot() == snap
    a = r.tick(60) + r.tick(100)
    b = restored.tick(60) + restored.tick(100)
    assert encode_events(a) == encode_events(b)
    assert [e.agent_id for e in a if type(e).__name__ == "AgentAway"] == ["ye", "li"]
