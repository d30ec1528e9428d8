"""Agents with the same capacity share one dict of capacity shares (``Realtime.shares``).

An agent's ``AgentTally.shares`` (the part of the agent one inquiry holds, per channel) is
read on every release and never changed in place, so the real-time counts keep one dict per
distinct (capacity, units) and hand it to every agent with those values: at 10,000 agents,
the completing agent's own dict was a trip to memory (BENCHMARKS.md, lc37). The table is
forgotten when the channels' unit costs change (the shares of agents with units follow
them), and a restored router shares again.
"""

from __future__ import annotations

from router import AgentSpec, Inquiry, Router
from router.config import Channel, QueueConfig, RouterConfig
from router.state.loads import channel_no
from router.state.realtime import MAX_SHARED_SHARES
from router.state.tallies import capacity_shares


def _config(chat_cost: int = 20) -> RouterConfig:
    return RouterConfig(
        queues=[QueueConfig(name="c", channel="chat", requires={"s": 1})],
        channels={"chat": Channel(max_concurrency=30, unit_cost=chat_cost)},
    )


def _spec(aid: str, capacity: dict[str, int], units: int | None = None) -> AgentSpec:
    return AgentSpec(id=aid, skills={"s": 1}, capacity=capacity, units=units)


def _expected(r: Router, aid: str) -> dict[str, float]:
    a = r._agents[aid]
    return capacity_shares(dict(a.spec.capacity), a.units, r._live.unit_costs)


def _check(r: Router) -> None:
    """Every agent's shares are its own values, and equal values are one dict."""
    by_value: dict[tuple[tuple[str, float], ...], int] = {}
    for aid, a in r._agents.items():
        shares = a.tally.shares
        assert shares == _expected(r, aid)
        assert list(shares) == list(a.spec.capacity)  # the spec's channel order, as before
        first = by_value.setdefault(tuple(shares.items()), id(shares))
        assert first == id(shares), aid
        # the same shares by channel number (what a release reads), 0.0 for any other
        sharen = a.tally.sharen
        assert {channel_no(ch): v for ch, v in shares.items()} == {
            n: v for n, v in enumerate(sharen) if n in {channel_no(ch) for ch in shares}
        }, aid
        assert all(
            v == 0.0 for n, v in enumerate(sharen) if n not in {channel_no(ch) for ch in shares}
        ), aid


def test_agents_with_the_same_capacity_share_one_dict_of_shares() -> None:
    r = Router(_config())
    r.login(_spec("a", {"chat": 4}), 0.0)
    r.login(_spec("b", {"chat": 4}), 0.0)
    r.login(_spec("v", {"voice": 1, "chat": 4}), 0.0)
    r.login(_spec("u", {"chat": 4}, units=100), 0.0)
    a, b, v, u = (r._agents[i].tally.shares for i in "abvu")
    assert a == {"chat": 0.25} and a is b
    assert v == {"voice": 0.5, "chat": 0.125} and v is not a
    assert u == {"chat": 0.2} and u is not a  # units: the channel's cost / units
    _check(r)
    # a changed spec takes the shared dict of its new values, and leaves the others' alone
    r.update_agent(_spec("b", {"chat": 2}), 1.0)
    assert r._agents["b"].tally.shares == {"chat": 0.5} and a == {"chat": 0.25}
    r.update_agent(_spec("b", {"chat": 4}), 2.0)
    assert r._agents["b"].tally.shares is r._agents["a"].tally.shares
    # the busy time a release books reads the shared dict: 1 s of one chat in 4 per agent
    for k in range(2):
        r.submit(Inquiry(id=f"i{k}", queue="c"), 3.0)
    offered = [e.inquiry_id for e in r.tick(3.0) if type(e).__name__ == "Offered"]
    assert len(offered) == 2
    for iid in offered:
        r.accept(iid, 3.0)
    for iid in offered:
        r.complete(iid, 4.0)
    r.tick(4.0)
    busy = {aid: r._agents[aid].tally.busy_s for aid in "abvu"}
    assert sum(busy.values()) > 0
    for aid, s in busy.items():
        n = r._agents[aid].tally.handled
        assert s == n * 1.0 * _expected(r, aid)["chat"], aid
    _check(r)


def test_new_unit_costs_forget_the_table_and_a_restore_shares_again() -> None:
    r = Router(_config(chat_cost=20))
    r.login(_spec("u1", {"chat": 4}, units=100), 0.0)
    assert r._agents["u1"].tally.shares == {"chat": 0.2}
    r.reconfigure(_config(chat_cost=50), 1.0)
    # a login after the change gets the new cost's shares, not the table's old dict
    r.login(_spec("u2", {"chat": 4}, units=100), 2.0)
    assert r._agents["u2"].tally.shares == {"chat": 0.5}
    r.login(_spec("u3", {"chat": 4}, units=100), 2.0)
    assert r._agents["u3"].tally.shares is r._agents["u2"].tally.shares
    r.login(_spec("a", {"chat": 4}), 2.0)
    r.login(_spec("b", {"chat": 4}), 2.0)
    back = Router.restore(r.snapshot())
    assert back.snapshot() == r.snapshot()
    _check(back)
    assert back._agents["a"].tally.shares is back._agents["b"].tally.shares
    assert back._agents["u1"].tally.shares is back._agents["u2"].tally.shares
    assert back._agents["u1"].tally.shares == {"chat": 0.5}


def test_the_table_starts_again_when_full() -> None:
    r = Router(_config())
    live = r._live
    for n in range(1, MAX_SHARED_SHARES + 1):
        live.shares_for({"chat": 1}, n)
    assert len(live.shares) == MAX_SHARED_SHARES
    first = live.shares_for({"chat": 4}, None)  # one more: the table starts again
    assert len(live.shares) == 1 and first == {"chat": 0.25}
    assert live.shares_for({"chat": 4}, None) is first


def test_a_release_on_a_channel_the_agent_no_longer_has_books_no_busy_time() -> None:
    """Work held on a channel the agent's new capacity dropped: its release books nothing
    (no share there), past the end of the shares by number too, and raises nothing."""
    late = "late_channel_of_test_shared_shares"  # numbered now: past every other channel
    r = Router(
        RouterConfig(
            queues=[
                QueueConfig(name="c", channel="chat", requires={"s": 1}),
                QueueConfig(name="z", channel=late, requires={"s": 1}),
            ],
            channels={"chat": Channel(max_concurrency=30), late: Channel(max_concurrency=30)},
        )
    )
    r.login(_spec("a", {late: 2}), 0.0)
    r.submit(Inquiry(id="i1", queue="z"), 0.0)
    r.tick(0.0)
    r.accept("i1", 0.0)
    r.update_agent(_spec("a", {"chat": 2}), 1.0)  # the late channel dropped, its work held
    tally = r._agents["a"].tally
    assert len(tally.sharen) <= channel_no(late)
    _check(r)
    booked = tally.busy_s  # (the respec booked the hold until then at the old share)
    r.complete("i1", 2.0)
    r.tick(2.0)
    assert tally.busy_s == booked and tally.handled == 1
