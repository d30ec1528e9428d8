"""The agents freed since the last matching pass (``Router._freed``) are a list, each agent
in it once by its ``Agent.freed`` mark: set when it is added, cleared when a pass takes it
or when it leaves the list (a break, a logout). A mark left set keeps the agent out of every
later pass, so it never pulls waiting work again; these tests free the same agents over and
over, on the one-agent pass, the batched pass, a break before any pass, and a restore.
"""

from __future__ import annotations

from router import AgentSpec, Inquiry, Router
from router.state import codec
from tests.helpers import agent, basic, brief, inq


def _assigned(events: list[object]) -> list[tuple[object, ...]]:
    return [e for e in brief(events) if e[0] == "Assigned"]  # type: ignore[arg-type]


def test_one_agent_freed_pass_after_pass_pulls_the_waiting_work_each_time() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)
    r.tick(0)  # the pass takes a1 (alone: the one-agent path) and clears its mark
    for i in range(4):
        r.submit(inq(f"i{i}"), 1.0)
    assert _assigned(r.tick(1.0)) == [("Assigned", "i0", "a1")]
    for i in range(1, 4):  # each release frees a1 again: one agent, one pass
        now = 10.0 * i
        r.complete(f"i{i - 1}", now)
        assert _assigned(r.tick(now)) == [("Assigned", f"i{i}", "a1")]
    assert r.statistics().waiting == 0


def test_agents_freed_together_pull_the_waiting_work_each_time() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)
    r.login(agent("a2"), 0)
    r.tick(0)  # a batched pass takes both and clears both marks
    for i in range(6):
        r.submit(inq(f"i{i}"), 1.0)
    assert sorted(_assigned(r.tick(1.0))) == [("Assigned", "i0", "a1"), ("Assigned", "i1", "a2")]
    for k in range(2):  # both released at once, twice: a batch of two each time
        now = 10.0 * (k + 1)
        a, b = 2 * k, 2 * k + 1
        r.complete(f"i{a}", now)
        r.complete(f"i{b}", now)
        got = _assigned(r.tick(now))
        assert sorted(e[1] for e in got) == [f"i{a + 2}", f"i{b + 2}"], got
        assert sorted(e[2] for e in got) == ["a1", "a2"], got
    assert r.statistics().waiting == 0


def test_an_agent_on_a_break_before_any_pass_is_freed_again_when_back() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)  # freed, no pass yet
    r.go_on_break("a1", 0)  # out of the freed agents (and unmarked) before a pass
    r.submit(inq("i1"), 1)
    assert _assigned(r.tick(1)) == []
    r.set_ready("a1", 2)  # freed again: the pass lets it pull i1
    assert _assigned(r.tick(2)) == [("Assigned", "i1", "a1")]
    r.complete("i1", 3)
    r.go_on_break("a1", 3)  # freed by the release, then out again before the pass
    r.submit(inq("i2"), 4)
    r.tick(4)
    r.set_ready("a1", 5)
    assert _assigned(r.tick(5)) == [("Assigned", "i2", "a1")]


def _freed(r: Router) -> list[str]:
    return codec.decode(r.snapshot()).freed


def test_a_restored_router_holds_each_freed_agent_once_as_the_original() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)
    r.login(agent("a2"), 0)  # both freed, no pass yet
    assert _freed(r) == ["a1", "a2"]
    back = Router.restore(r.snapshot())
    for x in (r, back):  # a1 out and back in: last in line, once
        x.go_on_break("a1", 1)
        x.set_ready("a1", 1)
        x.set_ready("a2", 1)  # (already freed: stays where it is)
    assert _freed(r) == _freed(back) == ["a2", "a1"]
    for x in (r, back):
        x.submit(inq("i1"), 2)
        x.tick(2)
    assert _freed(r) == _freed(back) == []
    assert r.agent_of("i1") == back.agent_of("i1") is not None


def test_an_agent_logged_out_before_any_pass_leaves_the_freed_agents() -> None:
    # a logout takes the agent out of the freed at once (``_stop_new_work``; the second
    # ``_unfree`` in ``_remove_agent`` guards the same, so dropping it alone changes nothing:
    # mutV53's open mutant, equivalent on every path today), in the snapshot too
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)
    r.login(agent("a2"), 0)  # both freed, no pass yet
    r.logout("a1", 1)
    assert _freed(r) == ["a2"]
    back = Router.restore(r.snapshot())
    assert _freed(back) == ["a2"]
    r.login(agent("a1"), 2)  # back in: freed once, last in line
    assert _freed(r) == ["a2", "a1"]


def test_an_agent_whose_cooldown_ends_at_an_input_is_freed_once_and_unfreed_by_a_break() -> None:
    # the cooldown's end fires at the input's clock (before any pass): the agent is freed
    # (``_relist_changed``) and marked, so the break of the same input takes it out again;
    # unmarked, it stayed among the freed while on its break (mutV53's open mutant)
    from tests.test_wellbeing import COOLDOWN, _router

    r = _router(COOLDOWN.replace("FROM", "all"), AgentSpec(id="a"))
    r.submit(Inquiry(id="c1", queue="complaints"), 0)
    r.tick(0)
    r.complete("c1", 700)  # 700 s of heavy work: 300 s off from 700
    r.tick(700)
    assert _freed(r) == []
    r.go_on_break("a", 1000)  # the cooldown ends at this input's clock, then the break
    assert _freed(r) == []
    r.set_ready("a", 1001)
    assert _freed(r) == ["a"]
    r.submit(Inquiry(id="o1", queue="orders"), 1002)
    assert _assigned(r.tick(1002)) == [("Assigned", "o1", "a")]
