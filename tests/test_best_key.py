"""The order of agents freed in one batched pass: ``Router._best_key`` equals its definition.

``_best_key`` is the least heap key of an agent over the pools it can take work from now
(``_can_take``, ``_key``), computed with shortcuts (``router/core.py``). Random inputs on a
center with every mode, per-queue weights, heavy work, cooldowns and capacity units
compare it, bit for bit, with the definition after every step, for every agent.
"""

from __future__ import annotations

import contextlib
import math
import random

import pytest

from router import AgentSpec, Inquiry, Router
from router.errors import UsageError
from router.state.distribution import SCORED as SCORED_MODE
from tests.helpers import config

CENTER = """
[routing]
mode = "offer"
offer_timeout_s = 20
[routing.weights]
proficiency = 1.0
idle_time = 1.0
load = 2.0
recent_work = 1.0
recent_count = 0.3
heavy_streak = 0.7
[wellbeing]
max_consecutive_heavy = 2
heavy_recovery_s = 60
cooldown_after_heavy_s = 40
cooldown_s = 30
cooldown_from = "%s"
[channels.voice]
max_concurrency = 1
unit_cost = 100
interrupts = { chat = 2 }
[channels.chat]
max_concurrency = 20
unit_cost = 40
[[queues]]
name = "v_scored"
channel = "voice"
requires = { a = 1 }
[[queues]]
name = "v_own"
channel = "voice"
requires = { b = 2 }
weights = { proficiency = 3.0, idle_time = 0.5, load = 1.0, recent_count = 1.0 }
[[queues]]
name = "v_random"
channel = "voice"
requires = { a = 1 }
distribution = "random"
[[queues]]
name = "c_scored"
channel = "chat"
requires = { a = 1, b = 1 }
[[queues]]
name = "c_heavy"
channel = "chat"
requires = { b = 1 }
heavy = true
[[queues]]
name = "c_idle"
channel = "chat"
requires = { a = 2 }
distribution = "longest_idle"
[[queues]]
name = "c_occupied"
channel = "chat"
requires = { b = 1 }
distribution = "least_occupied"
[[queues]]
name = "c_skill"
channel = "chat"
requires = { a = 1 }
distribution = "best_skill"
[[queues]]
name = "c_ring"
channel = "chat"
requires = { a = 1 }
max_offers = 2
"""


def _definition(r: Router, agent: object) -> float:
    best = math.inf
    for pool, prof, _ in agent.pools:  # type: ignore[attr-defined]
        if r._can_take(agent, pool):  # type: ignore[arg-type]
            k = r._key(agent, pool, prof)  # type: ignore[arg-type]
            if k < best:
                best = k
    return best


def _check_all(r: Router) -> int:
    draws = r._draws
    compared = 0
    for agent in r._agents.values():
        n = draws.n
        want = _definition(r, agent)
        used = draws.n - n
        draws.n = n
        got, incarnation = r._best_key(agent)
        assert draws.n - n == used  # the same random draws, in the same number
        draws.n = n
        assert (got, incarnation) == (want, agent.incarnation), agent.id
        assert math.copysign(1.0, got) == math.copysign(1.0, want) or got == 0.0
        compared += want < math.inf
    return compared


def _check_order(r: Router, rng: random.Random) -> int:
    """``_by_best_key`` (the compiled build's order of a batch of freed agents) puts any
    batch in the order of ``sorted(..., key=_best_key)`` (the pure build's), and draws what
    it draws: all agents, then a random batch (in a random order, as ``_freed`` may hold it)."""
    draws = r._draws
    agents = list(r._agents.values())
    batch = rng.sample(agents, rng.randint(2, len(agents)))
    for group in (agents, batch):
        n = draws.n
        want = sorted(group, key=r._best_key)
        used = draws.n - n
        draws.n = n
        got = list(group)
        r._by_best_key(got)
        assert draws.n - n == used
        draws.n = n
        assert [a.id for a in got] == [a.id for a in want]
    return len(batch)


def _check_listed(r: Router) -> int:
    """Every live entry of a scored pool's heap holds the agent's ``_key`` there, bit for
    bit, whichever path listed it (a refresh, a new pool's first listing): equal states
    then order agents equally, however they were reached (a snapshot restore lists anew).
    An agent whose listing is current (``listed_ver == ver``: not freed since) is listed
    in exactly the pools it can take work from (``_can_take``), each once: ``_refresh``
    reads its load and capacity once per channel met, and an agent here has two."""
    compared = 0
    for agent in r._agents.values():
        if agent.listed_ver != agent.ver:
            continue
        want = [id(pool) for pool, _, _ in agent.pools if r._can_take(agent, pool)]
        assert sorted(id(pool) for pool in agent.listed) == sorted(want), agent.id
        live = sum(
            1
            for pool, _, _ in agent.pools
            for _, _, slot, is_live in r._heap_entries(pool)
            if slot == agent.slot and is_live
        )
        assert live == len(want), agent.id
    for pool in r._pools.values():
        if pool.mode != SCORED_MODE:  # (a random draw must not be drawn again here)
            continue
        for key, _, slot, is_live in r._heap_entries(pool):
            agent = r._slots[slot]
            if is_live:
                prof = next(p for pl, p, _ in agent.pools if pl is pool)
                assert key == r._key(agent, pool, prof), (agent.id, pool.queue.name)
                compared += 1
    return compared


#: the queues keyed by score: other modes' keys (a proficiency, a draw) are often the least,
#: so a run that opens only these checks the scored keys on their own
SCORED = ("v_scored", "v_own", "c_scored", "c_heavy", "c_ring")


@pytest.mark.parametrize("scored_only", [False, True])
@pytest.mark.parametrize("cooldown_from", ["all", "heavy"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_best_key_is_the_least_key_over_the_pools_the_agent_can_take(
    cooldown_from: str, seed: int, scored_only: bool
) -> None:
    rng = random.Random(seed)
    r = Router(config(CENTER % cooldown_from), now=0.0)
    for i in range(12):
        capacity = {"voice": 1, "chat": rng.choice([2, 3, 5])}
        r.login(
            AgentSpec(
                id=f"a{i}",
                skills={"a": rng.randint(1, 5), "b": rng.randint(1, 5)},
                capacity=capacity,
                units=rng.choice([None, 150, 200]),
            ),
            0.0,
        )
    queues = [q.name for q in r.config.queues if q.name in SCORED or not scored_only]
    now = 0.0
    held: list[str] = []
    offered: list[str] = []
    compared = listed = ordered = 0
    for step in range(500):
        now += rng.choice([0.0, 0.5, 3.0, 17.0])
        roll = rng.random()
        try:
            if roll < 0.35:
                queue = "c_heavy" if rng.random() < 0.3 else rng.choice(queues)
                r.submit(Inquiry(id=f"i{step}", queue=queue), now)
            elif roll < 0.7 and held:
                r.complete(held.pop(rng.randrange(len(held))), now)
            elif roll < 0.75 and offered:
                r.decline(offered.pop(rng.randrange(len(offered))), now)
            elif roll < 0.78:
                agent = f"a{rng.randrange(12)}"
                try:
                    r.set_ready(agent, now)  # back from a break
                except UsageError:
                    r.go_on_break(agent, now)
        except UsageError:
            pass  # e.g. a break refused, an offer that expired: not what is checked here
        compared += _check_all(r)  # before the pass: agents freed since the last one
        # (its own rng: the walk's stays as it was)
        ordered += _check_order(r, random.Random(seed * 1000 + step))
        listed += _check_listed(r)
        for ev in r.tick(now):
            name = type(ev).__name__
            if name == "Offered":
                if rng.random() < 0.8:
                    with contextlib.suppress(UsageError):  # a ring's, taken by another
                        r.accept(ev.inquiry_id, now, agent_id=ev.agent_id)
                else:
                    offered.append(ev.inquiry_id)
            elif name == "Assigned":
                held.append(ev.inquiry_id)
        offered = [i for i in offered if r.inquiry_state(i) == "offered"]
        held = [i for i in held if r.inquiry_state(i) == "assigned"]
    assert compared > 2000  # agents with some pool open, compared with a finite key
    assert listed > 2000
    assert ordered > 2000


def test_by_urgency_orders_as_sort_does() -> None:
    """``_by_urgency`` (the compiled build's order of a short list of pending arrivals) is
    ``sort(key=_urgency)``: random batches of waiting tickets of several priorities, equal
    arrival times among them."""
    from router.core import _by_urgency, _urgency

    rng = random.Random(5)
    r = Router(config(CENTER % "all"), now=0.0)
    queues = [q.name for q in r.config.queues]
    for i in range(60):
        r.submit(
            Inquiry(id=f"i{i}", queue=rng.choice(queues), priority=rng.randint(0, 3)),
            float(i // 4),
        )
    tickets = list(r._tickets.values())
    for _ in range(200):
        batch = rng.sample(tickets, rng.randint(2, 32))
        want = sorted(batch, key=_urgency)
        _by_urgency(batch)
        assert [t.id for t in batch] == [t.id for t in want]


def test_the_load_term_is_the_larger_of_the_channel_and_the_units_ratio() -> None:
    """``Scorer.base_key`` inlines ``load_ratio``: for an agent with capacity units, the
    larger of its load over the channel's cap and its units used over its units. One chat
    of an agent with chat cap 2 and 100 units (a chat costs 20): chat 1/2 beats the units'
    0.2; voice 0/1 loses to them. The key's term and the explanation's feature agree."""
    from router.config import Weights
    from router.state.records import Coeffs
    from router.state.scoring import Scorer
    from tests.helpers import agent, basic, inq

    r = basic(mode="immediate")
    r.login(agent("a1", voice=1, chat=2, units=100), 0)
    r.submit(inq("c0", queue="chat"), 0)
    assert [type(e).__name__ for e in r.tick(0)][-1] == "Assigned"
    a = r._agents["a1"]
    scorer = Scorer(r.config.routing, None)
    w = Coeffs(Weights(proficiency=0.0, idle_time=0.0, load=1.0))
    for ch, on, cap, ratio in (("chat", 1, 2, 0.5), ("voice", 0, 1, 0.2)):
        assert Scorer.load_ratio(a, ch) == ratio
        assert scorer.base_key(a, w, on, cap) == ratio


def test_each_weighted_term_of_the_key_is_its_explained_feature() -> None:
    """The key's load, recent-work, recent-count and heavy-streak terms, each weight alone,
    equal the explanation's feature times its weight, negated (higher score wins, lower key
    is listed first): an operator's weight moves the key the way ``router explain`` says."""
    from router.config import Weights
    from router.state.records import Coeffs
    from router.state.scoring import Scorer
    from tests.helpers import agent, basic, inq

    # (the recent window is kept only when a recent weight is set)
    r = basic(mode="immediate", weights=Weights(recent_work=1.0, recent_count=1.0))
    r.login(agent("a1", voice=1, chat=2, units=100), 0)
    r.submit(inq("c0", queue="chat"), 0)
    r.tick(0)
    r.complete("c0", 30)  # recent work: 30 s, one inquiry
    r.submit(inq("c1", queue="chat"), 40)
    assert [type(e).__name__ for e in r.tick(40)][-1] == "Assigned"
    a = r._agents["a1"]
    a.heavy_streak = 2  # (no heavy queue here: the term's input set by hand)
    scorer = Scorer(r.config.routing, 4)
    pool, prof, _ = next(p for p in a.pools if p[0].channel == "chat")
    feats = scorer.features(a, pool, prof, 40.0)
    seen = 0
    for name in ("load", "recent_work", "recent_count", "heavy_streak"):
        weights = {"proficiency": 0.0, "idle_time": 0.0, "load": 0.0, name: 2.0}
        w = Coeffs(Weights(**weights))
        assert scorer.base_key(a, w, 1, 2) == -2.0 * feats[name], name
        seen += feats[name] != 0.0
    assert seen == 4  # every term is live in this state
