"""Load client for ``examples/asyncio_service.py``: agents plus a producer with a 20x burst.

It connects ``--agents`` agent clients (each accepts its offers and completes
each chat after a random time, ``--handle`` on average), then one producer that
first sends a malformed inquiry (and prints the service's error line), then
Poisson arrivals at ``--rate`` per second for ``--seconds``, multiplied by
``--burst`` (20x) in the middle third. It waits until every admitted inquiry has
its outcome, prints a summary and exits: 0 if every inquiry got exactly one
outcome and the service refused nothing, 1 otherwise, with each problem on stderr.
An accept that arrives after its offer ended (the caller hung up meanwhile, or the
offer expired) is a race, not an error: ``offers_gone`` counts them, and that chat is
dropped (``working`` and ``completed`` count the chats that went ahead).

    python examples/asyncio_service.py &          # prints: listening on 127.0.0.1:PORT
    python examples/load_client.py --port PORT
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
from collections import Counter
from typing import Any

import msgspec

HOST = "127.0.0.1"
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True, help="the service's port on 127.0.0.1")
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--chats", type=int, default=10, help="concurrent chats per agent")
    p.add_argument("--rate", type=float, default=40.0, help="base arrivals per second")
    p.add_argument("--burst", type=float, default=20.0, help="rate multiplier, middle third")
    p.add_argument("--seconds", type=float, default=3.0, help="arrival window")
    p.add_argument("--handle", type=float, default=0.5, help="mean chat length, s")
    p.add_argument("--patience", type=float, default=3.0, help="mean customer patience, s")
    p.add_argument("--drain", type=float, default=30.0, help="max wait for outcomes, s")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    if not 1 <= args.port <= 65535:
        p.error("--port: must be 1..65535")
    for name in ("agents", "chats"):
        if getattr(args, name) < 1:
            p.error(f"--{name}: must be >= 1")
    for name in ("rate", "burst", "seconds", "handle", "patience", "drain"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            p.error(f"--{name}: must be a positive number")
    return args


async def connect(port: int, hello: dict[str, Any]) -> tuple[asyncio.StreamReader, Any]:
    reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
    writer.write(_encode(hello) + b"\n")
    reply = _decode(await reader.readline())
    if "ok" not in reply:
        raise SystemExit(f"load_client: the service refused {hello}: {reply}")
    return reader, writer


class AgentLines:
    """What one agent connection sent, by line number, to read the service's error lines.

    The service answers a refused line with ``{"error": ..., "line": N}`` (line 1 is the
    hello). An ``accept`` refused means the offer ended while the accept was on its way
    (the caller hung up, the offer expired or went to someone else): a race every remote
    console runs, not an error. The chat is dropped, and its ``complete``, if already sent,
    is refused for the same reason. Any other refusal is an error.
    """

    def __init__(self) -> None:
        self.lines = 1
        self.sent: dict[int, tuple[str, str]] = {}
        self.gone: set[str] = set()

    def note(self, kind: str, inquiry_id: str) -> None:
        """One ``accept`` or ``complete`` line written."""
        self.lines += 1
        self.sent[self.lines] = (kind, inquiry_id)

    def refused(self, msg: dict[str, Any]) -> tuple[str, str] | None:
        """``(line's kind, inquiry)`` when the refusal is an offer that was gone; None
        when it is an error."""
        kind, inquiry_id = self.sent.get(msg.get("line", 0), ("", ""))
        if kind == "accept" or (kind == "complete" and inquiry_id in self.gone):
            self.gone.add(inquiry_id)
            return kind, inquiry_id
        return None


async def agent(
    i: int, args: argparse.Namespace, rng: random.Random, tally: Counter[str], errors: list[str]
) -> tuple[asyncio.Task[None], Any]:
    spec = {"id": f"agent{i:03d}", "capacity": {"chat": args.chats}}
    reader, writer = await connect(args.port, {"hello": "agent", "agent": spec})
    lines = AgentLines()
    chats: dict[str, asyncio.Task[None]] = {}

    def send(kind: str, inquiry_id: str) -> None:
        writer.write(_encode({"type": kind, "inquiry_id": inquiry_id}) + b"\n")
        lines.note(kind, inquiry_id)

    async def finish(inquiry_id: str) -> None:
        await asyncio.sleep(rng.expovariate(1 / args.handle))
        if not writer.is_closing():
            send("complete", inquiry_id)
            tally["completed"] += 1

    def start(inquiry_id: str) -> None:
        chat = asyncio.create_task(finish(inquiry_id))
        chats[inquiry_id] = chat
        chat.add_done_callback(lambda _: chats.pop(inquiry_id, None))

    async def run() -> None:
        try:
            while raw := await reader.readline():
                msg = _decode(raw)
                kind = msg.get("type")
                if kind == "Offered":
                    send("accept", msg["inquiry_id"])
                if kind in ("Offered", "Assigned"):
                    tally["working"] += 1
                    start(msg["inquiry_id"])
                elif "error" in msg:
                    race = lines.refused(msg)
                    if race is None:
                        tally["agent_errors"] += 1
                        errors.append(f"agent{i:03d} line {msg.get('line')}: {msg['error']}")
                    elif race[0] == "accept":  # the offer was gone: no chat after all
                        tally["offers_gone"] += 1
                        tally["working"] -= 1
                        chat = chats.pop(race[1], None)
                        if chat is not None:
                            chat.cancel()
                        else:  # its complete went out before the refusal came back
                            tally["completed"] -= 1
                    # else: the refused complete of a chat dropped at its accept
        finally:
            for chat in list(chats.values()):
                chat.cancel()

    return asyncio.create_task(run()), writer


async def produce(
    args: argparse.Namespace, rng: random.Random, errors: list[str]
) -> dict[str, Any]:
    reader, writer = await connect(args.port, {"hello": "producer"})
    writer.write(b'{"id": "bad-1"}\n')  # no queue: the service must say so and carry on
    error = _decode(await reader.readline())
    print(f"malformed inquiry -> {_encode(error).decode()}", flush=True)

    outcomes: Counter[str] = Counter()
    waits: list[float] = []
    admitted: set[str] = set()
    ended: set[str] = set()
    sent = 0
    all_sent = asyncio.Event()
    settled = asyncio.Event()

    async def read() -> None:
        while raw := await reader.readline():
            msg = _decode(raw)
            if "admission" in msg:
                adm = msg["admission"]
                outcomes[f"admission_{adm['outcome']}"] += 1
                if adm["outcome"] == "admitted":
                    admitted.add(adm["inquiry_id"])
            elif "error" in msg:
                outcomes["errors"] += 1
                errors.append(f"producer line {msg.get('line')}: {msg['error']}")
            else:
                kind = msg["type"]
                if msg["inquiry_id"] in ended:
                    outcomes["duplicate_outcomes"] += 1
                ended.add(msg["inquiry_id"])
                outcomes[kind.lower()] += 1
                if kind == "Assigned":
                    waits.append(msg["wait_s"])
            if all_sent.is_set() and admitted <= ended:
                settled.set()

    reading = asyncio.create_task(read())
    t0 = time.perf_counter()
    third = args.seconds / 3
    elapsed = 0.0
    while True:
        rate = args.rate * (args.burst if third <= elapsed < 2 * third else 1.0)
        elapsed += rng.expovariate(rate)
        if elapsed >= args.seconds:
            break
        delay = t0 + elapsed - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        inquiry = {
            "id": f"c{sent}",
            "queue": "chat",
            "patience_s": rng.expovariate(1 / args.patience),
        }
        writer.write(_encode(inquiry) + b"\n")
        sent += 1
        if sent % 64 == 0:
            await writer.drain()
    await writer.drain()
    all_sent.set()
    try:
        await asyncio.wait_for(settled.wait(), args.drain)
    except TimeoutError:
        outcomes["missing_outcomes"] = len(admitted - ended)
    writer.close()
    reading.cancel()
    waits.sort()
    return {
        "sent": sent,
        **dict(sorted(outcomes.items())),
        "p50_wait_s": round(waits[len(waits) // 2], 3) if waits else 0.0,
        "p99_wait_s": round(waits[int(0.99 * (len(waits) - 1))], 3) if waits else 0.0,
    }


async def run(args: argparse.Namespace, errors: list[str]) -> dict[str, Any]:
    """The run's summary; the error lines the service sent go to ``errors``."""
    rng = random.Random(args.seed)
    tally: Counter[str] = Counter()
    agents = [
        await agent(i, args, random.Random(rng.random()), tally, errors) for i in range(args.agents)
    ]
    summary = await produce(args, rng, errors)
    deadline = time.perf_counter() + args.drain
    while tally["completed"] < tally["working"] and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)  # let the agents finish their last chats
    for task, writer in agents:
        writer.close()
        task.cancel()
    await asyncio.gather(*(task for task, _ in agents), return_exceptions=True)
    summary.update(tally)
    return summary


def verdict(summary: dict[str, Any], errors: list[str]) -> list[str]:
    """What went wrong in a run (empty: every inquiry got exactly one outcome and the
    service refused nothing but offers that were gone, ``offers_gone``)."""
    problems = [f"load_client: error: {e}" for e in errors]
    outcomes = sum(summary.get(k, 0) for k in ("assigned", "abandoned", "rejected", "withdrawn"))
    if outcomes != summary.get("admission_admitted", 0):
        problems.append(
            f"load_client: {outcomes} outcomes for {summary.get('admission_admitted', 0)} "
            "admitted inquiries"
        )
    for key in ("duplicate_outcomes", "missing_outcomes"):
        if summary.get(key):
            problems.append(f"load_client: {key}={summary[key]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    errors: list[str] = []
    try:
        summary = asyncio.run(run(args, errors))
    except ConnectionError as exc:
        print(f"load_client: cannot talk to {HOST}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print("summary " + " ".join(f"{k}={v}" for k, v in summary.items()), flush=True)
    problems = verdict(summary, errors)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
