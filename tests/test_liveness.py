"""Liveness: no search gives up. An agent is offered every inquiry it has not declined,
and (``decline_memory = "round"``) an inquiry every agent in its round declined is offered
again to them all: with one agent that accepts, every inquiry reaches an outcome.

The bound that remains (docs/architecture.md): a decision costs O(log n), plus
O(log n) for each inquiry the deciding agent itself declined that still waits
ahead of the one it gets; an agent that declined every declined inquiry of a
pool skips them at once.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from router import AgentSpec, Inquiry, Router
from tests.helpers import config
from tests.liveness import stalls

ONE_QUEUE = """
[routing]
offer_timeout_s = 30
max_no_answer = 1000
decline_memory = "forever"
[[queues]]
name = "q"
requires = { s = 1 }
"""


def test_an_agent_declining_everything_is_offered_all_300_in_turn() -> None:
    # (decline_memory = "forever": with the default a lone agent's decline ends the round)
    r = Router(config(ONE_QUEUE))
    for i in range(300):
        r.submit(Inquiry(id=f"i{i:03d}", queue="q"), 0.0)
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    offered: list[str] = []
    now = 0.0
    events = r.tick(now)
    while True:
        offers = [e for e in events if type(e).__name__ == "Offered"]
        assert stalls(r) == []
        if not offers:
            break
        assert len(offers) == 1
        offered.append(offers[0].inquiry_id)
        now += 1.0
        r.decline(offers[0].inquiry_id, now)
        events = r.tick(now)
    assert offered == [f"i{i:03d}" for i in range(300)]  # each once, oldest first
    assert r.statistics().waiting == 300
    assert r.next_deadline() is None  # nothing left to do: everything was declined by a
    # a second agent gets them all
    r.login(AgentSpec(id="b", skills={"s": 1}), now)
    events = r.tick(now)
    assert [e.inquiry_id for e in events if type(e).__name__ == "Offered"] == ["i000"]


def test_an_inquiry_declined_by_one_agent_goes_to_the_next() -> None:
    r = Router(config(ONE_QUEUE))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.login(AgentSpec(id="b", skills={"s": 1}), 1.0)
    r.submit(Inquiry(id="x", queue="q"), 2.0)
    (offer,) = [e for e in r.tick(2.0) if type(e).__name__ == "Offered"]
    r.decline("x", 3.0)
    (again,) = [e for e in r.tick(3.0) if type(e).__name__ == "Offered"]
    assert {offer.agent_id, again.agent_id} == {"a", "b"}


def _decline_until_quiet(r: Router, now: float, limit: int) -> tuple[list[str], float]:
    """Decline every offer the router makes until it makes none (or ``limit`` of them)."""
    offered: list[str] = []
    events = r.tick(now)
    while len(offered) < limit:
        offers = [e for e in events if type(e).__name__ == "Offered"]
        assert stalls(r) == []
        if not offers:
            break
        offered.extend(e.inquiry_id for e in offers)
        now += 1.0
        for e in offers:
            r.decline(e.inquiry_id, now)
        events = r.tick(now)
    return offered, now


def test_a_lone_agent_declining_everything_ends_away_with_max_declines() -> None:
    """Under the default rounds each decline of a lone agent ends a round of one: without
    a limit it sees the head of the line for ever; ``max_declines`` sets it away."""
    looping = Router(config(ONE_QUEUE, decline_memory="round"))
    limited = Router(config(ONE_QUEUE, decline_memory="round", max_declines=3))
    for r in (looping, limited):
        for i in range(5):
            r.submit(Inquiry(id=f"i{i}", queue="q"), 0.0)
        r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    offered, _ = _decline_until_quiet(looping, 0.0, 500)
    assert offered == ["i0"] * 500  # still ringing: the head of the line, again and again
    offered, now = _decline_until_quiet(limited, 0.0, 500)
    assert offered == ["i0"] * 3  # ended: away after the third decline in a row
    st = limited.agent_statistics("a")
    assert (st.state, st.reason) == ("away", "max_declines")
    assert limited.statistics().waiting == 5 and limited.next_deadline() is None
    # back (a person decided): it takes everything, every inquiry reaches an outcome
    limited.set_ready("a", now + 1.0)
    events = limited.tick(now + 1.0)
    done = 0
    while True:
        offers = [e.inquiry_id for e in events if type(e).__name__ == "Offered"]
        assert stalls(limited) == []
        if not offers:
            break
        now += 2.0
        for i in offers:
            limited.accept(i, now)
            limited.complete(i, now + 1.0)
            done += 1
        events = limited.tick(now + 1.0)
    assert done == 5 and limited.statistics().waiting == 0


UNITS = """
[routing]
offer_timeout_s = 30
[channels]
chat = { max_concurrency = 30, unit_cost = 20 }
[[queues]]
name = "chat"
channel = "chat"
"""


def test_a_costly_inquiry_ahead_does_not_hide_one_that_fits() -> None:
    r = Router(config(UNITS))
    r.submit(Inquiry(id="big", queue="chat", cost=80), 0.0)
    r.submit(Inquiry(id="small", queue="chat"), 1.0)
    r.login(AgentSpec(id="a", capacity={"chat": 5}, units=50), 2.0)
    offers = [e.inquiry_id for e in r.tick(2.0) if type(e).__name__ == "Offered"]
    assert offers == ["small"]
    assert stalls(r) == []


# ---------------------------------------------------------------------- property

MANY = """
[routing]
offer_timeout_s = 10
max_no_answer = 1000
decline_memory = "forever"
[[queues]]
name = "voice"
requires = { s = 1 }
[[queues]]
name = "chat"
channel = "chat"
requires = { s = 1 }
[[queues]]
name = "vip"
requires = { s = 3 }
priority = 2
steps = [{ after_s = 15, requires = { s = 1 } }]
"""


@st.composite
def decline_patterns(draw: st.DrawFn) -> dict[str, Any]:
    n_agents = draw(st.integers(1, 4))
    agents = [
        AgentSpec(
            id=f"a{i}",
            skills={"s": draw(st.integers(1, 3))},
            capacity={"voice": 1, "chat": draw(st.integers(0, 3))},
        )
        for i in range(n_agents)
    ]
    n = draw(st.integers(1, 40))
    inquiries = [
        Inquiry(id=f"i{k}", queue=draw(st.sampled_from(["voice", "chat", "vip"]))) for k in range(n)
    ]
    # what each agent does with each offer: accept (and finish soon), decline, let it expire
    answers = draw(
        st.dictionaries(
            st.tuples(st.sampled_from([a.id for a in agents]), st.integers(0, n - 1)),
            st.sampled_from(["accept", "decline", "expire"]),
        )
    )
    default = draw(st.sampled_from(["decline", "expire", "accept"]))
    return {"agents": agents, "inquiries": inquiries, "answers": answers, "default": default}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(decline_patterns())
def test_no_stall_under_any_decline_pattern(case: dict[str, Any]) -> None:
    # (forever: declines are kept, so a run where everyone declines settles; the round
    # rule's liveness is the next test's)
    r = Router(config(MANY))
    now = 0.0
    for spec in case["agents"]:
        r.login(spec, now)
    for inq in case["inquiries"]:
        r.submit(inq, now)
    in_service: list[str] = []
    for _ in range(2000):
        events = r.tick(now)
        assert stalls(r) == [], now
        for e in events:
            if type(e).__name__ != "Offered":
                continue
            k = int(e.inquiry_id[1:])
            what = case["answers"].get((e.agent_id, k), case["default"])
            if what == "accept":
                r.accept(e.inquiry_id, now)
                in_service.append(e.inquiry_id)
            elif what == "decline":
                r.decline(e.inquiry_id, now)
        if in_service and now % 3 == 0:
            r.complete(in_service.pop(0), now)
        nxt = r.next_deadline()
        if nxt is None and not in_service:
            break
        now = max(now + 1.0, nxt if nxt is not None and nxt > now else now + 1.0)
    else:
        raise AssertionError("the run did not settle")
    assert stalls(r) == []


# ------------------------------------------------------------ liveness under rounds

ROUNDS = MANY.replace('decline_memory = "forever"\n', "")


@st.composite
def answer_scripts(draw: st.DrawFn) -> dict[str, Any]:
    """Agents (``a0`` can serve every queue), inquiries, and what each agent does with its
    successive offers of each inquiry: a script of declines and expiries, then its last
    answer for good; ``a0``'s last answer is accept, the others' any."""
    n_agents = draw(st.integers(1, 4))
    agents = [AgentSpec(id="a0", skills={"s": 3}, capacity={"voice": 1, "chat": 2})]
    agents += [
        AgentSpec(
            id=f"a{i}",
            skills={"s": draw(st.integers(1, 3))},
            capacity={"voice": 1, "chat": draw(st.integers(0, 3))},
        )
        for i in range(1, n_agents)
    ]
    n = draw(st.integers(1, 25))
    inquiries = [
        Inquiry(id=f"i{k}", queue=draw(st.sampled_from(["voice", "chat", "vip"]))) for k in range(n)
    ]
    refusal = st.sampled_from(["decline", "expire"])
    scripts: dict[tuple[str, int], list[str]] = {}
    for a in agents:
        for k in range(n):
            last = "accept" if a.id == "a0" else draw(st.sampled_from(["accept", *["decline"] * 2]))
            scripts[(a.id, k)] = [*draw(st.lists(refusal, max_size=3)), last]
    return {"agents": agents, "inquiries": inquiries, "scripts": scripts}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(answer_scripts())
def test_every_inquiry_reaches_an_outcome_when_one_agent_accepts(case: dict[str, Any]) -> None:
    """Liveness, not just no stall: whatever the others do, and though the accepting agent
    itself declines or lets expire its first offers of an inquiry, each inquiry is
    offered to it again (a round ends) and completes. Under "forever" an inquiry ``a0``
    refused once would never come back to it."""
    r = Router(config(ROUNDS))
    now = 0.0
    for spec in case["agents"]:
        r.login(spec, now)
    for inq in case["inquiries"]:
        r.submit(inq, now)
    offers_seen: dict[tuple[str, int], int] = {}
    in_service: list[str] = []
    completed: set[str] = set()
    for _ in range(5000):
        events = r.tick(now)
        assert stalls(r) == [], now
        for e in events:
            if type(e).__name__ != "Offered":
                continue
            k = int(e.inquiry_id[1:])
            script = case["scripts"][(e.agent_id, k)]
            i = offers_seen.get((e.agent_id, k), 0)
            offers_seen[(e.agent_id, k)] = i + 1
            what = script[min(i, len(script) - 1)]
            if what == "accept":
                r.accept(e.inquiry_id, now)
                in_service.append(e.inquiry_id)
            elif what == "decline":
                r.decline(e.inquiry_id, now)
        if in_service and now % 3 == 0:
            done = in_service.pop(0)
            r.complete(done, now)
            completed.add(done)
        if len(completed) == len(case["inquiries"]):
            break
        nxt = r.next_deadline()
        now = max(now + 1.0, nxt if nxt is not None and nxt > now else now + 1.0)
    else:
        left = sorted({i.id for i in case["inquiries"]} - completed)
        raise AssertionError(f"no outcome for {left}")
    assert r.statistics().waiting == 0
