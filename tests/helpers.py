"""Small builders shared by the core tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router import AgentSpec, Inquiry, Router, decode_config
from router.config import RouterConfig


def config(toml: str = "", **routing: Any) -> RouterConfig:
    """A config from TOML text; ``routing`` keys override ``[routing]``."""
    cfg = decode_config(toml.encode())
    if routing:
        import msgspec

        cfg = msgspec.structs.replace(cfg, routing=msgspec.structs.replace(cfg.routing, **routing))
    return cfg


BASIC = """
[routing]
mode = "offer"
offer_timeout_s = 10
max_no_answer = 2
[[queues]]
name = "refund"
channel = "voice"
requires = { refund = 1 }
[[queues]]
name = "chat"
channel = "chat"
requires = { refund = 2 }
[[queues]]
name = "vip"
channel = "voice"
requires = { refund = 4 }
priority = 2
"""


#: one queue needing refund 3, relaxed to refund 1 after 3000 s or at once in a surge
#: (``relax_steps``), which starts when one inquiry has waited 10 s
RELAXING_SURGE = """
[[queues]]
name = "main"
requires = { refund = 3 }
steps = [{ after_s = 3000, requires = { refund = 1 } }]
[backpressure]
policy = "admit_all"
[backpressure.surge]
enter_waiting = 1
enter_after_s = 10
relax_steps = true
"""

#: a one-queue center where a break is due after 80 s of work and at most half the staff
#: may be on a break at once (the wellbeing and mutation tests of break staffing)
BREAK_SHARE = """
[routing]
mode = "immediate"
[wellbeing]
max_continuous_work_s = 80
break_s = 30
max_break_share = 0.5
[[queues]]
name = "q"
"""


def basic(**routing: Any) -> Router:
    return Router(config(BASIC, **routing))


def agent(id: str, level: int = 3, voice: int = 1, chat: int = 0, **kw: Any) -> AgentSpec:
    cap = {"voice": voice}
    if chat:
        cap["chat"] = chat
    return AgentSpec(id=id, skills={"refund": level}, capacity=cap, **kw)


def inq(id: str, queue: str = "refund", **kw: Any) -> Inquiry:
    return Inquiry(id=id, queue=queue, **kw)


def names(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def brief(events: list[Any]) -> list[tuple[Any, ...]]:
    """(EventName, inquiry_id or agent_id[, agent_id]) for compact assertions."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        row: tuple[Any, ...] = (type(e).__name__,)
        for f in ("inquiry_id", "agent_id"):
            v = getattr(e, f, None)
            if v is not None:
                row += (v,)
        out.append(row)
    return out


def new_agents_then_inquiries(
    r: Router,
    t: float,
    logins: int,
    inquiries: range,
    check: Callable[[Router], object],
    complete_every: int = 0,
) -> list[Any]:
    """Log in ``logins`` chat agents ``b0``, ``b1``, ... at ``t``, then submit inquiries
    ``i<k>`` for ``k`` in ``inquiries`` to queue ``c``, one a second, accepting every offer
    (and completing the assignment of every ``k`` that ``complete_every`` divides);
    ``check(r)`` after each step. The events, in order (to compare a router with its
    restored copy)."""
    got: list[Any] = []
    for i in range(logins):
        r.login(AgentSpec(id=f"b{i}", capacity={"chat": 2}), t)
        check(r)
    for k in inquiries:
        t += 1.0
        r.submit(Inquiry(id=f"i{k}", queue="c"), t)
        for e in r.tick(t):
            got.append(e)
            if type(e).__name__ == "Offered":
                r.accept(e.inquiry_id, t)
            elif type(e).__name__ == "Assigned" and complete_every and k % complete_every == 0:
                r.complete(e.inquiry_id, t)
        check(r)
    return got


def native_heaps(r: Any) -> None:
    """Give ``r`` (a ``router.core.Router`` of either build, nothing listed yet: no agent,
    every heap empty) the compiled build's heaps: deadline entries as objects, the agent
    heaps as ``vecheap.AgentHeap`` vectors with the live table (router/state/vecheap.py;
    on the pure build interpreted through ``librt``, skipped without it)."""
    import pytest

    pytest.importorskip("librt.vecs", reason="the compiled build's agent heaps need librt")
    from router.state.vecheap import AgentHeap, LiveTable

    assert not r._slots and not r._deadlines
    r._native_heap = True
    if r._table is None:
        r._table = LiveTable()
    for pool in r._pools.values():
        assert not pool.agents and (pool.vh is None or not pool.vh.n)
        pool.vh = AgentHeap()
