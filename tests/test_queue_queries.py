"""The core's per-queue queries answer for configured queues only: a name that is not one
(a typo, a queue removed by reconfigure) is an ``UnknownId``, not a made-up figure."""

from __future__ import annotations

import math

import pytest

import router
from router import AgentSpec, Inquiry, InvalidInput, QueueConfig, Router, RouterConfig, UnknownId


def _router() -> Router:
    return Router(RouterConfig(queues=[QueueConfig(name="refund"), QueueConfig(name="sales")]))


def _ask(router: Router, query: str, queue: object) -> object:
    args = (queue, 1) if query == "expected_wait" else (queue,)
    return getattr(router, query)(*args)


QUERIES = ["has_room", "queue_length", "queue_holds", "queue_holdings", "expected_wait"]


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_about_an_unknown_queue_raises_unknown_id(query: str) -> None:
    router = _router()
    with pytest.raises(UnknownId, match=r"^unknown queue 'refnud'; known: 'refund', 'sales'$"):
        _ask(router, query, "refnud")


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_about_a_removed_queue_raises_unknown_id(query: str) -> None:
    router = _router()
    router.submit(Inquiry(id="c1", queue="sales"), now=0.0)
    router.reconfigure(RouterConfig(queues=[QueueConfig(name="refund")]), now=1.0)
    with pytest.raises(UnknownId, match=r"^unknown queue 'sales'; known: 'refund'$"):
        _ask(router, query, "sales")


# A position of the wrong type is mypyc's TypeError in the compiled build (docs/compiled.md,
# "Arguments of the wrong type"), where the pure build names the field; a queue name of the
# wrong type is InvalidInput on both (the queries take an ``object`` there: fix47).
WRONG_TYPE: type[Exception] = TypeError if router.compiled else InvalidInput


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("queue", [None, 3, ""])
def test_a_query_with_no_queue_name_is_refused(query: str, queue: object) -> None:
    with pytest.raises(InvalidInput, match=r"^queue: must be a non-empty string, got "):
        _ask(_router(), query, queue)


@pytest.mark.parametrize(
    ("position", "error"),
    [
        (0, InvalidInput),
        (-1, InvalidInput),
        (1.0, WRONG_TYPE),
        (math.nan, WRONG_TYPE),
        ("1", WRONG_TYPE),
    ],
)
def test_expected_wait_needs_a_position_of_one_or_more(
    position: object, error: type[Exception]
) -> None:
    with pytest.raises(
        error, match=None if error is TypeError else r"^position: must be an integer >= 1, got "
    ):
        _router().expected_wait("refund", position)  # type: ignore[arg-type]


def test_expected_wait_without_a_position_is_the_next_arrivals() -> None:
    """user51/52: ``expected_wait(queue)`` (or ``position=None``) is the wait at the place an
    arrival at the queue's own priority would take now: behind everyone waiting at that
    priority or above (Python's own TypeError before)."""
    r = Router(RouterConfig(queues=[QueueConfig(name="refund"), QueueConfig(name="sales")]))
    r.login(AgentSpec(id="a1", skills={}, capacity={"voice": 1}), now=0.0)
    assert r.expected_wait("refund") == r.expected_wait("refund", 1)
    for n in range(1, 4):
        r.submit(Inquiry(id=f"c{n}", queue="refund"), now=1.0)
    r.submit(Inquiry(id="vip", queue="refund", priority=5), now=1.0)
    r.submit(Inquiry(id="low", queue="refund", priority=-5), now=1.0)
    r.tick(1.0)  # c1 offered (not waiting); c2, c3, vip and low wait
    waits = [r.expected_wait("refund", k) for k in range(1, 7)]
    assert len(set(waits)) == 6  # each place its own figure: the default picks one
    assert r.expected_wait("refund") == r.expected_wait("refund", None) == waits[3]  # behind 3
    assert r.expected_wait("sales") == r.expected_wait("sales", 1)


@pytest.mark.skipif(router.compiled, reason="compiled, a bool argument arrives as its int")
def test_expected_wait_refuses_a_bool_position() -> None:
    with pytest.raises(InvalidInput, match=r"^position: must be an integer >= 1, got True$"):
        _router().expected_wait("refund", True)


def test_the_queries_answer_for_a_configured_queue() -> None:
    router = _router()
    for k in range(3):
        router.submit(Inquiry(id=f"c{k}", queue="refund"), now=0.0)
    assert router.queue_length("refund") == 3
    assert router.queue_length("sales") == 0
    assert router.has_room("refund") is True
    assert router.expected_wait("refund", 1) >= 0.0


def _one_agent(channel: str, cap: int) -> Router:
    cfg = RouterConfig(queues=[QueueConfig(name="q", channel=channel)])
    r = Router(cfg, now=0.0)
    r.login(AgentSpec(id="a", capacity={channel: cap}), now=0.0)
    r.tick(0.0)
    return r


@pytest.mark.parametrize(
    ("channel", "cap", "told", "before_tick", "after_tick"),
    [
        # one voice agent: the free agent takes the first arrival, the others wait 180 s each
        ("voice", 1, [0.0, 180.0, 360.0, 540.0], 720.0, 720.0),
        # one chat agent of 20 slots: a slot is free for every arrival, and after the pass
        ("chat", 20, [0.0, 0.0, 0.0, 0.0], 0.0, 0.0),
    ],
)
def test_the_expected_wait_counts_the_slots_free_not_the_agents(
    channel: str, cap: int, told: list[float], before_tick: float, after_tick: float
) -> None:
    """user53: the admission's wait counted free agents (one agent of 20 chat slots was one
    place: four chats arriving together were told 0, 9, 18, 27 s) and ``expected_wait``
    counted neither (900 s for the fifth chat, 180 s with 16 slots free after the pass).
    Both count the room of the agents listed in the queue's pools now (per channel caps,
    less their load), a bounded look at the pool's heap; voice (one slot each) as before,
    but for the query, which now counts the free agent as the admission does."""
    r = _one_agent(channel, cap)
    got = [r.submit(Inquiry(id=f"i{i}", queue="q"), now=1.0).expected_wait_s for i in range(4)]
    assert got == told
    assert r.expected_wait("q") == before_tick  # the place a fifth would take, pass pending
    r.tick(1.0)
    assert r.expected_wait("q") == after_tick
    if channel == "chat":
        assert r.agent_of("i3") == "a"  # four held, sixteen slots left
        assert r.expected_wait("q", 16) == 0.0
        assert r.expected_wait("q", 17) == 9.0  # the 17th: the first past the free slots
        assert r.submit(Inquiry(id="i4", queue="q"), now=2.0).expected_wait_s == 0.0
    else:
        assert r.expected_wait("q", 3) == 540.0  # three wait, none free: as before


def test_the_expected_wait_counts_a_listed_agents_room_within_its_units() -> None:
    """An agent's room is its cap on the channel less its load, within its units (a chat
    costs 20 units by default: 40 units are two chats, whatever the cap says)."""
    cfg = RouterConfig(queues=[QueueConfig(name="q", channel="chat")])
    r = Router(cfg, now=0.0)
    r.login(AgentSpec(id="a", capacity={"chat": 20}, units=40), now=0.0)
    r.tick(0.0)
    told = [r.submit(Inquiry(id=f"i{i}", queue="q"), now=1.0).expected_wait_s for i in range(3)]
    assert told[:2] == [0.0, 0.0] and told[2] > 0.0


def test_an_agent_freed_since_the_pass_counts_its_room() -> None:
    """A chat agent that finished three chats since the last matching pass (not listed
    again yet) is three places for the arrivals before the pass, not one."""
    r = _one_agent("chat", 4)
    for i in range(4):
        r.submit(Inquiry(id=f"h{i}", queue="q"), now=1.0)
    r.tick(1.0)
    for i in range(4):
        r.accept(f"h{i}", now=1.0)
    r.tick(1.0)
    for i in range(3):
        r.complete(f"h{i}", now=2.0)
    told = [r.submit(Inquiry(id=f"i{i}", queue="q"), now=2.0).expected_wait_s for i in range(4)]
    assert told[:3] == [0.0, 0.0, 0.0] and told[3] > 0.0
