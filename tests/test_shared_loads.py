"""Agents with the same load share one dict of load counts (``router/state/loads.py``).

An agent's ``load`` (inquiries held per channel) is its ``LoadState``'s dict, shared by every
agent with the same counts in the same order and never changed in place: a change moves the
agent to the neighbouring state (``load_up``, ``load_down``, ``load_with``, ``set_load``).
At 10,000 agents a dict per agent was a trip to memory whenever the completing or the
assigned agent was touched (BENCHMARKS.md, ix38). Through seeded drives (offers accepted
and declined, multi-agent offers, completions, hand-backs, capacity changes that add and
drop channels, reconfigures that add and remove a channel's queue, logouts and logins,
snapshots restored) every agent's load counts what it holds, counts each of its channels,
agrees with its state, and equal loads are one dict whose items never change.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from router import AgentSpec, Inquiry, Router
from router.config import QueueConfig, RouterConfig
from router.events import Offered
from router.state import loads
from router.state.loads import (
    MAX_SHARED_LOADS,
    LoadState,
    by_number,
    cap_numbers,
    channel_no,
    load_state,
    step_down,
    step_down_no,
    step_up,
    step_up_no,
)
from router.state.records import LOGGING_OUT


def _config(email: bool, offer_to: int = 1) -> RouterConfig:
    queues = [
        QueueConfig(name="c", channel="chat", requires={"s": 1}, max_offers=offer_to),
        QueueConfig(name="v", channel="voice", requires={"s": 1}),
    ]
    if email:
        queues.append(QueueConfig(name="e", channel="email", requires={"s": 1}))
    return RouterConfig(queues=queues)


def _held(r: Router, aid: str) -> Counter[str]:
    a = r._agents[aid]
    return Counter(t.terms.queue.channel for t in (*a.offers.values(), *a.work.values()))


def _check(r: Router, items_of: dict[int, tuple[tuple[str, int], ...]]) -> None:
    """Every agent's load is what it holds, on a key for each of its channels; equal loads
    are one dict; a shared dict's items never change (``items_of``: id -> items first seen,
    kept across calls, with the dicts alive through their states)."""
    by_items: dict[tuple[tuple[str, int], ...], dict[str, int]] = {}
    for aid, a in r._agents.items():
        load = a.load
        assert load is a.loadst.counts, aid
        held = _held(r, aid)
        assert {ch: n for ch, n in load.items() if n} == dict(held), aid
        assert all(ch in load for ch in a.caps), aid
        assert a.total_load == sum(load.values()), aid
        items = tuple(load.items())
        # by channel number (the hot paths' reads): the state's list, and the caps' shared
        assert a.loadn is a.loadst.nums and a.loadn == by_number(items), aid
        assert a.capn == by_number(tuple(a.caps.items())), aid
        assert a.capn is cap_numbers(a.caps), aid
        assert by_items.setdefault(items, load) is load, aid  # one dict per load
        assert items_of.setdefault(id(load), items) == items, aid  # never changed in place
        _check_steps(a.loadst)


def _check_steps(st: LoadState) -> None:
    """The neighbours cached on ``st`` by channel number are its counts one inquiry more
    (``ups``) or less (``downs``) on that channel."""
    name = {n: ch for ch, n in loads._numbers.items()}
    for steps, by in ((st.ups, 1), (st.downs, -1)):
        for n, nxt in enumerate(steps):
            if nxt is not None:
                ch = name[n]
                want = dict(st.counts)
                want[ch] = want.get(ch, 0) + by
                assert nxt.counts == want and list(nxt.counts) == list(want), (st.counts, ch)


def test_one_dict_per_load_and_a_change_moves_to_its_neighbour() -> None:
    r = Router(_config(email=False))
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"chat": 2, "voice": 1}), 0.0)
    r.login(AgentSpec(id="b", skills={"s": 1}, capacity={"chat": 2, "voice": 1}), 0.0)
    a, b = r._agents["a"], r._agents["b"]
    assert a.load == {"chat": 0, "voice": 0} and a.load is b.load
    idle = a.load
    r.submit(Inquiry(id="i1", queue="c"), 1.0)
    (offer,) = [e for e in r.tick(1.0) if type(e) is Offered]
    busy = r._agents[offer.agent_id]
    other = b if busy is a else a
    assert busy.load == {"chat": 1, "voice": 0}
    assert other.load is idle and idle == {"chat": 0, "voice": 0}  # not changed in place
    one = busy.load
    r.submit(Inquiry(id="i2", queue="c"), 2.0)
    r.tick(2.0)
    assert other.load is one  # the same counts: the same dict
    r.accept("i1", 3.0)
    r.complete("i1", 4.0)  # no wrap-up: released at completion
    assert busy.load is idle and busy.loadst is step_down(step_up(idle_state(r), "chat"), "chat")
    back = Router.restore(r.snapshot())
    assert back.snapshot() == r.snapshot()
    assert back._agents[other.id].load is one  # restored loads share again
    assert back._agents[busy.id].load is idle


def idle_state(r: Router) -> LoadState:
    return load_state((("chat", 0), ("voice", 0)))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_loads_stay_shared_and_right_through_seeded_drives(seed: int) -> None:
    rng = random.Random(seed)
    email = False
    offer_to = 1 + seed % 2  # seeds 1 and 3: chat offered to two agents at once
    r = Router(_config(email, offer_to))
    caps = ({"chat": 3}, {"voice": 1, "chat": 2}, {"chat": 2, "email": 2}, {"email": 1})

    def spec(i: int) -> AgentSpec:
        return AgentSpec(id=f"a{i}", skills={"s": 1}, capacity=dict(rng.choice(caps)))

    for i in range(8):
        r.login(spec(i), 0.0)
    items_of: dict[int, tuple[tuple[str, int], ...]] = {}
    now = 0.0
    offered: list[tuple[str, str]] = []
    busy: list[str] = []
    n = 0
    for step in range(500):
        now += rng.choice((0.0, 0.5, 1.0, 3.0))
        roll = rng.random()
        if roll < 0.4:
            n += 1
            r.submit(Inquiry(id=f"i{n}", queue=rng.choice("cve" if email else "cv")), now)
        elif roll < 0.7 and busy:
            iid = busy.pop(rng.randrange(len(busy)))
            if iid in r._tickets and r.inquiry_state(iid) == "assigned":
                r.complete(iid, now)
        elif roll < 0.75 and busy:
            iid = busy.pop(rng.randrange(len(busy)))
            if iid in r._tickets and r.inquiry_state(iid) == "assigned":
                r.hand_back(iid, now)
        elif roll < 0.82:
            aid = f"a{rng.randrange(10)}"
            if aid not in r._agents:
                r.login(spec(int(aid[1:])), now)
            elif r._agents[aid].state != LOGGING_OUT:
                r.update_agent(spec(int(aid[1:])), now)  # channels added and dropped
        elif roll < 0.85:
            aid = f"a{rng.randrange(10)}"
            if aid in r._agents and r._agents[aid].state != LOGGING_OUT:
                r.logout(aid, now)
        elif roll < 0.88:
            email = not email
            r.reconfigure(_config(email, offer_to), now)  # the email queue comes and goes
        for e in r.tick(now):
            if type(e) is Offered:
                offered.append((e.inquiry_id, e.agent_id))
        if step % 3 == 0:  # offers left open for a step or two: checked while held
            while offered:
                iid, aid = offered.pop()
                if iid not in r._tickets or aid not in r.offered_to(iid):
                    continue
                if rng.random() < 0.2:
                    r.decline(iid, now, aid)
                else:
                    r.accept(iid, now, aid)
                    busy.append(iid)
        _check(r, items_of)
        if step % 60 == 59:
            back = Router.restore(r.snapshot())
            assert back.snapshot() == r.snapshot()
            for aid, a in r._agents.items():
                assert back._agents[aid].load == a.load
            r = back
            _check(r, items_of)
    assert any(a.total_load for a in r._agents.values())


def test_the_table_starts_again_when_full_and_held_states_stay_right() -> None:
    saved = dict(loads._table)
    try:
        loads._table.clear()
        held = load_state((("chat", 1),))
        for i in range(MAX_SHARED_LOADS - 1):
            load_state((("chat", i + 3),))  # (one channel: no new channel numbers)
        assert len(loads._table) == MAX_SHARED_LOADS
        load_state((("chat", 2),))  # full: forgotten, then this one
        assert len(loads._table) == 1
        down = step_down(held, "chat")  # a state held across the reset still steps right
        assert down.counts == {"chat": 0} and step_up(down, "chat").counts == {"chat": 1}
        assert held.counts == {"chat": 1}
        with pytest.raises(KeyError):
            step_down(held, "voice")  # none held there
    finally:
        loads._table.clear()
        loads._table.update(saved)


def test_channel_numbers_index_the_lists_and_stay_fixed() -> None:
    """A channel keeps its number; a list holds each count at its channel's number, 0 for a
    channel it has no count on, and is no longer than its highest number + 1."""
    a, b = channel_no("nums-a"), channel_no("nums-b")
    assert channel_no("nums-a") == a and b == a + 1
    assert by_number((("nums-b", 3),)) == [0] * b + [3]
    assert by_number((("nums-b", 3), ("nums-a", 2))) == [0] * a + [2, 3]
    st = load_state((("nums-a", 1), ("nums-b", 0)))
    assert st.nums[a] == 1 and st.nums[b] == 0 and len(st.nums) == b + 1
    assert step_up(st, "nums-b").nums[b] == 1 and step_down(st, "nums-a").nums[a] == 0
    caps = {"nums-b": 5}
    assert cap_numbers(caps) is cap_numbers(dict(caps)) and cap_numbers(caps)[b] == 5


def test_steps_are_cached_by_channel_number() -> None:
    """``ups``/``downs`` hold a state's neighbours at their channel's number (``None``
    where none found yet), grown for a channel numbered after the state was made; the
    by-name and by-number steps find the same state."""
    st = load_state((("steps-a", 1),))
    a = channel_no("steps-a")
    late = channel_no("steps-late")  # a channel numbered after the state was made
    up = step_up(st, "steps-late")
    assert len(st.ups) == late + 1 and st.ups[late] is up and st.ups[:late] == [None] * late
    assert up.counts == {"steps-a": 1, "steps-late": 1}
    assert step_up_no(st, late, "steps-late") is up and step_up(st, "steps-late") is up
    down = step_down_no(st, a, "steps-a")
    assert st.downs[a] is down and step_down(st, "steps-a") is down
    assert down.counts == {"steps-a": 0} and step_up(down, "steps-a") is st
    _check_steps(st)


def test_a_queue_keeps_its_channels_number_across_a_reconfigure() -> None:
    """``QueueState.chan`` (what a release steps down by) is its channel's number, after a
    reconfigure that moves the queue to another channel too."""
    r = Router(_config(email=False))
    q = r._queues["c"]
    assert q.chan == channel_no("chat") and r._queues["v"].chan == channel_no("voice")
    moved = RouterConfig(
        queues=[
            QueueConfig(name="c", channel="voice", requires={"s": 1}),
            QueueConfig(name="v", channel="voice", requires={"s": 1}),
        ]
    )
    r.reconfigure(moved, 1.0)
    assert r._queues["c"] is q and q.chan == channel_no("voice")
