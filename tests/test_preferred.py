"""Preferred agents: an inquiry naming its agents waits ``preferred_wait_s`` for them only,
then goes to anyone eligible; with none of them logged in it goes to anyone at once."""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router, encode_events
from tests.helpers import brief, config
from tests.liveness import stalls

CFG = """
[routing]
mode = "offer"
offer_timeout_s = 10
trace = true
[[queues]]
name = "care"
channel = "voice"
requires = { care = 1 }
preferred_wait_s = 30
[[queues]]
name = "plain"
channel = "voice"
requires = { care = 1 }
"""


def router(*ids: str, **kw: Any) -> Router:
    r = Router(config(CFG, **kw))
    for aid in ids:
        r.login(AgentSpec(id=aid, skills={"care": 2}), 0)
    r.tick(0)
    return r


def busy(r: Router, iid: str, agent: str, now: float) -> None:
    """Give ``agent`` a call: the others pause while it is offered."""
    others = [a.id for a in r._agents.values() if a.id != agent and a.state == 1]
    for aid in others:
        r.go_on_break(aid, now)
    r.submit(Inquiry(id=iid, queue="plain"), now)
    assert ("Offered", iid, agent) in brief(r.tick(now))
    r.accept(iid, now, agent)
    for aid in others:
        r.set_ready(aid, now)
    r.tick(now)


def test_a_free_preferred_agent_gets_it_at_once_whoever_idles_longer() -> None:
    r = router("ye", "li")
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 5)
    events = r.tick(5)
    assert brief(events)[-1] == ("Offered", "c1", "li")
    assert events[-1].explanation.preferred


def test_it_waits_for_a_busy_preferred_agent_then_goes_to_anyone() -> None:
    r = router("ye", "li", "wu")
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 3)
    assert brief(r.tick(3)) == [("Queued", "c1")]  # ye and wu are free, but c1 waits for li
    assert stalls(r) == []  # not a stall: li is its only agent for now
    r.complete("x", 10)  # li is free within the window: c1 goes to li
    assert brief(r.tick(10))[-1] == ("Offered", "c1", "li")


def test_after_the_window_anyone_eligible_takes_it() -> None:
    r = router("ye", "li")
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 3)
    r.tick(3)
    assert r.next_deadline() == 33.0  # the end of the wait for li
    events = r.tick(33)
    assert brief(events) == [("Offered", "c1", "ye")]
    assert not events[0].explanation.preferred


def test_none_logged_in_means_anyone_at_once() -> None:
    r = router("ye")
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["gone", "never"]), 1)
    assert brief(r.tick(1))[-1] == ("Offered", "c1", "ye")


def test_a_preferred_agent_who_cannot_serve_the_queue_does_not_count() -> None:
    r = router("ye")
    r.login(AgentSpec(id="novice", skills={}), 0)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["novice"]), 1)
    assert brief(r.tick(1))[-1] == ("Offered", "c1", "ye")


def test_the_last_preferred_agent_logging_out_ends_the_wait() -> None:
    r = router("ye", "li")
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 3)
    r.tick(3)
    r.logout("li", 4)  # finishing x: no new work; c1 should not wait for it
    events = r.tick(4)
    assert ("Offered", "c1", "ye") in brief(events)


def test_a_new_requirement_no_preferred_agent_meets_ends_the_wait() -> None:
    """``update_inquiry`` with skills its preferred agent lacks: it goes to anyone who has
    them at the next pass (found by the features machine: it waited for the preferred one)."""
    r = router("li")
    r.login(AgentSpec(id="ye", skills={"care": 2, "visa": 1}), 0)
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 3)
    assert brief(r.tick(3)) == [("Queued", "c1")]  # ye is free, but c1 waits for li
    r.update_inquiry("c1", 4, requires={"visa": 1})
    assert brief(r.tick(4))[-1] == ("Offered", "c1", "ye")
    assert stalls(r) == []


def test_a_new_requirement_a_preferred_agent_meets_keeps_the_wait() -> None:
    r = router("ye", "li")
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 3)
    r.tick(3)
    r.update_inquiry("c1", 4, requires={"care": 2})
    assert brief(r.tick(4)) == [("InquiryUpdated", "c1")]  # still li's, for 30 s
    r.complete("x", 10)
    assert brief(r.tick(10))[-1] == ("Offered", "c1", "li")


def test_a_decline_by_every_preferred_agent_ends_the_wait() -> None:
    r = router("ye", "li")
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 1)
    r.tick(1)
    r.decline("c1", 2, "li")
    assert brief(r.tick(2)) == [
        ("OfferDeclined", "c1", "li"),
        ("Requeued", "c1"),
        ("Offered", "c1", "ye"),
    ]


def test_several_preferred_in_order_and_the_next_one_free_takes_it() -> None:
    r = router("ye", "li", "wu")
    busy(r, "x", "ye", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["ye", "wu", "li"]), 2)
    assert brief(r.tick(2))[-1] == ("Offered", "c1", "wu")  # ye busy; wu is named before li


def test_other_agents_never_take_it_during_the_window_even_when_freed() -> None:
    r = router("ye", "li")
    busy(r, "x", "li", 1)
    busy(r, "y", "ye", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 2)
    r.tick(2)
    r.complete("y", 3)  # ye is free: c1 still waits for li
    assert brief(r.tick(3)) == [("Completed", "y", "ye")]
    assert r.inquiry_state("c1") == "waiting"
    assert r.statistics().waiting == 1
    assert r.queue_length("care") == 1


def test_immediate_mode_and_multi_offers_go_to_the_preferred_first() -> None:
    r = Router(
        config(CFG.replace("preferred_wait_s = 30", "preferred_wait_s = 30\nmax_offers = 2"))
    )
    for aid in ("a", "b", "c", "d"):
        r.login(AgentSpec(id=aid, skills={"care": 2}), 0)
    r.tick(0)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["d", "c", "b"]), 1)
    assert [e.agent_id for e in r.tick(1) if type(e).__name__ == "Offered"] == ["d", "c"]
    r2 = router("a", "b", mode="immediate")
    r2.submit(Inquiry(id="c1", queue="care", preferred_agents=["b"]), 1)
    assert brief(r2.tick(1))[-1] == ("Assigned", "c1", "b")


def test_a_snapshot_in_the_window_restores_the_wait() -> None:
    r = router("ye", "li")
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 2)
    r.submit(Inquiry(id="c2", queue="care", preferred_agents=["li", "ye"]), 2)
    r.tick(2)
    snap = r.snapshot()
    again = Router.restore(snap)
    assert again.snapshot() == snap
    out = []
    for x in (r, again):
        x.complete("x", 5)
        out.append(encode_events(x.tick(5)) + encode_events(x.tick(40)))
    assert out[0] == out[1]


@pytest.mark.parametrize("bad", [[""], ["a"] * 21, "ye", None])
def test_bad_preferences_are_refused_naming_the_field(bad: Any) -> None:
    from router import InvalidInput

    r = router("ye")
    before = r.snapshot()
    with pytest.raises(InvalidInput, match=r"^preferred_agents: "):
        r.submit(Inquiry(id="c1", queue="care", preferred_agents=bad), 1)
    assert r.snapshot() == before


def test_a_preferred_arrival_and_its_agent_freed_in_one_pass_make_one_offer() -> None:
    r = router("ye", "li")
    busy(r, "x", "li", 1)
    r.complete("x", 5)  # li is freed and c1 arrives in the same pass
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 5)
    assert [e for e in brief(r.tick(5)) if e[0] == "Offered"] == [("Offered", "c1", "li")]
    li = r._agents["li"]
    assert li.load["voice"] == 1 and list(li.offers) == ["c1"]
    assert r.statistics().waiting == 0


def test_handed_back_after_its_window_passed_it_goes_to_anyone() -> None:
    """The preference deadline fell due while the inquiry was assigned (nothing to end
    then); handed back after it, the inquiry no longer waits for its preferred agents."""
    r = router("li", "wu")
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li", "wu"]), 0)
    assert brief(r.tick(0))[-1] == ("Offered", "c1", "li")
    r.accept("c1", 0, "li")
    busy(r, "x", "wu", 0)  # wu, its other preferred agent, is busy until the end
    r.tick(40)  # its window (30) ends while it is assigned
    r.login(AgentSpec(id="ye", skills={"care": 2}), 40)
    r.hand_back("c1", 40)  # li never gets it again; wu is busy: anyone may take it
    assert brief(r.tick(40))[-1] == ("Offered", "c1", "ye")
    assert stalls(r) == []


def test_handed_back_within_its_window_it_waits_for_the_rest_of_it() -> None:
    r = router("li", "wu")
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li", "wu"]), 0)
    assert brief(r.tick(0))[-1] == ("Offered", "c1", "li")
    r.accept("c1", 0, "li")
    busy(r, "x", "wu", 0)
    r.login(AgentSpec(id="ye", skills={"care": 2}), 20)
    r.hand_back("c1", 20)
    assert brief(r.tick(29)) == [("AgentLoggedIn", "ye"), ("Requeued", "c1")]  # for wu until 30
    assert brief(r.tick(30))[-1] == ("Offered", "c1", "ye")


# ----------------------------------------------------------- moved to another queue
#
# A move (transfer, overflow, a removed queue's hand-over) bounds the wait by the new
# queue's ``preferred_wait_s`` from the move (0: over), and never lengthens it. A fuzz run
# found a transferred inquiry still waiting for its preferred agents by the old queue's
# window in a queue that has none, while another agent was free (a stall).

MOVES = (
    CFG
    + """
[[queues]]
name = "short"
channel = "voice"
requires = { care = 1 }
preferred_wait_s = 5
[[queues]]
name = "long"
channel = "voice"
requires = { care = 1 }
preferred_wait_s = 100
"""
)


def waiting_for_li() -> Router:
    """c1 waits in "care" (window to 33) for li, who is busy; ye is free."""
    r = Router(config(MOVES))
    for aid in ("ye", "li"):
        r.login(AgentSpec(id=aid, skills={"care": 2}), 0)
    r.tick(0)
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 3)
    assert brief(r.tick(3)) == [("Queued", "c1")]
    return r


def test_transferred_to_a_queue_without_a_window_it_goes_to_anyone_at_once() -> None:
    r = waiting_for_li()
    r.transfer("c1", "plain", 4)
    assert brief(r.tick(4))[-1] == ("Offered", "c1", "ye")
    assert stalls(r) == []


def test_transferred_to_a_shorter_window_it_waits_that_long_from_the_move() -> None:
    r = waiting_for_li()
    r.transfer("c1", "short", 4)
    assert ("Offered", "c1", "ye") not in brief(r.tick(4))  # still li's for 5 s
    assert r.next_deadline() == 9.0
    assert brief(r.tick(9)) == [("Offered", "c1", "ye")]


def test_transferred_to_a_longer_window_its_wait_is_not_lengthened() -> None:
    r = waiting_for_li()
    r.transfer("c1", "long", 4)
    r.tick(4)
    assert r.next_deadline() == 33.0  # the window it had, not 4 + 100
    assert brief(r.tick(33)) == [("Offered", "c1", "ye")]


def test_an_assigned_inquiry_transferred_keeps_no_window_its_new_queue_lacks() -> None:
    r = Router(config(MOVES))
    for aid in ("ye", "li"):
        r.login(AgentSpec(id=aid, skills={"care": 2}), 0)
    r.tick(0)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 1)
    assert brief(r.tick(1)) == [("Queued", "c1"), ("Offered", "c1", "li")]
    r.accept("c1", 2, "li")
    r.transfer("c1", "plain", 3, agent_id="li")  # li passes it on while its window is open
    r.go_on_break("li", 3)  # (a preferred agent on a break still counts as logged in)
    assert ("Offered", "c1", "ye") in brief(r.tick(3))
    assert stalls(r) == []


def test_a_removed_queue_hands_it_over_within_the_new_queue_window() -> None:
    r = waiting_for_li()
    care = '[[queues]]\nname = "care"\nchannel = "voice"\nrequires = { care = 1 }\n'
    removed = MOVES.replace(care + "preferred_wait_s = 30\n", "")
    assert 'name = "care"' not in removed
    r.reconfigure(config(removed), 4, hand_over={"care": "short"})
    r.tick(4)
    assert r.inquiry_state("c1") == "waiting"
    assert r.next_deadline() == 9.0
    assert ("Offered", "c1", "ye") in brief(r.tick(9))


def test_an_overflow_move_ends_the_wait_where_the_new_queue_has_no_window() -> None:
    r = Router(
        config(
            MOVES + '[backpressure]\npolicy = "overflow"\n'
            '[backpressure.overflow.queues.care]\nto = "plain"\nafter_s = 10\n'
        )
    )
    for aid in ("ye", "li"):
        r.login(AgentSpec(id=aid, skills={"care": 2}), 0)
    r.tick(0)
    busy(r, "x", "li", 1)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 3)
    assert brief(r.tick(3)) == [("Queued", "c1")]
    assert r.next_deadline() == 13.0  # the overflow move, before the window's end (33)
    events = brief(r.tick(13))
    assert ("Overflowed", "c1") in [e[:2] for e in events]
    assert events[-1] == ("Offered", "c1", "ye")
    assert stalls(r) == []
