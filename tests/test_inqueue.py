"""Changing an inquiry in queue, and a logged-in agent, without losing anyone's place.

The rules (docs/routing-features.md): a priority change re-ages the inquiry from
its original arrival; new requirements move it to the matching line at the same
place; a transfer keeps the arrival time in the new queue (whose relaxation steps
start at the transfer); a hand-back puts an assigned inquiry back at its original
place, never for the same agent; an agent update re-lists the agent in the pools
that exist, keeps work in flight and lets a lowered cap only stop new work.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router import (
    AgentSpec,
    InvalidInput,
    InvalidState,
    Router,
    Shift,
    UnknownId,
    encode_events,
)
from tests.helpers import agent, basic, brief, config, inq

TWO_QUEUES = """
[routing]
priority_seconds = 60
offer_timeout_s = 10
[[queues]]
name = "billing"
requires = { billing = 1 }
[[queues]]
name = "refund"
requires = { refund = 1 }
steps = [ { after_s = 30, requires = { } } ]
[[queues]]
name = "chat"
channel = "chat"
"""


def two() -> Router:
    return Router(config(TWO_QUEUES))


def offered(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.inquiry_id, e.agent_id) for e in events if type(e).__name__ == "Offered"]


def serve_in_order(r: Router, agent_id: str, now: float, n: int) -> list[str]:
    """Let ``agent_id`` take, accept and complete ``n`` inquiries one by one; their order."""
    order = []
    for _ in range(n):
        got = offered(r.tick(now))
        assert len(got) == 1, got
        iid = got[0][0]
        order.append(iid)
        r.accept(iid, now, agent_id)
        r.complete(iid, now)
    return order


# ------------------------------------------------------------------ priority and requirements


def test_a_priority_change_re_ages_from_the_original_arrival() -> None:
    r = basic(priority_seconds=60)
    r.submit(inq("a"), 0)
    r.submit(inq("b"), 10)
    r.submit(inq("c"), 20)
    r.tick(20)
    r.update_inquiry("c", 21, priority=1)  # aged 20 - 60 = -40: before a (0)
    ev = r.tick(21)
    assert brief(ev) == [("InquiryUpdated", "c")]
    assert ev[0].priority == 1
    r.update_inquiry("a", 22, priority=1)  # aged 0 - 60 = -60: before c again
    r.update_inquiry("b", 22, priority=0)  # unchanged value: same place
    r.login(agent("x"), 23)
    assert serve_in_order(r, "x", 23, 3) == ["a", "c", "b"]
    assert r.counters.updated == 3


def test_lowering_the_priority_back_restores_the_original_place() -> None:
    r = basic(priority_seconds=60)
    for i, t in enumerate((0, 10, 20)):
        r.submit(inq(f"i{i}"), t)
    r.update_inquiry("i2", 21, priority=5)
    r.update_inquiry("i2", 22, priority=0)
    r.login(agent("x"), 23)
    assert serve_in_order(r, "x", 23, 3) == ["i0", "i1", "i2"]


def test_new_requirements_move_it_to_the_matching_line_at_its_place() -> None:
    r = basic()
    r.login(agent("junior", level=2), 0)
    r.submit(inq("hard", requires={"refund": 4}), 1)  # nobody has refund >= 4
    r.submit(inq("easy"), 2)
    assert offered(r.tick(2)) == [("easy", "junior")]
    r.accept("easy", 3)
    r.complete("easy", 3)
    assert offered(r.tick(3)) == []  # hard still waits
    r.update_inquiry("hard", 4, requires={})  # clears the extra skills
    assert offered(r.tick(4)) == [("hard", "junior")]


def test_an_offer_the_new_requirement_excludes_goes_back() -> None:
    r = basic()
    r.login(agent("junior", level=2), 0)
    r.login(agent("senior", level=5), 100)  # junior, idle longer, gets the first offer
    r.submit(inq("x"), 100)
    assert offered(r.tick(100)) == [("x", "junior")]
    r.update_inquiry("x", 101, requires={"refund": 5})
    ev = r.tick(101)
    assert brief(ev) == [
        ("Requeued", "x"),
        ("InquiryUpdated", "x"),
        ("Offered", "x", "senior"),
    ]
    assert ev[0].reason == "updated"
    # a priority-only change leaves an offer alone
    r.update_inquiry("x", 102, priority=3)
    assert brief(r.tick(102)) == [("InquiryUpdated", "x")]
    assert r.agent_of("x") == "senior"


def test_a_parked_callback_takes_its_new_priority_when_it_comes_back() -> None:
    r = Router(
        config(
            """
[routing]
priority_seconds = 60
mode = "immediate"
[[queues]]
name = "refund"
[backpressure]
policy = "callback"
callback = { min_wait_s = 1, retry_s = 100 }
"""
        )
    )

    def assigned(now: float) -> list[str]:
        return [e.inquiry_id for e in r.tick(now) if type(e).__name__ == "Assigned"]

    r.login(AgentSpec(id="x"), 0)
    r.submit(inq("w1"), 1)
    assert assigned(1) == ["w1"]
    assert r.submit(inq("cb"), 2).outcome == "callback"  # nobody free: a callback
    r.submit(inq("later"), 3)
    r.complete("w1", 4)
    assert assigned(4) == ["cb"]
    r.callback_failed("cb", 5)  # back in line at 105
    assert assigned(5) == ["later"]
    assert r.inquiry_state("cb") == "parked"
    r.update_inquiry("cb", 6, priority=-5)  # aged 2 + 300: behind z when it comes back
    assert r.inquiry_state("cb") == "parked"
    r.submit(inq("z"), 7)
    r.complete("later", 200)
    assert assigned(200) == ["z"]
    r.complete("z", 201)
    assert assigned(201) == ["cb"]


def test_an_assigned_inquiry_cannot_be_updated() -> None:
    r = basic(mode="immediate")
    r.login(agent("x"), 0)
    r.submit(inq("i"), 0)
    r.tick(0)
    before = r.snapshot()
    with pytest.raises(InvalidState, match=r"^inquiry 'i' is assigned; only a waiting"):
        r.update_inquiry("i", 1, priority=1)
    with pytest.raises(UnknownId):
        r.update_inquiry("nobody", 1, priority=1)
    assert r.snapshot() == before


# ------------------------------------------------------------------ transfer


def test_a_transfer_keeps_the_arrival_time_in_the_new_queue() -> None:
    r = two()
    r.submit(inq("x", queue="billing"), 0)
    r.submit(inq("y", queue="refund"), 5)
    r.transfer("x", "refund", 10)
    ev = [e for e in r.tick(10) if type(e).__name__ == "Transferred"]
    assert brief(ev) == [("Transferred", "x")]
    assert (ev[0].from_queue, ev[0].to_queue, ev[0].agent_id) == ("billing", "refund", None)
    r.login(AgentSpec(id="a", skills={"refund": 1}), 11)
    assert serve_in_order(r, "a", 11, 2) == ["x", "y"]  # x arrived first
    assert r.counters.transferred == 1


def test_the_new_queues_steps_start_at_the_transfer() -> None:
    r = two()
    r.login(AgentSpec(id="generalist"), 0)  # no skills: only the relaxed step fits
    r.submit(inq("x", queue="billing"), 0)
    r.transfer("x", "refund", 20)
    assert offered(r.tick(49)) == []  # refund's step (after 30 s) counts from 20
    assert offered(r.tick(50)) == [("x", "generalist")]


def test_transferring_an_assigned_inquiry_frees_the_agent_and_ends_patience() -> None:
    r = two()
    r.login(AgentSpec(id="b", skills={"billing": 1}), 0)
    r.submit(inq("x", queue="billing", patience_s=50), 1)
    r.submit(inq("next", queue="billing"), 2)
    r.tick(2)
    r.accept("x", 3)
    r.tick(3)
    r.transfer("x", "refund", 4, agent_id="b")
    ev = r.tick(4)
    assert brief(ev) == [("Transferred", "x", "b"), ("Offered", "next", "b")]
    assert ev[0].agent_id == "b"
    later = r.tick(100)  # past the patience it had: answered once, it no longer abandons
    assert [e for e in later if type(e).__name__ == "Abandoned"] == []
    assert r.inquiry_state("x") in ("waiting", "offered")
    assert r.counters.abandoned == 0


def test_transfer_refusals_name_the_problem_and_change_nothing() -> None:
    r = Router(
        config(
            TWO_QUEUES
            + """
[[queues]]
name = "other_tenant"
tenant = "fliggy"
"""
        )
    )
    r.submit(inq("x", queue="billing"), 0)
    r.submit(inq("c", queue="chat"), 0)
    before = r.snapshot()
    cases = [
        (lambda: r.transfer("x", "nowhere", 1), UnknownId, r"^unknown queue 'nowhere'"),
        (lambda: r.transfer("x", "billing", 1), InvalidInput, r"^queue: .* already in queue"),
        (lambda: r.transfer("x", "chat", 1), InvalidInput, r"^queue: queue 'chat' is on channel"),
        (lambda: r.transfer("x", "other_tenant", 1), InvalidInput, r"^queue: .*tenant 'fliggy'"),
        (lambda: r.transfer("x", "refund", 1, agent_id="b"), InvalidState, r"not held by 'b'"),
        (lambda: r.transfer("ghost", "refund", 1), UnknownId, r"^unknown inquiry"),
    ]
    for call, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            call()
        assert r.snapshot() == before


# ------------------------------------------------------------------ hand back


def test_a_hand_back_returns_to_the_original_place_never_to_the_same_agent() -> None:
    r = basic(decline_memory="forever")  # (a lone agent's hand-back ends its round otherwise)
    r.login(agent("ye"), 0)
    r.submit(inq("x", patience_s=40), 1)
    r.tick(1)
    r.accept("x", 2)
    r.submit(inq("later"), 3)
    r.tick(3)
    r.hand_back("x", 10, agent_id="ye")
    ev = r.tick(10)
    # ye is free at once (no wrap-up) and takes "later"; x waits for someone else
    assert brief(ev) == [("Requeued", "x"), ("Offered", "later", "ye")]
    assert ev[0].reason == "handed_back"
    r.submit(inq("newest"), 11)
    r.login(agent("li"), 12)
    assert offered(r.tick(12)) == [("x", "li")]  # x (arrived at 1) before newest
    later = r.tick(60)  # past its patience (41): it no longer abandons
    assert [e for e in later if type(e).__name__ == "Abandoned"] == []
    assert r.inquiry_state("x") in ("waiting", "offered")
    assert r.counters.handed_back == 1


def test_a_hand_back_with_a_priority_moves_it_up() -> None:
    r = basic(priority_seconds=60, decline_memory="forever")  # (see above)
    r.login(agent("ye"), 0)
    r.submit(inq("x"), 10)
    r.tick(10)
    r.accept("x", 10)
    r.submit(inq("w1", arrived_at=0.0), 11)  # arrived before x
    r.hand_back("x", 12, priority=1)  # aged 10 - 60 = -50: before w1 (0)
    r.login(agent("li"), 13)
    r.tick(13)
    assert r.agent_of("x") == "li"


def test_hand_back_refusals_change_nothing() -> None:
    r = basic()
    r.login(agent("ye"), 0)
    r.login(agent("li"), 0)
    r.submit(inq("x"), 1)
    r.submit(inq("w"), 1)
    r.tick(1)
    offered_to = r.agent_of("x")
    r.accept("x", 2)
    before = r.snapshot()
    other = "li" if offered_to == "ye" else "ye"
    with pytest.raises(InvalidState, match=rf"assigned to '{offered_to}', not '{other}'"):
        r.hand_back("x", 3, agent_id=other)
    with pytest.raises(InvalidState, match=r"^inquiry 'w' is offered; only an assigned"):
        r.hand_back("w", 3)
    assert r.snapshot() == before


def test_a_handed_back_heavy_inquiry_counts_in_the_streak_and_its_recovery() -> None:
    r = Router(
        config(
            """
[wellbeing]
max_consecutive_heavy = 1
heavy_recovery_s = 50
[[queues]]
name = "complaints"
heavy = true
""",
            decline_memory="forever",  # (ye alone: its hand-back would end h1's round)
        )
    )
    r.login(AgentSpec(id="ye"), 0)
    r.submit(inq("h1", queue="complaints"), 0)
    r.tick(0)
    r.accept("h1", 0)
    r.hand_back("h1", 10)
    r.submit(inq("h2", queue="complaints"), 11)
    assert offered(r.tick(11)) == []  # ye recovers until 60 (h1 went back, no one else)
    r.login(AgentSpec(id="li"), 12)
    got = offered(r.tick(12))
    assert sorted(got) == [("h1", "li")]
    assert offered(r.tick(60)) == [("h2", "ye")]


# ------------------------------------------------------------------ agent update


class _NoScan(dict[str, Any]):
    """The agents' dict refuses to be scanned: an update must not walk the other agents."""

    def values(self) -> Any:
        raise AssertionError("scanned every agent")

    def items(self) -> Any:
        raise AssertionError("scanned every agent")

    def __iter__(self) -> Any:
        raise AssertionError("scanned every agent")


def test_new_skills_make_a_logged_in_agent_eligible_without_a_logout() -> None:
    r = basic()
    r.login(agent("ye", level=2), 0)
    r.submit(inq("v", queue="vip"), 1)  # needs refund >= 4
    assert offered(r.tick(1)) == []
    r._agents = _NoScan(r._agents)
    r.update_agent(agent("ye", level=4), 2)
    ev = r.tick(2)
    assert brief(ev) == [("AgentUpdated", "ye"), ("Offered", "v", "ye")]
    assert r.agent_spec("ye").skills == {"refund": 4}
    assert r.counters.agents_updated == 1


def test_a_lowered_cap_stops_new_work_until_the_load_is_under_it() -> None:
    r = basic(mode="immediate")
    r.login(agent("ye", voice=0, chat=3), 0)
    for i in range(5):
        r.submit(inq(f"c{i}", queue="chat"), 1)
    r.tick(1)
    assert r.statistics().in_service == 3
    r.update_agent(agent("ye", voice=0, chat=1), 2)
    r.tick(2)
    r.complete("c0", 3)
    assert [e for e in r.tick(3) if type(e).__name__ == "Assigned"] == []  # 2 held, cap 1
    r.complete("c1", 4)
    assert [e for e in r.tick(4) if type(e).__name__ == "Assigned"] == []  # 1 held, cap 1
    r.complete("c2", 5)
    got = [e.inquiry_id for e in r.tick(5) if type(e).__name__ == "Assigned"]
    assert got == ["c3"]


def test_an_offer_the_agent_no_longer_fits_goes_back() -> None:
    r = basic()
    r.login(agent("ye", level=5), 0)
    r.submit(inq("v", queue="vip"), 1)
    r.tick(1)
    r.update_agent(agent("ye", level=2), 2)
    ev = r.tick(2)
    assert ("Requeued", "v") in brief(ev)
    assert next(e for e in ev if type(e).__name__ == "Requeued").reason == "agent_updated"
    assert r.inquiry_state("v") == "waiting"


def test_switching_the_units_budget_on_counts_the_work_already_held() -> None:
    r = basic(mode="immediate")
    r.login(agent("ye", voice=1, chat=5), 0)
    r.submit(inq("c1", queue="chat"), 1)
    r.submit(inq("c2", queue="chat"), 1)
    r.tick(1)
    r.update_agent(agent("ye", voice=1, chat=5, units=100), 2)  # 2 chats = 40 units
    r.submit(inq("v", queue="refund"), 3)
    assert [e for e in r.tick(3) if type(e).__name__ == "Assigned"] == []  # 40 + 100 > 100
    r.complete("c1", 4)
    r.complete("c2", 4)
    assert [e.inquiry_id for e in r.tick(4) if type(e).__name__ == "Assigned"] == ["v"]


TENANTS = """
[routing]
mode = "immediate"
[[queues]]
name = "taobao"
tenant = "taobao"
[[queues]]
name = "fliggy"
tenant = "fliggy"
"""


def test_an_update_keeps_the_tenants_of_the_shift_under_way() -> None:
    # Ye serves Taobao by day, then Fliggy only (her schedule); an update of her skills
    # in the evening must not give her the spec's tenants back (found by StaffingMachine)
    shifts = [
        Shift(start_s=0.0, end_s=50.0),
        Shift(start_s=50.0, end_s=400.0, tenants=frozenset({"fliggy"})),
    ]
    spec = AgentSpec(id="ye", tenants=frozenset({"taobao", "fliggy"}), shifts=shifts)
    r = Router(config(TENANTS))
    r.login(spec, 0)
    r.tick(60)
    r.update_agent(msgspec.structs.replace(spec, skills={"refund": 2}), 60)
    r.submit(inq("t", queue="taobao"), 61)
    assert brief(r.tick(61)) == [("AgentUpdated", "ye"), ("Queued", "t")]
    r.submit(inq("f", queue="fliggy"), 62)
    assert ("Assigned", "f", "ye") in brief(r.tick(62))
    assert r.agent_spec("ye").skills == {"refund": 2}


def test_agent_update_refusals_change_nothing() -> None:
    r = basic()
    r.login(agent("ye"), 0)
    before = r.snapshot()
    with pytest.raises(UnknownId):
        r.update_agent(agent("nobody"), 1)
    with pytest.raises(UnknownId, match=r"^queues.nowhere: unknown queue"):
        r.update_agent(agent("ye", queues={"nowhere": 1.0}), 1)
    assert r.snapshot() == before


# ------------------------------------------------------------------ snapshots


def _script(r: Router) -> list[Any]:
    out: list[Any] = []
    r.login(agent("ye", level=3, chat=2), 0)
    r.login(agent("li", level=5), 0)
    r.submit(inq("a"), 1)
    r.submit(inq("b", queue="vip"), 1)
    r.submit(inq("c"), 2)
    out += r.tick(2)
    r.update_inquiry("c", 3, priority=2, requires={"refund": 2})
    r.accept(r_offer(out, "ye"), 3)
    out += r.tick(3)
    return out


def r_offer(events: list[Any], agent_id: str) -> str:
    return next(
        e.inquiry_id
        for e in events
        if type(e).__name__ == "Offered" and getattr(e, "agent_id", None) == agent_id
    )


def test_every_change_survives_a_snapshot() -> None:
    r = basic()
    out = _script(r)
    held = r_offer(out, "ye")
    r.hand_back(held, 4)
    r.update_agent(agent("ye", level=5, chat=1), 4)
    snap = r.snapshot()
    restored = Router.restore(snap)
    assert restored.snapshot() == snap
    for x in (r, restored):
        x.transfer("c", "vip", 5)
        x.submit(inq("d"), 6)
    a = r.tick(6) + r.tick(40)
    b = restored.tick(6) + restored.tick(40)
    assert encode_events(a) == encode_events(b)
    assert r.snapshot() == restored.snapshot()
    assert msgspec.structs.asdict(r.counters) == msgspec.structs.asdict(restored.counters)
