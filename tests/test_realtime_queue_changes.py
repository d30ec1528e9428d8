"""The core's real-time statistics (router/state/realtime.py) through the routing
features of issue 16, items 4-7: hand-backs and transfers, agent updates,
interruptible capacity, presence timeouts; each checked against the brute-force
recount and the event ledger of ``tests/realtime_ledger.py``.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router
from router.observe import Monitor
from tests.helpers import config
from tests.realtime_ledger import EventLedger, check_realtime
from tests.test_interrupts import router as blended
from tests.test_realtime_statistics import _agree_with_monitor as agree_with_monitor

QUEUES = """
[routing]
offer_timeout_s = 15
[[queues]]
name = "sales"
[[queues]]
name = "vip"
requires = { vip = 1 }
[[queues]]
name = "outbound"
[backpressure]
outbound = { queues = ["outbound"], reserve_idle = 0, deadline_s = { outbound = 30 } }
"""


class Run:
    """A router and the ledger of every event it handed out."""

    def __init__(self, toml: str = QUEUES, monitor: bool = True, **routing: Any) -> None:
        self.r = Router(config(toml, **routing))
        self.ledger = EventLedger({q.name: q.answer_target_s for q in self.r.config.queues})
        self.monitor = Monitor(self.r.config) if monitor else None

    def tick(self, now: float) -> list[Any]:
        """Tick; the core's figures agree with the recount, the ledger and the monitor."""
        events = self.r.tick(now)
        self.ledger.feed(events)
        check_realtime(self.r, self.ledger)
        if self.monitor is not None:
            self.monitor.feed(events)
            agree_with_monitor(self.r, self.monitor)
        return events

    def window(self, queue: str) -> Any:
        return self.r.statistics().queues[queue].windows["5m"]


def test_a_hand_back_takes_the_answer_back_and_the_next_answer_counts_once() -> None:
    run = Run()
    r = run.r
    r.login(AgentSpec(id="ye"), 0)
    r.login(AgentSpec(id="li"), 0)
    r.submit(Inquiry(id="c1", queue="sales"), 1)
    run.tick(1)
    r.accept("c1", 2)
    run.tick(2)
    assert run.window("sales").answered == 1
    q = r.statistics().queues["sales"]
    assert (q.wait_histogram[0], q.wait_histogram[-1], q.wait_sum_s) == (1, 1, 1.0)  # le=1
    r.hand_back("c1", 40)  # back in line: not answered any more
    run.tick(40)
    assert run.window("sales").answered == 0
    q = r.statistics().queues["sales"]
    assert (q.wait_histogram, q.wait_sum_s) == ([0] * 14, 0.0)  # its wait left the bucket
    holder = next(a for a in ("ye", "li") if r.holds("c1", a))
    r.accept("c1", 41, holder)
    run.tick(41)
    w = run.window("sales")
    assert (w.offered, w.answered, w.asa_s) == (1, 1, 40.0)  # waited from its arrival
    q = r.statistics().queues["sales"]
    assert q.wait_histogram == [0] * 6 + [1] * 8  # 40 s: first in the le=60 bucket
    assert q.wait_sum_s == 40.0


def test_a_transfer_of_an_assigned_inquiry_answers_it_in_the_new_queue() -> None:
    run = Run()
    r = run.r
    r.login(AgentSpec(id="ye"), 0)
    r.submit(Inquiry(id="c1", queue="sales"), 0)
    run.tick(0)
    r.accept("c1", 1)
    run.tick(1)
    r.transfer("c1", "vip", 5)  # nobody has vip: it waits there
    run.tick(5)
    sales, vip = run.window("sales"), run.window("vip")
    assert (sales.offered, sales.answered, vip.offered, vip.answered) == (1, 0, 0, 0)
    assert r.statistics().queues["vip"].waiting == 1
    r.update_agent(AgentSpec(id="ye", skills={"vip": 1}), 6)  # now ye fits vip
    run.tick(6)
    assert r.statistics().queues["vip"].eligible_agents == 1
    r.accept("c1", 7)
    run.tick(7)
    assert run.window("vip").answered == 1
    r.complete("c1", 9)
    run.tick(9)
    assert run.window("vip").handled == 1


def test_an_agent_update_recounts_eligible_and_available_agents() -> None:
    run = Run()
    r = run.r
    r.login(AgentSpec(id="ye"), 0)
    run.tick(0)
    assert r.statistics().queues["vip"].eligible_agents == 0
    r.update_agent(AgentSpec(id="ye", skills={"vip": 2}, capacity={"voice": 1}), 1)
    run.tick(1)
    q = r.statistics().queues["vip"]
    assert (q.eligible_agents, q.available_agents) == (1, 1)
    r.update_agent(AgentSpec(id="ye", capacity={"voice": 0, "chat": 1}), 2)
    run.tick(2)
    q = r.statistics().queues["sales"]
    assert (q.eligible_agents, q.available_agents) == (0, 0)


def test_an_expiry_after_a_read_shows_in_the_same_bucket() -> None:
    # a read remembers its figures while nothing was counted: a task's expiry counts
    # (the monitor counts a held task as waiting, the core as parked: no monitor here)
    run = Run(monitor=False)
    r = run.r
    r.submit(Inquiry(id="t1", queue="outbound"), 5)
    r.submit(Inquiry(id="t2", queue="outbound"), 30)  # opens the bucket [30, 40)
    run.tick(31)
    assert run.window("outbound").expired == 0
    run.tick(35)  # t1's deadline, in the same bucket as the read, nothing else counted
    assert run.window("outbound").expired == 1


def test_a_presence_timeout_leaves_the_agent_away_and_unavailable() -> None:
    run = Run(presence_timeout_s=60.0)
    r = run.r
    r.login(AgentSpec(id="ye"), 0)
    run.tick(0)
    assert r.statistics().queues["sales"].available_agents == 1
    run.tick(61)
    st = r.statistics()
    assert (st.agents_by_state["away"], st.queues["sales"].available_agents) == (1, 0)


def test_an_agent_a_call_may_interrupt_is_available_for_calls() -> None:
    r = blended()  # ye: 100 units; a chat costs 20, a call 100 (it may interrupt 2 chats)
    ledger = EventLedger({q.name: q.answer_target_s for q in r.config.queues})
    for i in range(2):
        r.submit(Inquiry(id=f"chat{i}", queue="chat"), 0)
    ledger.feed(r.tick(0))
    check_realtime(r, ledger)
    assert r.statistics().queues["voice"].available_agents == 1  # 40 + 100 > 100: a rule
    voice = msgspec.structs.replace(r.config.channels["voice"], interrupts={})
    r.reconfigure(msgspec.structs.replace(r.config, channels={"voice": voice}), 1)
    ledger.feed(r.tick(1))
    check_realtime(r, ledger)
    assert r.statistics().queues["voice"].available_agents == 0  # no rule: no room


def test_an_agent_update_keeps_the_busy_time_counted_so_far() -> None:
    # ye holds a chat from 0; at 10 her chat capacity doubles (the chat's share of her
    # capacity changes): the busy time counted until 10 stays, the new share counts on
    # (the monitor knows the capacity of the login only: AgentUpdated carries no spec)
    chats = QUEUES + '[[queues]]\nname = "chats"\nchannel = "chat"\n'
    run = Run(chats, monitor=False, mode="immediate")
    r = run.r
    r.login(AgentSpec(id="ye", capacity={"voice": 1, "chat": 2}), 0)
    r.submit(Inquiry(id="c1", queue="chats"), 0)
    run.tick(0)
    run.tick(10)
    at_10 = r.agent_statistics("ye").busy_s
    assert at_10 > 0
    r.update_agent(AgentSpec(id="ye", capacity={"voice": 1, "chat": 4}), 10)
    run.tick(10)
    assert r.agent_statistics("ye").busy_s == pytest.approx(at_10)
    share = r._agents["ye"].tally.shares["chat"]
    run.tick(20)
    assert r.agent_statistics("ye").busy_s == pytest.approx(at_10 + 10 * share)
    r.complete("c1", 20)
    run.tick(20)
    assert r.agent_statistics("ye").busy_s == pytest.approx(at_10 + 10 * share)


def test_an_answer_given_at_a_reset_and_taken_back_then_given_again_counts_after_it() -> None:
    """A tie at the reset instant: the first answer was counted before the reset, the
    second after it; taking the second back must correct the since-reset figures."""
    run = Run(monitor=False)  # (the monitor has no reset: the recount and ledger judge)
    r = run.r
    r.login(AgentSpec(id="ye"), 0)
    r.login(AgentSpec(id="li"), 0)
    r.submit(Inquiry(id="c1", queue="sales"), 1)
    run.tick(1)
    holder = next(a for a in ("ye", "li") if r.holds("c1", a))
    r.accept("c1", 5, holder)
    run.tick(5)
    r.reset_statistics(5)  # at the instant of the answer: counted before the reset
    run.ledger.mark_reset(pending=0)
    r.hand_back("c1", 5)  # taken back from the figures before the reset
    run.tick(5)
    holder = next(a for a in ("ye", "li") if r.holds("c1", a))
    r.accept("c1", 5, holder)  # answered again at the reset instant, after it
    run.tick(5)
    since = r.statistics().queues["sales"].windows["since_reset"]
    assert since.answered == 1
    r.hand_back("c1", 5)
    run.tick(5)
    since = r.statistics().queues["sales"].windows["since_reset"]
    assert since.answered == 0  # taken back from the figures it was counted in
