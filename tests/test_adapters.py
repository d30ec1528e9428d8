"""The adapter suite, run on trio, asyncio and asyncio+uvloop.

trio runs on ``MockClock(autojump_threshold=0)`` and asyncio on
``router.adapters.testing.VirtualTimeLoop``: time only passes when every task
waits, so times are exact. uvloop cannot be virtualised: it runs in real time
with every duration scaled down (``env.s``) and no assertion on times.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
import uvloop

import router
from router import (
    Admission,
    AgentSpec,
    Assigned,
    ConfigError,
    Decline,
    GoOnBreak,
    Inquiry,
    InvalidInput,
    InvalidState,
    Offered,
    QueueConfig,
    Reconfigure,
    ResetStatistics,
    RouterBroken,
    RouterConfig,
    Routing,
    Submit,
    UnknownId,
    Withdraw,
    WouldBlock,
)
from router.adapters import (
    AgentSession,
    InquiryEnded,
    RouterClosed,
    RouterHandle,
    SubscriberOverflow,
    open_router,
)
from router.adapters.testing import VirtualTimeLoop, run_virtual
from router.config import Backpressure

BACKENDS = ["trio", "asyncio", "uvloop"]


class Env:
    """One backend: how to run a scenario, sleep, time out and scale durations."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.virtual = name != "uvloop"
        self.scale = 1.0 if self.virtual else 0.01

    def s(self, seconds: float) -> float:
        """A duration in this backend's time (scaled down in real time)."""
        return seconds * self.scale

    def run(self, scenario: Callable[[Env], Awaitable[Any]]) -> Any:
        if self.name == "trio":

            async def main() -> Any:
                with trio.fail_after(36_000):
                    return await scenario(self)

            return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

        async def amain() -> Any:
            async with asyncio.timeout(36_000 if self.virtual else 30):
                return await scenario(self)

        if self.virtual:
            return run_virtual(amain())
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(amain())

    def now(self) -> float:
        if self.name == "trio":
            return trio.current_time()
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        if self.name == "trio":
            await trio.sleep(seconds)
        else:
            await asyncio.sleep(seconds)

    async def sleep_until(self, when: float) -> None:
        await self.sleep(max(0.0, when - self.now()))

    async def within(self, seconds: float, fn: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
        """Run ``fn()`` cancelled by the loop's own timeout: (finished, result)."""
        if self.name == "trio":
            with trio.move_on_after(seconds) as scope:
                return True, await fn()
            assert scope.cancelled_caught
            return False, None
        try:
            async with asyncio.timeout(seconds):
                return True, await fn()
        except TimeoutError:
            return False, None

    async def next(self, session: AgentSession) -> Offered | Assigned:
        """The session's next offer, or fail after a long wait."""
        done, offer = await self.within(self.s(1000), session.__anext__)
        assert done, "no offer came"
        return offer  # type: ignore[no-any-return]

    def spawn_group(self) -> Any:
        if self.name == "trio":
            return trio.open_nursery()
        return asyncio.TaskGroup()

    def start(self, group: Any, fn: Callable[[], Awaitable[Any]]) -> None:
        if self.name == "trio":
            group.start_soon(fn)
        else:
            group.create_task(fn())


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest) -> Env:
    return Env(request.param)


def config(env: Env, **routing: Any) -> RouterConfig:
    routing.setdefault("offer_timeout_s", env.s(30))
    return RouterConfig(queues=[QueueConfig(name="q")], routing=Routing(**routing))


def drain(events: Any) -> list[Any]:
    out = []
    while True:
        try:
            out.append(events.receive_nowait())
        except WouldBlock:
            return out


def of(inquiry_id: str, events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events if getattr(e, "inquiry_id", None) == inquiry_id]


# ---------------------------------------------------------------- the basic flow


def test_submit_offer_accept_complete(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            assert r.backend == ("trio" if env.name == "trio" else "asyncio")
            async with r.agent(AgentSpec(id="a1")) as a1:
                adm = await r.submit(Inquiry(id="c1", queue="q"))
                assert (adm.outcome, adm.position, adm.queue) == ("admitted", 1, "q")
                offer = await env.next(a1)
                assert isinstance(offer, Offered)
                assert (offer.inquiry_id, offer.agent_id) == ("c1", "a1")
                a1.accept(offer)
                assigned = await r.wait_assigned("c1")
                assert (assigned.inquiry_id, assigned.agent_id) == ("c1", "a1")
                a1.complete("c1")
                await env.sleep(env.s(1))
                # the outcome stays known after completion
                assert await r.wait_assigned("c1") == assigned
            stats = r.statistics()
            c = stats.router.counters
            assert (c.submitted, c.offers, c.assigned, c.completed) == (1, 1, 1, 1)
            assert stats.sessions == 0 and stats.router.agents_logged_in == 0

    env.run(scenario)


def test_wait_assigned_unknown_id(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            with pytest.raises(UnknownId, match=r"^unknown inquiry 'nope' \(never submitted"):
                await r.wait_assigned("nope")
            # an id that is no str at all: InvalidInput naming it, on both builds (the
            # pure build said UnknownId, the compiled one mypyc's TypeError); no waiter left
            for bad in (None, 7, b"nope", ["nope"]):
                with pytest.raises(InvalidInput, match=r"^inquiry_id: must be a non-empty str"):
                    await r.wait_assigned(bad)  # type: ignore[arg-type]
            assert not r._hub.waiters

    env.run(scenario)


def test_immediate_mode_sessions_yield_assigned(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env, mode="immediate"), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            work = await env.next(a1)
            assert isinstance(work, Assigned) and work.agent_id == "a1"
            with pytest.raises(InvalidState, match=r"^inquiry 'c1' is assigned, not offered$"):
                a1.accept(work)
            a1.complete(work.inquiry_id)

    env.run(scenario)


# ---------------------------------------------------------------- deadlines


def test_offer_expiry_requeues_to_another_agent(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env, decline_memory="forever"), backend=env.name) as r,
            r.subscribe(maxlen=100) as events,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            offer = await env.next(a1)
            assert isinstance(offer, Offered)
            if env.virtual:
                assert (offer.at, offer.expires_at) == (0.0, 30.0)
            await env.sleep_until(offer.expires_at + env.s(10))
            with pytest.raises(InvalidState, match=r"^inquiry 'c1' is waiting, not offered$"):
                a1.accept(offer)
            async with r.agent(AgentSpec(id="a2")) as a2:
                again = await env.next(a2)
                assert (again.inquiry_id, again.agent_id) == ("c1", "a2")
                a2.accept(again)
                assigned = await r.wait_assigned("c1")
                assert assigned.agent_id == "a2"
                if env.virtual:
                    assert assigned.wait_s == 40.0
            seen = drain(events)
        assert of("c1", seen) == [
            "Queued",
            "Offered",
            "OfferExpired",
            "Requeued",
            "Offered",
            "Assigned",
        ]
        expired = next(e for e in seen if type(e).__name__ == "OfferExpired")
        assert expired.agent_id == "a1"
        if env.virtual:
            assert expired.at == 30.0

    env.run(scenario)


def test_patience_runs_out_and_wait_assigned_says_abandoned(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            r.submit_nowait(Inquiry(id="c1", queue="q", patience_s=env.s(20)))
            with pytest.raises(InquiryEnded) as info:
                await r.wait_assigned("c1")
            assert info.value.outcome == "abandoned"
            assert info.value.inquiry_id == "c1"
            if env.virtual:
                assert env.now() == 20.0
                assert re.match(
                    r"^inquiry 'c1' was abandoned after waiting 20 s in queue 'q'$",
                    str(info.value),
                )
            # asked again later: the ending is remembered
            with pytest.raises(InquiryEnded, match=r"^inquiry 'c1' was abandoned after"):
                await r.wait_assigned("c1")
            assert r.statistics().router.counters.abandoned == 1

    env.run(scenario)


def test_wrap_up_holds_the_slot(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            spec = AgentSpec(id="a1", wrap_up_s=env.s(10))
            async with r.agent(spec) as a1:
                r.submit_nowait(Inquiry(id="c1", queue="q"))
                r.submit_nowait(Inquiry(id="c2", queue="q"))
                first = await env.next(a1)
                a1.accept(first)
                await env.sleep(env.s(5))
                a1.complete(first.inquiry_id)
                second = await env.next(a1)
                assert second.inquiry_id == "c2"
                if env.virtual:
                    assert second.at == 15.0  # completed at 5, wrap-up 10 s

    env.run(scenario)


# ---------------------------------------------------------------- batching (surge)


def test_a_flood_costs_one_matching_pass(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r, AsyncExitStack() as stack:
            for i in range(10):
                await stack.enter_async_context(r.agent(AgentSpec(id=f"a{i}")))
            await env.sleep(env.s(1))
            before = r.statistics()
            for k in range(1000):
                r.submit_nowait(Inquiry(id=f"c{k}", queue="q"))
            await env.sleep(env.s(1))
            after = r.statistics()
            assert after.ticks == before.ticks + 1
            assert after.inputs == before.inputs + 1000
            assert after.router.counters.offers == 10
            assert after.router.waiting == 990

    env.run(scenario)


# ---------------------------------------------------------------- cancellation


def test_cancelled_wait_assigned_withdraws_the_inquiry(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            finished, _ = await env.within(env.s(5), lambda: r.wait_assigned("c1"))
            assert not finished
            with pytest.raises(UnknownId, match=r"^unknown inquiry 'c1'$"):
                r.core.inquiry_state("c1")
            with pytest.raises(InquiryEnded, match=r"^inquiry 'c1' was withdrawn from queue 'q'$"):
                await r.wait_assigned("c1")
            # an agent arriving later is offered nothing
            async with r.agent(AgentSpec(id="a1")) as a1:
                finished, _ = await env.within(env.s(5), a1.__anext__)
                assert not finished
            stats = r.statistics()
            assert stats.router.counters.withdrawn == 1
            assert stats.router.counters.offers == 0
            assert stats.waiting_callers == 0

    env.run(scenario)


def test_cancelling_an_offered_inquiry_takes_the_offer_back(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            finished, _ = await env.within(env.s(5), lambda: r.wait_assigned("c1"))
            assert not finished
            offer = a1._inbox.buffer[0]  # delivered, not read
            assert offer.inquiry_id == "c1"
            r.submit_nowait(Inquiry(id="c2", queue="q"))
            nxt = await env.next(a1)  # the withdrawn c1 is skipped
            assert nxt.inquiry_id == "c2"

    env.run(scenario)


# ---------------------------------------------------------------- agent sessions


def test_agent_session_crash_hands_offers_back(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            async with r.subscribe(maxlen=100) as events:
                r.submit_nowait(Inquiry(id="c1", queue="q"))
                with pytest.raises(RuntimeError, match=r"^agent app crashed$"):
                    async with r.agent(AgentSpec(id="a1")) as a1:
                        offer = await env.next(a1)
                        assert offer.inquiry_id == "c1"
                        raise RuntimeError("agent app crashed")
                async with r.agent(AgentSpec(id="a2")) as a2:
                    again = await env.next(a2)
                    assert (again.inquiry_id, again.agent_id) == ("c1", "a2")
                    a2.accept(again)
                    assert (await r.wait_assigned("c1")).agent_id == "a2"
                seen = drain(events)
            requeued = [e for e in seen if type(e).__name__ == "Requeued"]
            assert [(e.inquiry_id, e.reason) for e in requeued] == [("c1", "logout")]
            assert "AgentLoggedOut" in [type(e).__name__ for e in seen]

    env.run(scenario)


def test_work_in_flight_survives_the_session_and_can_be_completed(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            async with r.agent(AgentSpec(id="a1")) as a1:
                r.submit_nowait(Inquiry(id="c1", queue="q"))
                a1.accept(await env.next(a1))
            assert r.core.inquiry_state("c1") == "assigned"
            assert r.statistics().router.agents_logged_in == 1  # logging out
            with pytest.raises(InvalidState, match=r"^inquiry 'c1' is not assigned to agent 'x'$"):
                AgentSession(r, AgentSpec(id="x")).complete("c1")
            a1.complete("c1")
            await env.sleep(env.s(1))
            assert r.statistics().router.agents_logged_in == 0

    env.run(scenario)


def test_decline_goes_to_another_agent(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env, decline_memory="forever"), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            a1.decline(await env.next(a1))
            async with r.agent(AgentSpec(id="a2")) as a2:
                assert (await env.next(a2)).inquiry_id == "c1"
            assert a1.pending == 0

    env.run(scenario)


def test_break_stops_offers_and_ready_resumes(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            await env.sleep(env.s(1))
            assert a1.pending == 1
            a1.go_on_break("lunch")
            await env.sleep(env.s(1))
            assert a1.pending == 0  # the offer went back in line
            assert r.core.inquiry_state("c1") == "waiting"
            finished, _ = await env.within(env.s(5), a1.__anext__)
            assert not finished
            a1.set_ready()
            offer = await env.next(a1)
            assert offer.inquiry_id == "c1"
            a1.accept(offer)

    env.run(scenario)


def test_session_iteration_ends_when_the_router_closes(env: Env) -> None:
    async def scenario(env: Env) -> list[str]:
        log: list[str] = []
        async with env.spawn_group() as group:
            r_holder: list[RouterHandle] = []
            ready = asyncio.Event() if env.name != "trio" else trio.Event()

            async def agent() -> None:
                async with r_holder[0].agent(AgentSpec(id="a1")) as a1:
                    ready.set()
                    async for _ in a1:
                        log.append("offer")
                log.append("ended")

            async def waiter() -> None:
                try:
                    await r_holder[0].wait_assigned("c1")
                except RouterClosed as exc:
                    log.append(str(exc))

            async with open_router(config(env), backend=env.name) as r:
                r_holder.append(r)
                r.submit_nowait(Inquiry(id="c1", queue="q", requires={"nobody": 1}))
                env.start(group, agent)
                env.start(group, waiter)
                await ready.wait()
                await env.sleep(env.s(1))
            with pytest.raises(RouterClosed, match=r"^the router is closed$"):
                r.submit_nowait(Inquiry(id="c2", queue="q"))
        return sorted(log)

    assert env.run(scenario) == ["ended", "the router is closed"]


def test_async_for_reads_skips_stale_offers_and_survives_a_cancelled_read(env: Env) -> None:
    # ``async for`` over a session (asyncio: ``_hot.Offers``; trio: ``__anext__``)
    async def scenario(env: Env) -> list[str]:
        async with open_router(config(env, decline_memory="forever"), backend=env.name) as r:
            async with r.agent(AgentSpec(id="a1")) as a1:

                async def first() -> Any:
                    async for offer in a1:
                        return offer
                    return None

                # a read cancelled while it waits leaves the session readable
                assert await env.within(env.s(5), first) == (False, None)
                r.submit_nowait(Inquiry(id="c1", queue="q"))
                done, offer = await env.within(env.s(1000), first)
                assert done and (offer.inquiry_id, offer.agent_id) == ("c1", "a1")
                a1.accept(offer)
                a1.complete("c1")
                # an offer that expired unread is skipped; the next one is read
                r.submit_nowait(Inquiry(id="c2", queue="q"))
                await env.sleep(env.s(40))
                assert a1.pending == 1
                r.submit_nowait(Inquiry(id="c3", queue="q"))
                done, offer = await env.within(env.s(1000), first)
                assert done and offer.inquiry_id == "c3"
                log: list[str] = []

                async def reader() -> None:
                    async for offer in a1:
                        log.append(offer.inquiry_id)
                    log.append("ended")

                async with env.spawn_group() as group:
                    env.start(group, reader)
                    await env.sleep(env.s(1))
                    a1.logout()  # the session ends: so does its iteration
            return log

    assert env.run(scenario) == ["ended"]


# ---------------------------------------------------------------- asyncio's reader (``async for``)
# ``_hot.Offers``: what a task waiting in ``async for`` sees on asyncio and uvloop when it is
# cancelled, timed out or woken (trio's reader is ``AgentSession.__anext__``, above).

ASYNCIO_BACKENDS = ["asyncio", "uvloop"]


@pytest.fixture(params=ASYNCIO_BACKENDS)
def aenv(request: pytest.FixtureRequest) -> Env:
    return Env(request.param)


async def settle(rounds: int = 20) -> None:
    """Let every ready task run a few steps."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def test_asyncio_reader_cancelled_while_it_waits(aenv: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            caught: list[tuple[Any, ...]] = []

            async def read() -> Any:
                try:
                    async for offer in a1:
                        return offer
                except asyncio.CancelledError as exc:
                    caught.append(exc.args)
                    raise
                return None

            it = aiter(a1)
            assert not asyncio.isfuture(it) and not asyncio.isfuture(it.__anext__())
            for message in (None, "stop reading"):
                task = asyncio.create_task(read())
                await settle()
                assert not task.done()  # waiting: nothing offered yet
                task.cancel(message)
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert task.cancelled()
                assert caught.pop() == (() if message is None else (message,))
            # the session stays readable: the next offer is read
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            offer = await env.next(a1)
            assert offer.inquiry_id == "c1"
            a1.accept(offer)
            a1.complete("c1")
            # and so does the same iterator, after its own cancelled wait
            task = asyncio.ensure_future(it.__anext__())  # not a future: wrapped in a task
            await settle()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            r.submit_nowait(Inquiry(id="c2", queue="q"))
            done, offer = await env.within(env.s(1000), it.__anext__)
            assert done and offer.inquiry_id == "c2"

    aenv.run(scenario)


def test_asyncio_reader_cancelled_after_its_wake_up_loses_no_offer(aenv: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            read: list[str] = []

            async def reader() -> None:
                async for offer in a1:
                    read.append(offer.inquiry_id)

            for n, message in enumerate((None, "racing")):
                task = asyncio.create_task(reader())
                await settle()
                r.submit_nowait(Inquiry(id=f"c{n}", queue="q"))
                for _ in range(100):  # until the offer is delivered: its reader is woken
                    await asyncio.sleep(0)
                    if a1.pending:
                        break
                # woken, not run yet: cancelled now, the wake-up and the cancel race
                assert a1.pending == 1 and not task.done() and not read
                task.cancel(message)
                with pytest.raises(asyncio.CancelledError) as caught:
                    await task
                assert caught.value.args == (() if message is None else (message,))
                # the offer is not lost: the next wait reads it
                assert a1.pending == 1
                offer = await env.next(a1)
                assert offer.inquiry_id == f"c{n}"
                a1.accept(offer)
                a1.complete(offer.inquiry_id)

    aenv.run(scenario)


def test_asyncio_reader_under_wait_for_and_timeout(aenv: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            it = aiter(a1)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(it.__anext__(), env.s(5))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(it.__anext__(), 0)  # wrapped in a task, cancelled
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(env.s(5)):
                    async for _ in a1:
                        raise AssertionError("nothing was offered")
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            offer = await asyncio.wait_for(it.__anext__(), env.s(1000))
            assert offer.inquiry_id == "c1"
            a1.accept(offer)
            a1.complete("c1")
            r.submit_nowait(Inquiry(id="c2", queue="q"))
            async with asyncio.timeout(env.s(1000)):
                async for offer in a1:
                    assert offer.inquiry_id == "c2"
                    break
            assert a1.pending == 0

    aenv.run(scenario)


def test_asyncio_reader_resumes_in_its_own_context(aenv: Env) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):

            async def reader() -> tuple[str, str]:
                var.set("reader")
                async for offer in a1:
                    return offer.inquiry_id, var.get()
                return "", ""

            task = asyncio.create_task(reader())
            await settle()  # it waits
            assert not task.done()
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            assert await task == ("c1", "reader")
            assert var.get() == "unset"

    aenv.run(scenario)


# ---------------------------------------------------------------- subscriptions


def test_full_subscriber_is_disconnected_after_what_it_holds(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r, r.subscribe(maxlen=3) as events:
            for k in range(5):
                r.submit_nowait(Inquiry(id=f"c{k}", queue="q"))
            await env.sleep(env.s(1))
            got = [(await events.__anext__()).inquiry_id for _ in range(3)]
            assert got == ["c0", "c1", "c2"]
            with pytest.raises(
                SubscriberOverflow,
                match=r"^event subscriber fell 3 events behind and was disconnected$",
            ):
                await events.__anext__()
            assert events.dropped == 2
            assert r.statistics().subscribers == 0

    env.run(scenario)


def test_drop_oldest_subscriber_keeps_the_newest_and_counts(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.subscribe(maxlen=3, overflow="drop_oldest") as events,
        ):
            for k in range(5):
                r.submit_nowait(Inquiry(id=f"c{k}", queue="q"))
            await env.sleep(env.s(1))
            assert [e.inquiry_id for e in drain(events)] == ["c2", "c3", "c4"]
            assert events.dropped == 2
            r.withdraw("c0")
            ev = await events.__anext__()  # still connected
            assert (type(ev).__name__, ev.inquiry_id) == ("Withdrawn", "c0")

    env.run(scenario)


def test_subscribe_rejects_bad_arguments(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            with pytest.raises(ValueError, match=r"^maxlen: must be an integer >= 1, got 0$"):
                r.subscribe(maxlen=0)
            with pytest.raises(ValueError, match=r"^overflow: unknown policy 'block'; known:"):
                r.subscribe(overflow="block")  # type: ignore[arg-type]

    env.run(scenario)


# ---------------------------------------------------------------- management


def test_reconfigure_removing_a_queue_ends_its_waiters(env: Env) -> None:
    async def scenario(env: Env) -> None:
        cfg = RouterConfig(
            queues=[QueueConfig(name="q"), QueueConfig(name="old")],
            routing=Routing(offer_timeout_s=env.s(30)),
        )
        async with open_router(cfg, backend=env.name) as r:
            r.submit_nowait(Inquiry(id="c1", queue="old"))
            async with env.spawn_group() as group:
                outcome: list[str] = []

                async def waiter() -> None:
                    try:
                        await r.wait_assigned("c1")
                    except InquiryEnded as exc:
                        outcome.append(str(exc))

                env.start(group, waiter)
                await env.sleep(env.s(1))
                assert r.reconfigure(config(env)) == 2
            assert outcome == ["inquiry 'c1' was rejected: queue_removed"]

    env.run(scenario)


def test_an_error_in_the_block_comes_out_as_itself(env: Env) -> None:
    async def scenario(env: Env) -> None:
        with pytest.raises(LookupError, match=r"^mine$"):
            async with open_router(config(env), backend=env.name):
                raise LookupError("mine")

    env.run(scenario)


def test_backend_is_detected_and_checked(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env)) as r:
            assert r.backend == ("trio" if env.name == "trio" else "asyncio")
        with pytest.raises(ValueError, match=r"^backend: unknown backend 'curio'; known: "):
            async with open_router(config(env), backend="curio"):
                pass
        other, runs = ("asyncio", "trio") if env.name == "trio" else ("trio", "asyncio")
        with pytest.raises(
            ValueError, match=rf"^backend: '{other}' given, but this task runs in {runs}$"
        ):
            async with open_router(config(env), backend=other):  # trio's own error before
                pass

    env.run(scenario)


def test_block_policy_holds_producers_first_come_first_served(env: Env) -> None:
    async def scenario(env: Env) -> None:
        cfg = RouterConfig(
            queues=[QueueConfig(name="q", max_queue=1)],
            routing=Routing(offer_timeout_s=env.s(30)),
            backpressure=Backpressure(policy="block"),
        )
        async with open_router(cfg, backend=env.name) as r:
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            with pytest.raises(
                WouldBlock, match=r"^queue 'q': would_block: queue_full: q holds 1$"
            ):
                r.submit_nowait(Inquiry(id="c2", queue="q"))
            finished, _ = await env.within(env.s(5), lambda: r.submit(Inquiry(id="c2", queue="q")))
            assert not finished  # held, then cancelled: nothing left behind
            assert r.statistics().blocked_submitters == 0
            with pytest.raises(UnknownId):
                r.core.inquiry_state("c2")
            got: list[str] = []

            def producer(inquiry_id: str) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    adm = await r.submit(Inquiry(id=inquiry_id, queue="q"))
                    got.append(f"{inquiry_id} {adm.outcome}")

                return run

            async with env.spawn_group() as group:
                env.start(group, producer("c3"))
                await env.sleep(env.s(1))
                env.start(group, producer("c4"))
                await env.sleep(env.s(1))
                assert got == [] and r.statistics().blocked_submitters == 2
                with pytest.raises(
                    WouldBlock, match=r"^queue 'q': 2 producer\(s\) already wait for room$"
                ):
                    r.submit_nowait(Inquiry(id="c5", queue="q"))
                async with r.agent(AgentSpec(id="a1")) as a1:
                    await env.next(a1)  # c1 offered: it leaves the line, room for one
                    await env.sleep(env.s(1))
                    assert got == ["c3 admitted"]
                    async with r.agent(AgentSpec(id="a2")) as a2:
                        assert (await env.next(a2)).inquiry_id == "c3"
                        await env.sleep(env.s(1))
            assert got == ["c3 admitted", "c4 admitted"]
            assert r.core.inquiry_state("c4") == "waiting"

    env.run(scenario)


def test_producers_held_for_a_queue_that_reconfigure_removes_get_unknown_id(env: Env) -> None:
    async def scenario(env: Env) -> None:
        cfg = RouterConfig(
            queues=[QueueConfig(name="q"), QueueConfig(name="old", max_queue=1)],
            routing=Routing(offer_timeout_s=env.s(30)),
            backpressure=Backpressure(policy="block"),
        )
        async with open_router(cfg, backend=env.name) as r:
            r.submit_nowait(Inquiry(id="c1", queue="old"))
            got: list[str] = []

            async def producer() -> None:
                try:
                    await r.submit(Inquiry(id="c2", queue="old"))
                except UnknownId as exc:
                    got.append(str(exc))

            async with env.spawn_group() as group:
                env.start(group, producer)
                await env.sleep(env.s(1))
                assert r.statistics().blocked_submitters == 1
                assert r.reconfigure(config(env)) == 2  # c1 rejected: room in a queue gone
            assert got == ["unknown queue 'old'; known: 'q'"]
            assert r.statistics().blocked_submitters == 0
            r.submit_nowait(Inquiry(id="c3", queue="q"))  # the router still serves

    env.run(scenario)


# ---------------------------------------------------------------- loop-free import


def test_importing_router_loads_no_event_loop() -> None:
    code = (
        "import router, router.adapters, sys; "
        "assert 'asyncio' not in sys.modules and 'trio' not in sys.modules, "
        "sorted(m for m in ('asyncio', 'trio') if m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_virtual_time_loop_jumps_and_detects_deadlock() -> None:
    async def main() -> float:
        await asyncio.sleep(3600)
        return asyncio.get_running_loop().time()

    assert run_virtual(main(), start=100.0) == 3700.0

    async def stuck() -> None:
        await asyncio.Event().wait()

    loop = VirtualTimeLoop(idle_timeout=0.01)
    try:
        with pytest.raises(RuntimeError, match=r"^virtual-time loop: no task can run"):
            loop.run_until_complete(stuck())
    finally:
        loop.close()


def test_docs_examples_run() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "adapters.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    programs = [b for b in blocks if "trio.run(main)" in b or "runner.run(main())" in b]
    assert len(programs) == 2
    for program in programs:
        proc = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert "c0 -> ye" in proc.stdout.splitlines()
    assert "withdrawn: c2" in proc.stdout.splitlines()


# ---------------------------------------------------------------- bad values, stuck cores


def test_a_nan_from_the_caller_raises_in_the_caller(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            with pytest.raises(InvalidInput, match=r"^patience_s: must be a finite number > 0"):
                await r.submit(Inquiry(id="c1", queue="q", patience_s=float("nan")))
            with pytest.raises(InvalidInput, match=r"^patience_s: "):
                r.submit_nowait(Inquiry(id="c1", queue="q", patience_s=float("inf")))
            with pytest.raises(InvalidInput, match=r"^wrap_up_s: "):
                async with r.agent(AgentSpec(id="a1", wrap_up_s=float("nan"))):
                    pass
            # nothing was left behind, and the router works on
            async with r.agent(AgentSpec(id="a1")) as a1:
                r.submit_nowait(Inquiry(id="c1", queue="q", patience_s=env.s(100)))
                assert (await env.next(a1)).inquiry_id == "c1"

    env.run(scenario)


def test_a_wrong_value_for_an_offer_or_an_agent_is_invalid_input(env: Env) -> None:
    """A session's answers take an offer event or an inquiry id, ``agent`` an AgentSpec with
    a valid id: anything else is InvalidInput naming it, on both builds (it was an
    AttributeError, or mypyc's TypeError), and changes nothing."""

    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            r.submit_nowait(Inquiry(id="c1", queue="q", patience_s=env.s(100)))
            offer = await env.next(a1)
            before = r.core.snapshot()
            for bad in (None, 7, True, b"c1", Withdraw(inquiry_id="c1")):
                for answer in (a1.accept, a1.decline, a1.hand_back, a1.callback_failed):
                    with pytest.raises(InvalidInput, match=r"^offer: must be an offer "):
                        answer(bad)  # type: ignore[arg-type]
                with pytest.raises(InvalidInput, match=r"^offer: must be an offer "):
                    a1.transfer(bad, "q")  # type: ignore[arg-type]
            for spec, line in (
                (None, r"^agent: must be a router.AgentSpec, got NoneType$"),
                ({"id": "a2"}, r"^agent: must be a router.AgentSpec, got dict$"),
                (AgentSpec(id=7), r"^id: must be a non-empty string, got 7$"),  # type: ignore[arg-type]
                (AgentSpec(id=""), r"^id: must be a non-empty string, got ''$"),
            ):
                with pytest.raises(InvalidInput, match=line):
                    r.agent(spec)  # type: ignore[arg-type]
            assert r.core.snapshot() == before
            a1.accept(offer)  # the offer is still open: nothing was changed
            assert r.core.inquiry_state("c1") == "assigned"

    env.run(scenario)


def test_open_router_refuses_a_config_or_history_of_the_wrong_kind(env: Env) -> None:
    """``open_router("x")`` or a dict is the core's ConfigError (it was an AttributeError on
    ``config.routing``); a ``history`` that is not an integer >= 0, or a ``tracing`` that is not
    a Tracing, a ValueError naming it (NaN opened a router, None was a TypeError)."""

    async def scenario(env: Env) -> None:
        for bad, kind in (("x", "str"), ({"queues": [{"name": "q"}]}, "dict")):
            with pytest.raises(ConfigError, match=rf"^\$: expected a RouterConfig, got {kind}$"):
                async with open_router(bad, backend=env.name):  # type: ignore[arg-type]
                    pass
        for history in (-1, float("nan"), None, 2.5, True):
            with pytest.raises(ValueError, match=r"^history: must be an integer >= 0, got "):
                async with open_router(config(env), backend=env.name, history=history):  # type: ignore[arg-type]
                    pass
        with pytest.raises(ValueError, match=r"^tracing: must be a router.observe.tracing.Tracing"):
            async with open_router(config(env), backend=env.name, tracing="x"):
                pass  # it was an AttributeError at the first submission
        async with open_router(config(env), backend=env.name, history=0) as r:
            assert r.core.version == 1  # 0 keeps no ended outcome: allowed

    env.run(scenario)


def test_subscribe_refuses_a_maxlen_that_is_not_a_positive_integer(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            for bad in (float("nan"), float("inf"), 2.5, True, None, "3"):
                with pytest.raises(ValueError, match=r"^maxlen: must be an integer >= 1, got "):
                    r.subscribe(maxlen=bad)  # type: ignore[arg-type]
            assert r.statistics().subscribers == 0

    env.run(scenario)


STUCK = """
import asyncio, math, sys
import trio, trio.testing
from router import Inquiry, RouterBroken, RouterConfig, QueueConfig
from router.adapters import open_router
from router.adapters.testing import run_virtual

cfg = RouterConfig(queues=[QueueConfig(name="q")])

async def body(backend, mode):
    try:
        async with open_router(cfg, backend=backend) as r:
            core = r.core  # (Router has __slots__: its methods are patched on the class)
            if mode == "nan":
                type(core).next_deadline = lambda self, *a: math.nan
            else:
                type(core).next_deadline = lambda self, *a: self.now
            r.submit_nowait(Inquiry(id="c1", queue="q"))  # wake the runner
            await (trio.sleep(10) if backend == "trio" else asyncio.sleep(10))
    except RouterBroken as exc:
        print("broken:", exc.__cause__)
        return
    print("no error")

backend, mode = sys.argv[1], sys.argv[2]
if backend == "trio":
    trio.run(body, backend, mode, clock=trio.testing.MockClock(autojump_threshold=0))
else:
    run_virtual(body(backend, mode))
"""


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("nan", "the core's next deadline is NaN"),
        ("stuck", "without its time (0.0) moving on"),
    ],
)
def test_the_runner_never_spins_whatever_the_core_returns(
    backend: str, mode: str, cause: str
) -> None:
    # in a subprocess with a time limit: a runner that spins would hang this test otherwise
    proc = subprocess.run(
        [sys.executable, "-c", STUCK, backend, mode], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("broken: ") and cause in proc.stdout, proc.stdout


# ---------------------------------------------------------------- one vocabulary


def test_every_input_reaches_the_core_through_the_adapter(env: Env) -> None:
    async def scenario(env: Env) -> None:
        cfg = RouterConfig(
            queues=[QueueConfig(name="q")],
            routing=Routing(offer_timeout_s=env.s(30)),
            backpressure=Backpressure(policy="callback"),
        )
        async with open_router(cfg, backend=env.name) as r:
            async with r.subscribe(maxlen=100) as events:
                adm = r.handle(Submit(inquiry=Inquiry(id="c1", queue="q")))
                assert isinstance(adm, Admission) and adm.outcome == "callback"  # nobody is in
                async with r.agent(AgentSpec(id="a1")) as a1:
                    offer = await env.next(a1)
                    a1.callback_failed(offer)  # the call did not reach the customer
                    r.handle(GoOnBreak(agent_id="a1", reason="tea"))
                    a1.set_ready()
                    r.handle(Submit(inquiry=Inquiry(id="c2", queue="q")))
                    offer = await env.next(a1)
                    assert offer.inquiry_id == "c2"
                    r.handle(Decline(inquiry_id="c2", agent_id="a1"))
                    await env.sleep(env.s(1))
                    r.handle(Withdraw(inquiry_id="c2"))
                    await env.sleep(env.s(1))
                seen = [type(e).__name__ for e in drain(events)]
            assert "CallbackScheduled" in seen and "OfferDeclined" in seen
            assert ("AgentOnBreak" in seen) and seen.count("AgentReady") == 1
            c = r.statistics().router.counters
            assert (c.callback_attempts_failed, c.declined, c.withdrawn) == (1, 1, 1)
            assert r.handle(Reconfigure(config=msgspec.to_builtins(cfg))) == 2
            since = r.statistics().router.queues["q"].windows["since_reset"]
            assert (since.offered, since.abandoned) == (2, 1)
            r.handle(ResetStatistics())  # the since-reset figures start over
            since = r.statistics().router.queues["q"].windows["since_reset"]
            assert (since.offered, since.abandoned) == (0, 0)
            r.submit_nowait(Inquiry(id="c3", queue="q"))
            r.reset_statistics()  # the same input spelled as a call
            assert r.statistics().router.queues["q"].windows["since_reset"].offered == 0

    env.run(scenario)


@pytest.mark.skipif(router.compiled, reason="patches a Router method: pure build only")
def test_a_failing_router_raises_router_broken_from_open_router(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One exception type whether the runner alone failed or the block failed with it."""

    async def scenario(env: Env) -> None:
        for block_waits in (False, True):

            def boom(*a: object) -> None:
                raise RuntimeError("bug in the core")

            with pytest.raises(RouterBroken) as info, monkeypatch.context() as patch:
                async with open_router(config(env), backend=env.name) as r:
                    patch.setattr(type(r.core), "_match", boom)  # (Router has __slots__)
                    r.submit_nowait(Inquiry(id="c1", queue="q"))
                    if block_waits:
                        await r.wait_assigned("c1")  # raises RouterBroken in the block
                    else:
                        await env.sleep(env.s(10))
            assert not isinstance(info.value, BaseExceptionGroup)
            cause = info.value.__cause__
            assert isinstance(cause, RuntimeError) and str(cause) == "bug in the core"

    env.run(scenario)


# ---------------------------------------------------------------- the outcome history


def test_wait_assigned_knows_the_last_history_outcomes(env: Env) -> None:
    """``history`` outcomes are kept, the oldest forgotten first; a resubmitted id's new
    outcome is its only one."""

    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name, history=2) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):

            async def serve(inquiry_id: str) -> Assigned:
                r.submit_nowait(Inquiry(id=inquiry_id, queue="q"))
                offer = await env.next(a1)
                assert offer.inquiry_id == inquiry_id
                a1.accept(offer)
                assigned = await r.wait_assigned(inquiry_id)
                a1.complete(inquiry_id)
                await env.sleep(env.s(1))
                return assigned

            served = {i: await serve(i) for i in ("c1", "c2", "c3")}
            with pytest.raises(UnknownId, match="ended more than 2 outcomes ago"):
                await r.wait_assigned("c1")
            assert await r.wait_assigned("c2") is served["c2"]
            again = await serve("c2")  # submitted again: its old outcome goes
            assert again is not served["c2"]
            assert await r.wait_assigned("c2") is again
            assert await r.wait_assigned("c3") is served["c3"]
            served["c4"] = await serve("c4")  # c3 is the oldest now
            with pytest.raises(UnknownId):
                await r.wait_assigned("c3")
            assert await r.wait_assigned("c2") is again
            assert await r.wait_assigned("c4") is served["c4"]

    env.run(scenario)


class _Outcome:
    """An outcome as ``Hub.remember`` keeps it: anything with an ``inquiry_id``."""

    def __init__(self, inquiry_id: str) -> None:
        self.inquiry_id = inquiry_id


def test_hub_history_forgets_the_oldest_and_bounds_its_stale_entries() -> None:
    """``Hub.ended`` (by id) and ``Hub.ended_order`` (as they came, from ``ended_head`` on):
    the last ``history`` outcomes; an outcome dropped early (a resubmitted id) is skipped
    when reached, the order is rebuilt before such stale entries pile up, and the forgotten
    prefix of the order is cut before it outgrows the rest."""
    from router.adapters._hot import _STALE_MAX, Hub
    from router.core import Router

    def hub(history: int) -> Hub:
        return Hub(Router(RouterConfig(queues=[QueueConfig(name="q")])), lambda: 0.0, history, None)

    h = hub(3)
    first = {i: _Outcome(i) for i in ("i0", "i1", "i2", "i3", "i4")}
    for i, ev in first.items():
        h.remember(i, ev)
    assert list(h.ended) == ["i2", "i3", "i4"]
    assert all(h.ended[i] is first[i] for i in h.ended)
    del h.ended["i3"]  # what Hub.submit does for an id submitted again
    new3 = _Outcome("i3")
    h.remember("i3", new3)
    assert list(h.ended) == ["i2", "i4", "i3"] and h.ended["i3"] is new3
    h.remember("i5", _Outcome("i5"))
    assert list(h.ended) == ["i4", "i3", "i5"]
    h.remember("i6", _Outcome("i6"))  # the stale first i3 is skipped, i4 goes
    assert list(h.ended) == ["i3", "i5", "i6"] and h.ended["i3"] is new3
    assert [ev.inquiry_id for ev in h.ended_order[h.ended_head :]] == ["i3", "i5", "i6"]
    assert not any(h.ended_order[: h.ended_head])  # forgotten: not kept alive

    none = hub(0)
    none.remember("x", _Outcome("x"))
    assert not none.ended and not none.ended_order

    h = hub(10)
    for n in range(5):
        h.remember(f"k{n}", _Outcome(f"k{n}"))
    for _ in range(1000):  # one id submitted again and again: stale entries stay bounded
        h.ended.pop("x", None)
        h.remember("x", _Outcome("x"))
        assert len(h.ended_order) - h.ended_head <= 2 * len(h.ended) + _STALE_MAX + 1
    assert list(h.ended) == ["k0", "k1", "k2", "k3", "k4", "x"]
    for n in range(20):
        h.remember(f"m{n}", _Outcome(f"m{n}"))
    assert list(h.ended) == [f"m{n}" for n in range(10, 20)]

    h = hub(10)  # many outcomes through a short history: the forgotten prefix is cut
    for n in range(1000):
        h.remember(f"n{n}", _Outcome(f"n{n}"))
        assert len(h.ended_order) <= _STALE_MAX + 10 + 1
        assert not any(h.ended_order[: h.ended_head])
        live = h.ended_order[h.ended_head :]
        assert [ev.inquiry_id for ev in live] == list(h.ended)
    assert list(h.ended) == [f"n{n}" for n in range(990, 1000)]
