"""Directed tests from the mutation sweep of the runner, the admission control and
durable serving (BENCHMARKS: "Mutation sweep of durable serving, control, the runner
and the policies (mutB33)"). Each test names the behaviour a surviving mutant broke.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from router import (
    AgentSpec,
    Inquiry,
    QueueConfig,
    ResetStatistics,
    Router,
    RouterConfig,
    Routing,
    UnknownId,
    Withdraw,
    decode_config,
)
from router.adapters import RouterClosed, SubscriberOverflow, open_router
from router.adapters.testing import run_virtual
from router.config import Backpressure
from router.events import Overflowed, SurgeStarted
from tests.test_surge import CONFIG as SURGE_CONFIG
from tests.test_surge import flood as surge_flood
from tests.test_surge import make as surge_router
from tests.test_surge import start_surge


def _config() -> RouterConfig:
    return RouterConfig(queues=[QueueConfig(name="q")], routing=Routing(offer_timeout_s=30.0))


# ---------------------------------------------------------------------- the runner


def test_every_input_on_a_closed_router_raises_router_closed() -> None:
    """After the router closed, each input method of the handle and of a session raises
    ``RouterClosed`` and changes nothing (each one's ``_check_open``), and ``wait_assigned``
    raises it at once instead of waiting for a tick that never comes."""
    calls: list[tuple[str, Any]] = []

    async def main() -> Any:
        async with open_router(_config()) as r:
            r.submit_nowait(Inquiry(id="i1", queue="q"))
            handle = r
            session = r.agent(AgentSpec(id="a1"))
            await session.__aenter__()
            await asyncio.sleep(0)
            await session.__aexit__(None, None, None)
        before = handle.core.snapshot()
        calls.extend(
            [
                ("withdraw", lambda: handle.withdraw("i1")),
                ("callback_failed", lambda: handle.callback_failed("i1")),
                ("reset_statistics", handle.reset_statistics),
                ("handle", lambda: handle.handle(Withdraw(inquiry_id="i1"))),
                ("set_attributes", lambda: handle.set_attributes("a1", {})),
                ("reconfigure", lambda: handle.reconfigure(_config())),
                ("update_inquiry", lambda: handle.update_inquiry("i1", priority=3)),
                ("heartbeat", lambda: handle.heartbeat("a1")),
                ("go_on_break", session.go_on_break),
                ("set_ready", session.set_ready),
                ("callback_failed (session)", lambda: session.callback_failed("i1")),
            ]
        )
        for name, call in calls:
            with pytest.raises(RouterClosed):
                call()
                pytest.fail(f"{name} on a closed router")
        with pytest.raises(RouterClosed):
            await asyncio.wait_for(handle.wait_assigned("i1"), 60.0)
        with pytest.raises(RouterClosed):
            async with handle.subscribe():
                pass
        assert handle.core.snapshot() == before

    run_virtual(main())


def test_a_subscription_that_exits_is_no_longer_counted_or_fed() -> None:
    """Leaving a subscription's block detaches it: the statistics stop counting it and the
    router stops buffering events for it."""

    async def main() -> Any:
        async with open_router(_config()) as r:
            async with r.subscribe() as events:
                assert r.statistics().subscribers == 1
            assert r.statistics().subscribers == 0
            with pytest.raises(RouterClosed, match="the subscription is closed"):
                events.receive_nowait()
            r.submit_nowait(Inquiry(id="i1", queue="q"))
            await asyncio.sleep(1.0)
            assert events._buffer == type(events._buffer)()
            # one still open when the router closes is detached and ends too
            left_open = await r.subscribe().__aenter__()
            handle = r
        assert handle.statistics().subscribers == 0
        with pytest.raises(RouterClosed, match="the subscription is closed"):
            left_open.receive_nowait()
        with pytest.raises(StopAsyncIteration):
            await left_open.__anext__()

    run_virtual(main())


def test_a_held_producer_cancelled_as_its_inquiry_is_admitted_withdraws_it() -> None:
    """A ``block`` policy holds a producer; the matching pass admits its inquiry and wakes
    it, and the producer is cancelled before it runs again: the inquiry is withdrawn, so
    no one is offered a customer whose producer is gone (``submit``'s cancellation path)."""

    async def main() -> Any:
        cfg = RouterConfig(
            queues=[QueueConfig(name="q", max_queue=1)],
            routing=Routing(offer_timeout_s=30.0),
            backpressure=Backpressure(policy="block"),
        )
        async with open_router(cfg) as r:
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            producer = asyncio.ensure_future(r.submit(Inquiry(id="c2", queue="q")))
            await asyncio.sleep(1.0)
            assert r.statistics().blocked_submitters == 1
            r.withdraw("c1")
            # the pass, run here rather than by the runner task, so that nothing runs
            # between the admission and the cancel
            r._hub.tick()
            assert r.core.inquiry_state("c2") == "waiting"  # admitted, producer not resumed
            producer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await producer
            with pytest.raises(UnknownId):
                r.core.inquiry_state("c2")

    run_virtual(main())


def test_on_trio_every_await_of_the_handle_is_a_checkpoint() -> None:
    """trio's convention: an ``await`` is a cancel point and a schedule point even when its
    answer is at hand (``submit`` admitted at once, ``wait_assigned`` of a known outcome,
    a buffered offer or event); and one cancelled before it does nothing."""

    async def main() -> None:
        async with open_router(_config(), backend="trio") as r:
            with trio.CancelScope() as cs:
                cs.cancel()
                await r.submit(Inquiry(id="gone", queue="q"))
            assert cs.cancelled_caught
            with pytest.raises(UnknownId):
                r.core.inquiry_state("gone")
            async with r.subscribe() as events, r.agent(AgentSpec(id="a1")) as a1:
                with trio.testing.assert_checkpoints():
                    await r.submit(Inquiry(id="i1", queue="q"))
                await trio.sleep(1.0)  # the pass offers i1 to a1
                assert a1.pending == 1
                with trio.CancelScope() as cs:
                    cs.cancel()
                    await a1.__anext__()
                assert cs.cancelled_caught and a1.pending == 1  # the offer is still there
                with trio.testing.assert_checkpoints():
                    offer = await a1.__anext__()
                a1.accept(offer)
                await trio.sleep(1.0)
                with trio.CancelScope() as cs:
                    cs.cancel()
                    await r.wait_assigned("i1")
                assert cs.cancelled_caught
                with trio.testing.assert_checkpoints():
                    assigned = await r.wait_assigned("i1")
                assert assigned.inquiry_id == "i1"
                n = len(events._buffer)
                assert n > 0
                with trio.CancelScope() as cs:
                    cs.cancel()
                    await events.__anext__()
                assert cs.cancelled_caught and len(events._buffer) == n
                with trio.testing.assert_checkpoints():
                    await events.__anext__()
                assert len(events._buffer) == n - 1

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


@pytest.mark.parametrize("turned_on", ["at_open", "by_reconfigure"])
def test_a_keepalive_session_opened_later_is_kept_present(turned_on: str) -> None:
    """The keepalive task already waits (no keepalive session yet, or no presence timeout)
    when a keepalive session opens or a reconfigure sets the timeout: it must be woken, or
    the in-process agent is timed out as away."""

    def cfg(timeout: float | None) -> RouterConfig:
        return RouterConfig(
            queues=[QueueConfig(name="q")],
            routing=Routing(offer_timeout_s=30.0, presence_timeout_s=timeout),
        )

    async def main() -> Any:
        async with open_router(cfg(60.0 if turned_on == "at_open" else None)) as r:
            await asyncio.sleep(5.0)  # the keepalive task waits for a reason to beat
            async with r.agent(AgentSpec(id="local")):
                await asyncio.sleep(5.0)
                if turned_on == "by_reconfigure":
                    r.reconfigure(cfg(60.0))
                await asyncio.sleep(300.0)
                stats = r.statistics().router
                assert stats.counters.presence_timeouts == 0
                assert stats.agents_ready == 1

    run_virtual(main())


def test_a_session_whose_keepalive_is_turned_off_is_timed_out() -> None:
    async def main() -> Any:
        cfg = RouterConfig(
            queues=[QueueConfig(name="q")],
            routing=Routing(offer_timeout_s=30.0, presence_timeout_s=60.0),
        )
        async with open_router(cfg) as r, r.agent(AgentSpec(id="console")) as s:
            await asyncio.sleep(100.0)
            assert r.statistics().router.counters.presence_timeouts == 0
            s.keepalive = False  # now it stands for a remote console that sends its own
            assert not s.keepalive
            await asyncio.sleep(200.0)
            assert r.statistics().router.counters.presence_timeouts == 1

    run_virtual(main())


def test_every_input_wakes_the_runner_for_a_pass() -> None:
    """Each input method marks the handle dirty and wakes the runner (``_input_done``): the
    pass runs at once, not at the core's next deadline (none comes here for 30 s)."""

    async def main() -> Any:
        cfg = RouterConfig(
            queues=[QueueConfig(name="q"), QueueConfig(name="q2")],
            routing=Routing(offer_timeout_s=30.0),
            backpressure=Backpressure(policy="callback"),
        )
        async with open_router(cfg) as r:

            async def wakes(name: str, call: Any) -> None:
                ticks = r.statistics().ticks
                call()
                await asyncio.sleep(0.001)
                assert r.statistics().ticks > ticks, name

            assert r.submit_nowait(Inquiry(id="c1", queue="q")).outcome == "callback"
            assert r.submit_nowait(Inquiry(id="c2", queue="q")).outcome == "callback"
            async with r.agent(AgentSpec(id="a1")) as a1, r.agent(AgentSpec(id="a2")) as a2:
                o1 = await a1.__anext__()
                o2 = await a2.__anext__()
                await asyncio.sleep(1.0)
                await wakes("session callback_failed", lambda: a1.callback_failed(o1))
                await wakes("callback_failed", lambda: r.callback_failed(o2.inquiry_id))
                assert r.statistics().router.counters.callback_attempts_failed == 2
                await wakes("set_attributes", lambda: r.set_attributes("a1", {"x": 1}))
                await wakes("go_on_break", a1.go_on_break)
                await wakes("set_ready", a1.set_ready)
                await wakes("heartbeat", lambda: r.heartbeat("a1"))
                await wakes("update_agent", lambda: r.update_agent(AgentSpec(id="a2")))
                await wakes("reset_statistics", r.reset_statistics)
                await wakes("handle", lambda: r.handle(ResetStatistics()))
                await wakes("reconfigure", lambda: r.reconfigure(cfg))
                r.submit_nowait(Inquiry(id="c3", queue="q"))
                await asyncio.sleep(1.0)
                await wakes("update_inquiry", lambda: r.update_inquiry("c3", priority=2))
                await wakes("transfer", lambda: r.transfer("c3", "q2"))
                await wakes("withdraw", lambda: r.withdraw("c3"))

    run_virtual(main())


def test_a_subscriber_already_holding_events_overflows_at_maxlen() -> None:
    """The room left is ``maxlen`` less what the subscriber already holds: events pushed
    over several passes fill it up to ``maxlen`` exactly, then it is disconnected."""

    async def main() -> Any:
        async with open_router(_config()) as r, r.subscribe(maxlen=2) as events:
            for i in range(3):  # one Queued event per pass
                r.submit_nowait(Inquiry(id=f"i{i}", queue="q"))
                await asyncio.sleep(1.0)
            assert len(events._buffer) == 2 and events.dropped == 1
            assert r.statistics().subscribers == 0
            got = [await events.__anext__(), await events.__anext__()]
            assert [e.inquiry_id for e in got] == ["i0", "i1"]
            with pytest.raises(SubscriberOverflow):
                await events.__anext__()

    run_virtual(main())


# ---------------------------------------------------------------------- the admission control


def test_an_arrival_in_surge_with_relaxed_steps_starts_at_its_queues_last_step() -> None:
    """``relax_steps`` in surge: not only the inquiries waiting when it starts, an arrival
    during the surge too takes its queue's last relaxation step (no skill needed) and is
    offered to an agent without the skill at once."""
    r = surge_router(enter_after=0)
    r.login(AgentSpec(id="c", capacity={"voice": 1, "chat": 1}), 0)
    start_surge(r, 1)
    r.submit(Inquiry(id="y", queue="expert"), 2)  # needs gold 3 outside surge
    r.tick(2)
    assert r.agent_of("y") == "c"


def test_the_priority_reserve_admits_only_arrivals_above_the_lowest_priority_waiting() -> None:
    """``priority_reserve``: the router's last places are kept for an arrival of a higher
    priority than some inquiry waiting in any queue (``lower_priority_held``)."""
    cfg = decode_config(
        b"""
[[queues]]
name = "a"
[[queues]]
name = "b"
[backpressure]
policy = "reject_when_full"
max_queue = 4
priority_reserve = 0.5
"""
    )
    r = Router(cfg)
    for i in range(2):
        assert r.submit(Inquiry(id=f"w{i}", queue="a", priority=2), 0).outcome == "admitted"
    # two of four places held: the last two are kept
    same = r.submit(Inquiry(id="same", queue="b", priority=2), 0)
    assert (same.outcome, same.reason) == (
        "rejected",
        "router_full: 2 waiting, the last 2 places kept for arrivals above the lowest "
        "priority waiting",
    )
    assert r.submit(Inquiry(id="low", queue="b", priority=1), 0).outcome == "rejected"
    assert r.submit(Inquiry(id="high", queue="b", priority=3), 0).outcome == "admitted"
    r.withdraw("w0", 0)
    r.withdraw("w1", 0)
    assert r.submit(Inquiry(id="x", queue="b", priority=3), 0).outcome == "admitted"
    # a holds none now, b two of priority 3: only what b holds is lower
    assert r.submit(Inquiry(id="y", queue="a", priority=3), 0).outcome == "rejected"
    assert r.submit(Inquiry(id="z", queue="a", priority=4), 0).outcome == "admitted"


SHED = b"""
[routing]
offer_timeout_s = 60
[[queues]]
name = "low"
requires = { low = 1 }
[[queues]]
name = "high"
requires = { high = 1 }
[backpressure]
policy = "shed_lowest_priority"
max_queue = %d
"""


def test_a_reprioritized_inquiry_is_shed_at_its_new_priority() -> None:
    """``shed_lowest_priority`` finds the victim by its current priority: an inquiry lowered
    in line is re-indexed (``AdmissionControl.changed``) and is the one shed."""
    r = Router(decode_config(SHED % 2))
    r.submit(Inquiry(id="a", queue="high", priority=1), 0)
    r.submit(Inquiry(id="b", queue="high", priority=5), 0)
    r.update_inquiry("b", 1, priority=0)
    adm = r.submit(Inquiry(id="c", queue="high", priority=3), 2)
    assert adm.outcome == "admitted"
    assert r.inquiry_state("a") == "waiting"
    with pytest.raises(UnknownId):
        r.inquiry_state("b")


def test_an_offered_inquiry_passed_over_for_shedding_stays_sheddable() -> None:
    """The victim search sets an offered inquiry aside (it is not waiting); once it is back
    in line (declined) it is the lowest priority waiting again and is shed."""
    cfg = decode_config(SHED % 1)  # (forever: x alone, its decline would end o's round)
    cfg = msgspec.structs.replace(
        cfg, routing=msgspec.structs.replace(cfg.routing, decline_memory="forever")
    )
    r = Router(cfg)
    r.login(AgentSpec(id="x", skills={"low": 1}), 0)
    r.submit(Inquiry(id="o", queue="low", priority=1), 0)
    r.tick(0)
    assert r.agent_of("o") == "x"
    r.submit(Inquiry(id="w", queue="high", priority=2), 1)  # the one place
    assert r.submit(Inquiry(id="c", queue="high", priority=5), 2).outcome == "admitted"
    with pytest.raises(UnknownId):
        r.inquiry_state("w")  # shed; "o", on offer, passed over
    r.decline("o", 3, "x")
    r.tick(3)
    assert r.inquiry_state("o") == "waiting"
    assert r.submit(Inquiry(id="d", queue="high", priority=5), 4).outcome == "admitted"
    with pytest.raises(UnknownId):
        r.inquiry_state("o")


@pytest.mark.parametrize("bound", ["router", "queue"])
def test_a_restored_router_sheds_the_same_victim(bound: str) -> None:
    """The shedding index (router-wide and per queue) comes back with a snapshot: the
    restored router sheds the inquiry the original would."""
    cfg = (
        SHED % 2
        if bound == "router"
        else (SHED % 100).replace(b'name = "high"\n', b'name = "high"\nmax_queue = 2\n')
    )
    r = Router(decode_config(cfg))
    r.submit(Inquiry(id="a", queue="high", priority=1), 0)
    r.submit(Inquiry(id="b", queue="high", priority=2), 0)
    if bound == "queue":  # the router-wide count is not the bound here
        r.submit(Inquiry(id="keep", queue="low", priority=0), 0)
    for router in (r, Router.restore(r.snapshot())):
        assert router.submit(Inquiry(id="c", queue="high", priority=5), 1).outcome == "admitted"
        with pytest.raises(UnknownId):
            router.inquiry_state("a")
        assert router.inquiry_state("b") == "waiting"


def test_a_router_restored_in_surge_is_still_in_surge() -> None:
    r = surge_router(enter_after=0)
    r.login(AgentSpec(id="c", capacity={"voice": 1, "chat": 1}), 0)
    start_surge(r, 1)
    r2 = Router.restore(r.snapshot())
    r2.submit(Inquiry(id="y", queue="expert"), 2)  # relaxed at once: surge goes on
    r2.tick(2)
    assert r2.agent_of("y") == "c"


def test_a_restored_router_enters_surge_when_the_crossing_begun_before_has_lasted() -> None:
    """The surge detector's state (when the current crossing began) comes back with a
    snapshot: the restored router enters surge at the same instant as the original."""
    r = surge_router(enter_after=10)
    surge_flood(r, 5, 0)
    r.tick(0)  # over the threshold from 0: surge at 10
    for router in (r, Router.restore(r.snapshot())):
        assert not [e for e in router.tick(9) if isinstance(e, SurgeStarted)]
        assert [e.at for e in router.tick(10) if isinstance(e, SurgeStarted)] == [10]


def test_an_overflow_at_arrival_is_counted_and_announced() -> None:
    r = Router(
        decode_config(
            b"""
[[queues]]
name = "main"
[[queues]]
name = "second"
[backpressure]
policy = "overflow"
[backpressure.overflow.queues.main]
to = "second"
max_queue = 1
"""
        )
    )
    assert r.submit(Inquiry(id="a", queue="main"), 0).queue == "main"
    adm = r.submit(Inquiry(id="b", queue="main"), 0)
    assert (adm.outcome, adm.queue) == ("admitted", "second")
    moved = [e for e in r.tick(0) if isinstance(e, Overflowed)]
    assert [(e.inquiry_id, e.from_queue, e.to_queue) for e in moved] == [("b", "main", "second")]
    assert r.statistics().counters.overflowed == 1


def test_surge_without_relax_steps_keeps_an_arrivals_first_step() -> None:
    r = Router(
        decode_config(
            SURGE_CONFIG.format(enter_after=0).replace("relax_steps = true", "relax_steps = false")
        )
    )
    r.login(AgentSpec(id="c", capacity={"voice": 1, "chat": 1}), 0)
    start_surge(r, 1)
    r.submit(Inquiry(id="y", queue="expert"), 2)  # needs gold 3 until its step at 600 s
    r.tick(2)
    assert r.agent_of("y") is None
    r.tick(602)
    assert r.agent_of("y") == "c"
