"""Check a served domain from what Redis holds: replay, outcomes, caps, fencing.

Theory of operation: :func:`verify_replay` replays the whole input log (it must
still start with the domain's first batch: serve with ``--keep-log``) through
:func:`~router.durable.wire.run_batch` and compares, byte for byte, the output
entries it would publish with the ones in the output stream, across every
owner that served the domain. It also checks that the fencing tokens along
both streams never go down (no write from an owner after its successor's
first write). :func:`audit_events` walks the events and checks the contract of
a drained run: every inquiry has exactly one outcome (completed, rejected,
deflected, abandoned or withdrawn, or its submission dead-lettered), none was
assigned twice, and no agent ever held more than its cap on a channel. Batches
recorded in the ``dead`` stream are replayed as the record says
(:func:`~router.durable.wire.replay_batch`): without the inputs it names, each
refused ``DeadLettered``, or, for a whole dead batch, as its refusals.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import msgspec
from redis.asyncio import Redis

from router.config import DEFAULT_CHANNELS, RouterConfig
from router.core import Router
from router.durable.log import DomainLog
from router.durable.wire import (
    Batch,
    DeadLetter,
    DomainKeys,
    OutputEntry,
    batch_output,
    decode_output,
    replay_batch,
)
from router.events import (
    Abandoned,
    Assigned,
    Completed,
    Deflected,
    OfferDeclined,
    Offered,
    OfferExpired,
    OfferRescinded,
    Rejected,
    Requeued,
    Withdrawn,
    WrapUpEnded,
)
from router.inputs import Submit
from router.model import AgentSpec

__all__ = ["Audit", "Replay", "audit_events", "read_domain", "verify_replay"]

_OUTCOMES = (Completed, Rejected, Deflected, Abandoned, Withdrawn)


class Replay(msgspec.Struct, kw_only=True):
    """What a full replay found: the log, the outputs, and any mismatch."""

    batches: list[tuple[str, int, Batch]]
    outputs: list[OutputEntry]
    raw_outputs: list[tuple[str, bytes, bytes]]
    problems: list[str]
    dead: dict[str, DeadLetter] = {}
    config: RouterConfig | None = None


class Audit(msgspec.Struct, kw_only=True):
    """Outcome and cap checks over one domain's events."""

    inquiries: int = 0
    outcomes: dict[str, int] = {}
    assigned: int = 0
    max_load: dict[str, int] = {}
    problems: list[str] = []


async def read_domain(client: Redis, domain: str, prefix: str = "router") -> Replay:
    """Every output entry, then every logged batch of a domain, oldest first.

    Outputs are read first: whatever batches were logged meanwhile only add to
    the end of the log, so the outputs read are a prefix of what it produces.
    """
    keys = DomainKeys(domain, prefix)
    outputs: list[OutputEntry] = []
    raw: list[tuple[str, bytes, bytes]] = []
    lo = "-"
    while True:
        rows: Any = await client.xrange(keys.output, min=lo, max="+", count=5000)
        if not rows:
            break
        for i, f in rows:
            outputs.append(decode_output(i, f))
            raw.append((f[b"in"].decode(), f[b"ev"], f.get(b"err", b"")))
        lo = f"({outputs[-1].id}"
    dlog = DomainLog(client, keys, "audit", 1000)
    batches: list[tuple[str, int, Batch]] = []
    async for chunk in dlog.batches_after(""):
        batches += chunk
    dead = await dlog.dead_letters()
    return Replay(batches=batches, outputs=outputs, raw_outputs=raw, problems=[], dead=dead)


async def verify_replay(
    client: Redis, domain: str, prefix: str = "router", *, strict: bool = True
) -> Replay:
    """Replay the whole input log and compare with the output stream, byte for byte.

    ``strict``: the domain is quiet (no owner running, or all flushed), so the
    stream must hold exactly the outputs of the replay; otherwise it must hold
    a prefix of them (the newest batches' outputs may not be published yet).
    """
    rep = await read_domain(client, domain, prefix)
    problems = rep.problems
    if not rep.batches or rep.batches[0][2].init is None:
        problems.append(f"domain {domain!r}: the input log does not start with the first batch")
        return rep
    rep.config = rep.batches[0][2].init
    core: Router | None = None
    expected: list[tuple[str, bytes, bytes]] = []
    for bid, _tok, batch in rep.batches:
        why = rep.dead.get(bid)
        core, events, refusals = replay_batch(core, batch, why)
        out = batch_output(bid, events, refusals, why is not None)
        if out is not None:
            expected.append(out)
    actual = rep.raw_outputs
    if len(actual) > len(expected) or (strict and len(actual) != len(expected)):
        problems.append(
            f"domain {domain!r}: replay gives {len(expected)} output entries, "
            f"the stream holds {len(actual)}"
        )
    for i, (exp, act) in enumerate(zip(expected, actual)):
        if exp != act:
            problems.append(
                f"domain {domain!r}: output entry {i} (batch {act[0]}) differs from the replay "
                f"of batch {exp[0]}"
            )
            break
    for name, tokens in (
        ("input", [t for _, t, _ in rep.batches]),
        ("output", [o.token for o in rep.outputs]),
    ):
        for a, b in itertools.pairwise(tokens):
            if b < a:
                problems.append(
                    f"domain {domain!r}: {name} stream has a write with token {b} after one "
                    f"with token {a}"
                )
                break
    return rep


def _caps(batches: Iterable[tuple[str, int, Batch]]) -> dict[str, dict[str, int]]:
    caps: dict[str, dict[str, int]] = {}
    channels = dict(DEFAULT_CHANNELS)
    for _, _, batch in batches:
        if batch.init is not None:
            channels = {**DEFAULT_CHANNELS, **batch.init.channels}
        for request in batch.items:
            # any input that carries an agent's spec (a login, or one that changes it)
            agent = getattr(request.input, "agent", None)
            if isinstance(agent, AgentSpec):
                caps[agent.id] = {
                    ch: min(c, channels[ch].max_concurrency if ch in channels else c)
                    for ch, c in agent.capacity.items()
                }
    return caps


def audit_events(rep: Replay, config: RouterConfig, added: Iterable[str] | None = None) -> Audit:
    """Check outcomes and caps over a domain's output events (see the module docstring).

    ``added``: the inquiry ids the producer was told were added; each must have
    exactly one outcome. Without it, every inquiry seen in the events is checked.
    """
    caps = _caps(rep.batches)
    channel_of = {q.name: q.channel for q in config.queues}
    seen: set[str] = set()
    outcomes: dict[str, int] = {}
    n_out: dict[str, int] = {}
    n_assigned: dict[str, int] = {}
    held: dict[tuple[str, str], int] = {}
    offer_of: dict[str, list[str]] = {}  # inquiry -> agents holding an open offer of it
    chan: dict[str, str] = {}
    max_load: dict[str, int] = {}
    problems: list[str] = []

    def take(agent: str, inquiry: str, queue: str) -> None:
        ch = channel_of.get(queue, "voice")
        chan[inquiry] = ch
        k = (agent, ch)
        held[k] = held.get(k, 0) + 1
        name = f"{agent}/{ch}"
        max_load[name] = max(max_load.get(name, 0), held[k])
        cap = caps.get(agent, {}).get(ch)
        if cap is not None and held[k] > cap:
            problems.append(f"agent {agent!r} holds {held[k]} on {ch!r}, above its cap {cap}")

    def give(agent: str, inquiry: str) -> None:
        k = (agent, chan.get(inquiry, "voice"))
        held[k] = held.get(k, 0) - 1

    for out in rep.outputs:
        for refusal in out.refusals:
            if refusal.error == "DeadLettered" and refusal.input == Submit.__struct_config__.tag:
                outcomes["DeadLettered"] = outcomes.get("DeadLettered", 0) + 1
                n_out[refusal.ref] = n_out.get(refusal.ref, 0) + 1
                seen.add(refusal.ref)
        for ev in out.events:
            iid = getattr(ev, "inquiry_id", None)
            if iid is None:
                continue
            seen.add(iid)
            if isinstance(ev, Offered):
                take(ev.agent_id, iid, ev.queue)
                offer_of.setdefault(iid, []).append(ev.agent_id)
            elif isinstance(ev, Assigned):
                n_assigned[iid] = n_assigned.get(iid, 0) + 1
                holders = offer_of.pop(iid, [])
                if ev.agent_id in holders:
                    holders.remove(ev.agent_id)  # the offer's slot is now the work's
                else:
                    take(ev.agent_id, iid, ev.queue)
                for other in holders:  # (rescinds come first: none should be left)
                    give(other, iid)
            elif isinstance(ev, (OfferDeclined, OfferExpired, OfferRescinded)):
                held_by = offer_of.get(iid)
                if held_by is not None and ev.agent_id in held_by:
                    held_by.remove(ev.agent_id)
                    give(ev.agent_id, iid)
            elif isinstance(ev, Requeued) and iid in offer_of:
                for other in offer_of.pop(iid):  # taken back without blame (break, logout)
                    give(other, iid)
            elif isinstance(ev, Completed):
                if ev.wrap_up_until <= ev.at:
                    give(ev.agent_id, iid)
            elif isinstance(ev, WrapUpEnded):
                give(ev.agent_id, iid)
            if isinstance(ev, (Abandoned, Withdrawn)) and iid in offer_of:
                for other in offer_of.pop(iid):
                    give(other, iid)
            if isinstance(ev, _OUTCOMES):
                kind = type(ev).__name__
                outcomes[kind] = outcomes.get(kind, 0) + 1
                n_out[iid] = n_out.get(iid, 0) + 1
    wanted = set(added) if added is not None else seen
    for iid in sorted(wanted):
        n = n_out.get(iid, 0)
        if n != 1:
            problems.append(f"inquiry {iid!r} has {n} outcomes, expected exactly 1")
    for iid, n in sorted(n_assigned.items()):
        if n > 1:
            problems.append(f"inquiry {iid!r} was assigned {n} times")
    if added is not None:
        for iid in sorted(seen - wanted):
            problems.append(f"inquiry {iid!r} appears in the outputs but was never added")
    return Audit(
        inquiries=len(wanted),
        outcomes=outcomes,
        assigned=sum(n_assigned.values()),
        max_load=max_load,
        problems=problems,
    )
