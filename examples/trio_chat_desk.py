"""A Taobao-style chat desk on trio: 50 agents at 20 chats each, simulated customers.

Customers arrive at random (Poisson) over ``--seconds``, each willing to wait a
random while (``--patience`` on average); each agent session accepts the offers
it reads after a short reaction time (now and then it declines one) and holds
each chat for a random time (``--chat-mean``). A line of live statistics is
printed every ``--every`` seconds; the run ends by itself once every customer
has been answered or has given up and every chat is finished.

    python examples/trio_chat_desk.py                      # about a minute, real time
    python examples/trio_chat_desk.py --virtual            # the same day in virtual time
    python examples/trio_chat_desk.py --seconds 1 --customers 100 --chat-mean 0.3
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time

try:
    import trio
    import trio.testing
except ImportError:  # run as a script: one line saying what to install, not a traceback
    print("trio_chat_desk: needs trio: pip install 'inquiry-router[trio]'", file=sys.stderr)
    sys.exit(2)

from router import AgentSpec, Inquiry, Offered, QueueConfig, RouterConfig, Routing, UsageError
from router.adapters import AgentSession, InquiryEnded, RouterHandle, open_router


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=50, help="agents logged in (default 50)")
    p.add_argument("--chats", type=int, default=20, help="concurrent chats per agent (default 20)")
    p.add_argument("--customers", type=int, default=1500, help="customers in all (default 1500)")
    p.add_argument("--seconds", type=float, default=30.0, help="arrival window (default 30)")
    p.add_argument("--chat-mean", type=float, default=12.0, help="mean chat length, s")
    p.add_argument("--patience", type=float, default=20.0, help="mean customer patience, s")
    p.add_argument("--every", type=float, default=1.0, help="statistics period, s")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--virtual", action="store_true", help="run on trio's MockClock (instant)")
    args = p.parse_args(argv)
    for name in ("agents", "chats", "customers"):
        if getattr(args, name) < 1:
            p.error(f"--{name}: must be >= 1")
    for name in ("seconds", "chat_mean", "patience", "every"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            p.error(f"--{name.replace('_', '-')}: must be a positive number")
    if args.chats > 30:
        p.error("--chats: the chat channel allows at most 30 per agent")
    return args


class Desk:
    """The simulated people around the router and what they saw."""

    def __init__(self, router: RouterHandle, args: argparse.Namespace) -> None:
        self.router = router
        self.args = args
        self.answered = 0
        self.abandoned = 0
        self.refused = 0
        self.waits: list[float] = []
        self.arrived = 0

    async def customer(self, n: int, rng: random.Random) -> None:
        inquiry = Inquiry(
            id=f"c{n}",
            queue="chat",
            patience_s=rng.expovariate(1 / self.args.patience),
            tags=frozenset({"heavy"}) if rng.random() < 0.05 else frozenset(),
        )
        self.arrived += 1
        admission = await self.router.submit(inquiry)
        if not admission.admitted:
            self.refused += 1
            return
        try:
            assigned = await self.router.wait_assigned(inquiry.id)
        except InquiryEnded:
            self.abandoned += 1
        else:
            self.answered += 1
            self.waits.append(assigned.wait_s)

    async def agent(self, spec: AgentSpec, rng: random.Random) -> None:
        async with self.router.agent(spec) as session, trio.open_nursery() as chats:
            async for offer in session:
                assert isinstance(offer, Offered)
                chats.start_soon(self.chat, session, offer, rng)

    async def chat(self, session: AgentSession, offer: Offered, rng: random.Random) -> None:
        await trio.sleep(rng.uniform(0.05, 0.5))  # reaction time
        try:
            if rng.random() < 0.01:
                session.decline(offer)
                return
            session.accept(offer)
        except UsageError:
            return  # the offer expired (InvalidState) or the customer left (UnknownId)
        await trio.sleep(rng.expovariate(1 / self.args.chat_mean))
        session.complete(offer.inquiry_id)

    def line(self, t0: float) -> str:
        s = self.router.statistics()
        r = s.router
        busy = r.in_service + r.offered
        slots = self.args.agents * self.args.chats
        asa = sum(self.waits) / len(self.waits) if self.waits else 0.0
        return (
            f"t={trio.current_time() - t0:6.1f}s arrived={self.arrived:5d} waiting={r.waiting:4d} "
            f"chats={busy:4d}/{slots} answered={self.answered:5d} abandoned={self.abandoned:4d} "
            f"asa={asa:5.2f}s ticks={s.ticks} inputs={s.inputs}"
        )

    async def printer(self, t0: float) -> None:
        while True:
            await trio.sleep(self.args.every)
            print(self.line(t0), flush=True)


async def run(args: argparse.Namespace) -> dict[str, float]:
    config = RouterConfig(
        queues=[QueueConfig(name="chat", channel="chat", answer_target_s=30.0)],
        routing=Routing(offer_timeout_s=5.0),
    )
    rng = random.Random(args.seed)
    wall0 = time.perf_counter()
    async with open_router(config, backend="trio") as router:
        desk = Desk(router, args)
        t0 = trio.current_time()
        async with trio.open_nursery() as staff:
            for i in range(args.agents):
                spec = AgentSpec(id=f"agent{i:02d}", capacity={"chat": args.chats})
                staff.start_soon(desk.agent, spec, random.Random(rng.random()))
            staff.start_soon(desk.printer, t0)
            rate = args.customers / args.seconds
            async with trio.open_nursery() as customers:
                for n in range(args.customers):
                    await trio.sleep(rng.expovariate(rate))
                    customers.start_soon(desk.customer, n, random.Random(rng.random()))
            while True:  # every customer has an outcome: let the last chats finish
                r = router.statistics().router
                if r.in_service + r.offered + r.waiting == 0:
                    break
                await trio.sleep(0.1)
            staff.cancel_scope.cancel()
        print(desk.line(t0), flush=True)
        stats = router.statistics()
    waits = sorted(desk.waits)
    summary = {
        "customers": desk.arrived,
        "answered": desk.answered,
        "abandoned": desk.abandoned,
        "refused": desk.refused,
        "asa_s": round(sum(waits) / len(waits), 3) if waits else 0.0,
        "p90_wait_s": round(waits[int(0.9 * (len(waits) - 1))], 3) if waits else 0.0,
        "ticks": stats.ticks,
        "inputs": stats.inputs,
        "wall_s": round(time.perf_counter() - wall0, 2),
    }
    print("summary " + " ".join(f"{k}={v}" for k, v in summary.items()), flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clock = trio.testing.MockClock(autojump_threshold=0) if args.virtual else None
    summary = trio.run(run, args, clock=clock)
    ok = summary["answered"] + summary["abandoned"] + summary["refused"] == args.customers
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
