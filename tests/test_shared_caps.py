"""Agents with the same caps share one dict (``Router._caps_shared``, ``Router._set_caps``).

An agent's caps dict is replaced, never changed in place (``records.set_caps``), so the
router keeps one per distinct content and hands it to every agent with those caps: a
change to one agent's capacity gives it another dict and leaves the others' alone.
"""

from __future__ import annotations

from router import AgentSpec, Inquiry, Router
from router.config import QueueConfig, RouterConfig


def _router() -> Router:
    return Router(RouterConfig(queues=[QueueConfig(name="c", channel="chat", requires={"s": 1})]))


def _spec(aid: str, capacity: dict[str, int]) -> AgentSpec:
    return AgentSpec(id=aid, skills={"s": 1}, capacity=capacity)


def test_agents_with_the_same_caps_share_one_dict_and_a_change_gives_another() -> None:
    r = _router()
    r.login(_spec("a", {"chat": 4}), 0.0)
    r.login(_spec("b", {"chat": 4}), 0.0)
    r.login(_spec("v", {"voice": 1}), 0.0)
    a, b, v = (r._agents[i] for i in "abv")
    assert a.caps == {"chat": 4} and a.caps is b.caps
    assert v.caps == {"voice": 1} and v.caps is not a.caps
    r.update_agent(_spec("b", {"chat": 2}), 1.0)
    assert b.caps == {"chat": 2} and b.caps is not a.caps
    assert a.caps == {"chat": 4}  # untouched by b's change
    r.update_agent(_spec("b", {"chat": 4}), 2.0)
    assert b.caps is a.caps  # back to the shared one
    # the shared dict is only read: loads and decisions go by each agent's own load
    for k in range(6):
        r.submit(Inquiry(id=f"i{k}", queue="c"), 3.0)
    offered = [e for e in r.tick(3.0) if type(e).__name__ == "Offered"]
    assert len(offered) == 6
    assert a.load["chat"] + b.load["chat"] == 6
    assert a.load["chat"] <= 4 and b.load["chat"] <= 4 and a.caps == {"chat": 4}
