"""Distribution modes per queue: each a heap key, chosen without a scan; random is seeded."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router, encode_events
from router.state.distribution import Draws
from tests.helpers import config


def router(mode: str, channel: str = "voice", **routing: Any) -> Router:
    return Router(
        config(
            f"""
[routing]
mode = "immediate"
trace = true
[[queues]]
name = "q"
channel = "{channel}"
requires = {{ x = 1 }}
distribution = "{mode}"
""",
            **routing,
        )
    )


def login(r: Router, aid: str, now: float, level: int = 3, chat: int = 0) -> None:
    cap = {"chat": chat} if chat else {"voice": 1}
    r.login(AgentSpec(id=aid, skills={"x": level}, capacity=cap), now)


def assign(r: Router, iid: str, now: float) -> Any:
    r.submit(Inquiry(id=iid, queue="q"), now)
    found = [e for e in r.tick(now) if type(e).__name__ == "Assigned"]
    assert len(found) == 1, found
    return found[0]


def test_longest_idle_takes_the_agent_free_the_longest() -> None:
    r = router("longest_idle")
    login(r, "a", 0, level=5)
    login(r, "b", 0, level=1)
    r.tick(0)
    assert assign(r, "c1", 1).agent_id == "a"  # a tie: listed first
    r.complete("c1", 2)  # a is free again since 2; b since 0
    r.tick(2)
    e = assign(r, "c2", 3)
    assert e.agent_id == "b"
    assert e.explanation.distribution == "longest_idle"
    assert e.explanation.chosen.features == {"idle_s": 3.0}
    assert e.explanation.runner_up.features == {"idle_s": 1.0}


def test_least_occupied_spreads_concurrent_work() -> None:
    r = router("least_occupied", channel="chat")
    for aid in ("a", "b", "c"):
        login(r, aid, 0, chat=4)
    r.tick(0)
    got = [assign(r, f"c{i}", 1 + i).agent_id for i in range(6)]
    assert sorted(Counter(got).values()) == [2, 2, 2]
    r.complete("c0", 10)
    r.tick(10)
    owner = got[0]
    assert assign(r, "c6", 11).agent_id == owner  # the one now holding the least


def test_best_skill_ignores_idle_time() -> None:
    r = router("best_skill")
    login(r, "novice", 0, level=1)
    login(r, "middle", 20, level=3)
    login(r, "expert", 50, level=5)
    r.tick(50)
    e = assign(r, "c1", 100)
    assert e.agent_id == "expert"
    assert e.explanation.chosen.features == {"proficiency": 1.0}
    assert assign(r, "c2", 101).agent_id == "middle"


def test_round_robin_takes_turns_per_queue() -> None:
    r = router("round_robin", channel="chat")
    for aid in ("a", "b", "c"):
        login(r, aid, 0, chat=10)
    r.tick(0)
    got = [assign(r, f"c{i}", 1 + i).agent_id for i in range(9)]
    assert got == ["a", "b", "c"] * 3
    login(r, "d", 20, chat=10)  # a newcomer has had no turn: it goes next
    r.tick(20)
    assert [assign(r, f"n{i}", 21 + i).agent_id for i in range(4)] == ["d", "a", "b", "c"]


def _random_picks(seed: int, n: int) -> list[str]:
    r = router("random", channel="chat", seed=seed)
    for aid in ("a", "b", "c", "d"):
        login(r, aid, 0, chat=30)
    r.tick(0)
    out = []
    for i in range(n):
        e = assign(r, f"c{i}", 1 + i)
        out.append(e.agent_id)
        r.complete(e.inquiry_id, 1 + i)
    return out


def test_random_is_uniform_seeded_and_deterministic() -> None:
    picks = _random_picks(7, 800)
    counts = Counter(picks)
    # uniform over 4 agents: 200 each; 4.5 standard deviations (~12.2) either side
    assert all(145 <= counts[a] <= 255 for a in "abcd"), counts
    # not a rotation: the same agent twice in a row about a quarter of the time
    repeats = sum(1 for x, y in itertools.pairwise(picks) if x == y)
    assert 140 <= repeats <= 260, repeats
    assert _random_picks(7, 100) == picks[:100]
    assert _random_picks(8, 100) != picks[:100]


def test_draws_are_uniform_and_exponential() -> None:
    d = Draws(3)
    us = [d.uniform() for _ in range(20000)]
    assert all(0.0 <= u < 1.0 for u in us)
    assert abs(sum(us) / len(us) - 0.5) < 0.01
    es = [Draws(4, k).exp() for k in range(20000)]
    assert abs(sum(es) / len(es) - 1.0) < 0.03
    again = Draws(3)
    assert [again.uniform() for _ in range(5)] == us[:5]


@pytest.mark.parametrize(
    "mode", ["scored", "longest_idle", "least_occupied", "round_robin", "best_skill", "random"]
)
def test_every_mode_survives_a_snapshot(mode: str) -> None:
    def run(r: Router, start: int, stop: int) -> list[bytes]:
        out = []
        for i in range(start, stop):
            now = float(i)
            r.submit(Inquiry(id=f"c{i}", queue="q"), now)
            events = r.tick(now)
            out.append(encode_events(events))
            for e in events:
                if type(e).__name__ == "Assigned" and i % 3:
                    r.complete(e.inquiry_id, now)
        return out

    r = router(mode, channel="chat", seed=5)
    for k in range(6):
        login(r, f"a{k}", 0, level=1 + k % 5, chat=2 + k)
    r.tick(0)
    run(r, 1, 30)
    snap = r.snapshot()
    restored = Router.restore(snap)
    assert restored.snapshot() == snap
    assert run(restored, 30, 60) == run(r, 30, 60)


def test_reconfigure_switches_the_mode_for_the_next_decision() -> None:
    r = router("best_skill")
    login(r, "novice", 0, level=1)
    login(r, "expert", 10, level=5)
    r.tick(10)
    cfg = r.config
    q = msgspec.structs.replace(cfg.queues[0], distribution="longest_idle")
    r.reconfigure(msgspec.structs.replace(cfg, queues=[q]), 11)
    r.tick(11)
    assert assign(r, "c1", 12).agent_id == "novice"


def test_a_random_pool_made_after_a_restore_draws_as_the_live_one() -> None:
    """An agent update that adds a skill appends the agent to that skill's index, while a
    restore rebuilds the index in login order: a pool made afterwards must draw its agents'
    keys in one order either way (login order), or the restored router rings another agent."""
    picks = []
    for restore in (False, True):
        r = router("random", channel="chat", seed=11)
        r.login(AgentSpec(id="other", skills={"z": 1}, capacity={"chat": 5}), 0)
        r.login(AgentSpec(id="late", skills={"z": 1}, capacity={"chat": 5}), 0)
        for aid in ("b", "c", "d", "e"):
            login(r, aid, 0, chat=5)
        r.update_agent(AgentSpec(id="late", skills={"x": 3, "z": 1}, capacity={"chat": 5}), 1)
        r.tick(1)
        if restore:
            r = Router.restore(r.snapshot())
        picks.append([assign(r, f"c{i}", 2 + i).agent_id for i in range(8)])
    assert picks[0] == picks[1]
    assert "late" in picks[0]  # the updated agent is in the draw
