"""Multi-offer (``max_offers = N``): one inquiry offered to up to N agents, the first accept
wins, the others are rescinded; every open offer holds a slot; nobody is assigned twice."""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, InvalidState, Router, encode_events
from tests.helpers import brief, config

CFG = """
[routing]
mode = "offer"
offer_timeout_s = 10
max_no_answer = 5
[[queues]]
name = "ring"
channel = "voice"
max_offers = 3
[[queues]]
name = "chat"
channel = "chat"
max_offers = 2
"""


def router(n: int = 4, chat: int = 0) -> Router:
    r = Router(config(CFG))
    for i in range(n):
        cap = {"voice": 1, "chat": chat} if chat else {"voice": 1}
        r.login(AgentSpec(id=f"a{i}", capacity=cap), 0)
    r.tick(0)
    return r


def offered(events: list[Any]) -> list[str]:
    return [e.agent_id for e in events if type(e).__name__ == "Offered"]


def loads(r: Router) -> dict[str, int]:
    return {a.id: a.total_load for a in r._agents.values()}


def test_an_arrival_rings_up_to_n_agents_each_holding_a_slot() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    assert offered(r.tick(1)) == ["a0", "a1", "a2"]
    assert loads(r) == {"a0": 1, "a1": 1, "a2": 1, "a3": 0}
    assert r.offered_to("c1") == ["a0", "a1", "a2"]
    assert r.counters.decisions == 1 and r.counters.offers == 3
    assert r.statistics().offered == 1  # one inquiry on offer
    r.submit(Inquiry(id="c2", queue="ring"), 2)
    assert offered(r.tick(2)) == ["a3"]  # the others hold c1's offer


def test_the_first_accept_wins_and_the_others_are_rescinded() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    r.tick(1)
    with pytest.raises(InvalidState, match=r"offered to several agents \('a0', 'a1', 'a2'\)"):
        r.accept("c1", 2)
    with pytest.raises(InvalidState, match=r"not 'a3'"):
        r.accept("c1", 2, "a3")
    r.accept("c1", 3, "a1")
    events = r.tick(3)
    assert brief(events) == [
        ("OfferRescinded", "c1", "a0"),
        ("OfferRescinded", "c1", "a2"),
        ("Assigned", "c1", "a1"),
    ]
    assert events[0].accepted_by == "a1"
    assert loads(r) == {"a0": 0, "a1": 1, "a2": 0, "a3": 0}
    with pytest.raises(InvalidState, match="assigned, not offered"):
        r.accept("c1", 4, "a0")  # too late: rescinded
    assert r.holds("c1", "a1") and not r.holds("c1", "a0")


def test_a_rescinded_agent_keeps_its_place_among_the_idle() -> None:
    r = router()
    idle_before = {a.id: a.idle_since for a in r._agents.values()}
    r.submit(Inquiry(id="c1", queue="ring"), 5)
    r.tick(5)
    r.accept("c1", 6, "a2")
    r.tick(6)
    after = {a.id: a.idle_since for a in r._agents.values()}
    assert after["a0"] == idle_before["a0"] and after["a1"] == idle_before["a1"]
    assert after["a2"] == 6.0  # the winner's idle time counts from the accept


def test_declines_keep_the_other_offers_alive_until_the_last() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    r.tick(1)
    r.decline("c1", 2, "a0")
    r.decline("c1", 2, "a2")
    assert brief(r.tick(2)) == [("OfferDeclined", "c1", "a0"), ("OfferDeclined", "c1", "a2")]
    assert r.inquiry_state("c1") == "offered" and r.offered_to("c1") == ["a1"]
    assert loads(r)["a0"] == 0
    r.decline("c1", 3, "a1")  # the last one: back in line, offered to whoever did not decline
    assert brief(r.tick(3)) == [
        ("OfferDeclined", "c1", "a1"),
        ("Requeued", "c1"),
        ("Offered", "c1", "a3"),
    ]


def test_expiry_takes_back_every_open_offer_at_once() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    r.tick(1)
    r.decline("c1", 2, "a1")
    events = r.tick(11)
    assert brief(events) == [
        ("OfferDeclined", "c1", "a1"),
        ("OfferExpired", "c1", "a0"),
        ("OfferExpired", "c1", "a2"),
        ("Requeued", "c1"),
        ("Offered", "c1", "a3"),
    ]
    assert r._agents["a0"].no_answer == 1 and r._agents["a2"].no_answer == 1


def test_an_agent_leaving_takes_back_only_its_own_offer() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    r.tick(1)
    r.go_on_break("a1", 2)
    r.logout("a0", 2)
    events = r.tick(2)
    assert brief(events) == [
        ("OfferRescinded", "c1", "a1"),
        ("AgentOnBreak", "a1"),
        ("OfferRescinded", "c1", "a0"),
        ("AgentLoggedOut", "a0"),
    ]
    assert [e.reason for e in events if type(e).__name__ == "OfferRescinded"] == [
        "break",
        "logout",
    ]
    assert r.offered_to("c1") == ["a2"]
    r.accept("c1", 3)  # one open offer left: no agent_id needed
    assert brief(r.tick(3)) == [("Assigned", "c1", "a2")]


def test_withdrawal_frees_every_slot() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring", patience_s=5), 1)
    r.tick(1)
    assert brief(r.tick(6)) == [("Abandoned", "c1")]
    assert set(loads(r).values()) == {0}
    r.submit(Inquiry(id="c2", queue="ring"), 7)
    r.tick(7)
    r.withdraw("c2", 8)
    assert brief(r.tick(8)) == [("Withdrawn", "c2")]
    assert set(loads(r).values()) == {0}


def test_chat_offers_hold_a_slot_each_and_caps_hold() -> None:
    r = router(n=2, chat=2)
    for i in range(4):
        r.submit(Inquiry(id=f"c{i}", queue="chat"), 1)
    events = r.tick(1)
    # c0 and c1 are offered to both agents, c2 and c3 wait: each open offer holds a slot
    assert brief(events)[-4:] == [
        ("Offered", "c0", "a0"),
        ("Offered", "c0", "a1"),
        ("Offered", "c1", "a0"),
        ("Offered", "c1", "a1"),
    ]
    assert all(a.load["chat"] == 2 for a in r._agents.values())
    r.accept("c0", 2, "a0")
    r.accept("c1", 2, "a1")
    events = r.tick(2)
    # the rescinded slots free up: each agent is offered one of the waiting two
    assert [(e.inquiry_id, e.agent_id) for e in events if type(e).__name__ == "Offered"] == [
        ("c2", "a0"),
        ("c3", "a1"),
    ]
    assert all(a.load["chat"] <= 2 for a in r._agents.values())


def test_a_snapshot_keeps_the_open_offers() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    r.submit(Inquiry(id="c2", queue="ring"), 1)
    r.tick(1)
    snap = r.snapshot()
    again = Router.restore(snap)
    assert again.snapshot() == snap
    for x in (r, again):
        x.decline("c1", 2, "a1")
        x.accept("c1", 3, "a2")
        x.accept("c2", 3, "a3")
    assert encode_events(r.tick(20)) == encode_events(again.tick(20))


def test_a_failed_callback_on_offer_frees_every_slot() -> None:
    r = Router(
        config(
            CFG
            + """
[backpressure]
policy = "callback"
[backpressure.callback]
min_wait_s = 1
retry_s = 60
"""
        )
    )
    r.login(AgentSpec(id="a0"), 0)
    r.tick(0)
    r.submit(Inquiry(id="c1", queue="ring"), 1)  # a0 takes it
    r.tick(1)
    r.accept("c1", 1)
    r.submit(Inquiry(id="c2", queue="ring"), 2)  # expected wait 180 s: a callback
    r.tick(2)
    for i in (1, 2):
        r.login(AgentSpec(id=f"b{i}"), 3)
    events = r.tick(3)
    assert offered(events)  # its place came up: the callback is offered
    r.callback_failed("c2", 4)
    r.tick(4)
    assert {a.id: a.total_load for a in r._agents.values()} == {"a0": 1, "b1": 0, "b2": 0}
    assert r.inquiry_state("c2") == "parked"


def test_the_room_count_follows_every_ring_and_rescind() -> None:
    r = router()
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    r.tick(1)
    assert r.statistics().agents_with_room == 1  # three voice agents each hold a ring
    r.accept("c1", 2, "a1")
    r.tick(2)
    assert r.statistics().agents_with_room == 3  # the two rescinded are free again


def test_the_winner_of_a_ring_stays_listed_where_it_has_room() -> None:
    r = Router(config(CFG))
    r.login(AgentSpec(id="a0", capacity={"voice": 1, "chat": 2}), 0)
    r.login(AgentSpec(id="a1", capacity={"voice": 1}), 0)
    r.tick(0)
    r.submit(Inquiry(id="c1", queue="ring"), 1)
    assert offered(r.tick(1)) == ["a0", "a1"]
    r.accept("c1", 2, "a0")  # a0 won: its voice slot is used, its chat slots are free
    r.tick(2)
    r.submit(Inquiry(id="m1", queue="chat"), 3)
    assert offered(r.tick(3)) == ["a0"]
