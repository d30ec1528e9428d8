"""Snapshot mid-run, restore, apply the same inputs: byte-identical events."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, InvalidSnapshot, Router, UsageError, encode_events
from router.core import Router as CoreRouter
from router.state import codec
from tests.helpers import config, native_heaps

TOML = """
[routing]
mode = "offer"
offer_timeout_s = 8
weights = { proficiency = 1.0, idle_time = 1.0, load = 2.0, recent_work = 1.0, heavy_streak = 0.5 }
[wellbeing]
max_consecutive_heavy = 2
heavy_recovery_s = 30
max_continuous_work_s = 400
break_s = 60
[[queues]]
name = "refund"
requires = { refund = 2 }
steps = [{ after_s = 20, requires = { refund = 1 } }]
[[queues]]
name = "complaint"
heavy = true
requires = { complaint = 1 }
[[queues]]
name = "chat"
channel = "chat"
requires = { refund = 1 }
"""

Op = Callable[[Router], None]


def script(seed: int, n: int) -> list[tuple[float, Op]]:
    """A seeded random input script, valid against any router that followed it."""
    rng = random.Random(seed)
    ops: list[tuple[float, Op]] = []
    t = 0.0
    for i in range(12):
        spec = AgentSpec(
            id=f"a{i}",
            skills={"refund": rng.randint(1, 5), "complaint": rng.randint(0, 1) or 1},
            capacity={"voice": 1, "chat": rng.choice([0, 3, 5])},
            wrap_up_s=rng.choice([0.0, 5.0]),
        )
        ops.append((t, lambda r, s=spec: r.login(s, r.now)))
    for k in range(n):
        t += rng.expovariate(1.0)
        q = rng.choice(["refund", "refund", "complaint", "chat"])
        iq = Inquiry(
            id=f"q{k}",
            queue=q,
            patience_s=rng.choice([None, 30.0, 90.0]),
            priority=rng.choice([None, 0, 1]),
        )
        ops.append((t, lambda r, x=iq: r.submit(x, r.now)))
        ops.append((t, _react(rng.random())))
    return ops


def _react(u: float) -> Op:
    def op(r: Router) -> None:
        # accept/decline the oldest offer, complete the oldest assignment
        for inq_id, t in list(r._tickets.items()):
            if t.state == 2:  # offered
                (r.accept if u < 0.85 else r.decline)(inq_id, r.now)
                break
        for inq_id, t in list(r._tickets.items()):
            if t.state == 3 and r.now - t.assigned_at > 3:
                r.complete(inq_id, r.now)
                break

    return op


def run(r: Router, ops: list[tuple[float, Op]]) -> bytes:
    out = []
    for t, op in ops:
        r._now = max(r._now, 0.0)
        r.tick(t)
        op(r)
        out.extend(r.tick(t))
    return encode_events(out)


def test_restore_mid_run_gives_identical_events() -> None:
    ops = script(seed=11, n=600)
    cut = len(ops) // 2
    a = CoreRouter(config(TOML))
    run(a, ops[:cut])
    snap = a.snapshot()
    b = Router.restore(snap)
    assert b.snapshot() == snap
    ea = run(a, ops[cut:])
    eb = run(b, ops[cut:])
    assert ea == eb
    assert len(ea) > 1000
    assert a.snapshot() == b.snapshot()


def test_same_inputs_same_events_across_instances() -> None:
    ops = script(seed=3, n=300)
    assert run(Router(config(TOML)), ops) == run(Router(config(TOML)), ops)


SCHEDULED = """
[routing]
mode = "immediate"
[[queues]]
name = "q"
"""


def test_a_restored_router_counts_the_staffing_to_come_in_its_estimates() -> None:
    # Ann comes on shift at 100; Bo is on a break: the expected wait told at arrival
    # counts Ann coming, in the router that was restored as in the one that was not
    # (found by the machines' replay: the restore forgot who has a schedule)
    from router import Shift

    def build() -> Router:
        r = Router(config(SCHEDULED))
        r.login(AgentSpec(id="ann", shifts=[Shift(start_s=100.0, end_s=900.0)]), 0)
        r.login(AgentSpec(id="bo"), 0)
        r.go_on_break("bo", 0)
        r.tick(0)
        return r

    kept = build().submit(Inquiry(id="i1", queue="q"), 2)
    restored = Router.restore(build().snapshot()).submit(Inquiry(id="i1", queue="q"), 2)
    assert kept == restored
    assert kept.expected_wait_s == 139.0  # Ann at 100, then her first answer


TWO_OFFERS = """
[routing]
mode = "offer"
[[queues]]
name = "q"
channel = "chat"
"""


def test_a_restored_agent_gives_back_its_offers_in_the_order_they_came() -> None:
    # i2 (priority 3) is offered to Ann before i1: going on a break she gives them back in
    # that order, restored or not (found by the machines' replay: a restore listed an
    # agent's offers in the order of the tickets)
    def build() -> Router:
        r = Router(config(TWO_OFFERS))
        r.submit(Inquiry(id="i1", queue="q"), 0)
        r.submit(Inquiry(id="i2", queue="q", priority=3), 0)
        r.login(AgentSpec(id="ann", capacity={"chat": 3}), 1)
        assert [e.inquiry_id for e in r.tick(1) if type(e).__name__ == "Offered"] == ["i2", "i1"]
        return r

    def give_back(r: Router) -> list[str]:
        r.go_on_break("ann", 2)
        return [e.inquiry_id for e in r.tick(2) if type(e).__name__ == "Requeued"]

    assert give_back(build()) == give_back(Router.restore(build().snapshot())) == ["i2", "i1"]


CALLBACK_TO_OUTBOUND = """
[routing]
mode = "offer"
[[queues]]
name = "voice"
requires = { refund = 2 }
[[queues]]
name = "outbound"
requires = { refund = 1 }
[backpressure]
policy = ["callback", "reject_when_full"]
max_queue = 4
max_callbacks = 2
priority_reserve = 0.5
callback = { min_wait_s = 30, retry_s = 15, max_attempts = 2 }
outbound = { queues = ["outbound"], reserve_idle = 0 }
"""


def test_a_callback_moved_to_an_outbound_queue_is_not_restored_as_between_attempts() -> None:
    # i2 waits as a callback (nobody has refund 2), then is moved to the outbound queue,
    # where that policy holds it: it is no callback between attempts, restored or not
    # (found by the machines' replay: a restore counted every parked callback as one)
    def build() -> Router:
        r = Router(config(CALLBACK_TO_OUTBOUND))
        r.login(AgentSpec(id="ag2", skills={"refund": 1}), 0)
        r.submit(Inquiry(id="i1", queue="outbound"), 0)
        r.tick(0)
        r.accept("i1", 0)  # ag2 is busy with the task
        assert r.submit(Inquiry(id="i2", queue="voice"), 0).outcome == "callback"
        r.transfer("i2", "outbound", 0)
        r.tick(0)
        return r

    kept = [build().submit(Inquiry(id=i, queue="voice"), 0) for i in ("i3",)]
    restored_router = Router.restore(build().snapshot())
    restored = [restored_router.submit(Inquiry(id=i, queue="voice"), 0) for i in ("i3",)]
    assert kept == restored
    assert kept[0].outcome == "callback"


def _garbage() -> list[tuple[str, object, str]]:
    """(case, what restore is given, the start of the message after ``snapshot: ``)."""
    r = CoreRouter(config(TOML))
    run(r, script(seed=5, n=40))
    good = r.snapshot()
    snap = codec.decode(good)
    dup = msgspec.structs.replace(snap.config, queues=[*snap.config.queues, snap.config.queues[0]])
    return [
        ("empty", b"", "$: Input data was truncated"),
        ("truncated", good[: len(good) // 2], "$: Input data was truncated"),
        ("random bytes", bytes(random.Random(7).randbytes(64)), "$"),
        ("msgpack, not a map", msgspec.msgpack.encode([1, 2, 3]), "$: Expected object, got array"),
        (
            "msgpack map, fields missing",
            msgspec.msgpack.encode({"format": codec.FORMAT}),
            "$: Object missing required field config",
        ),
        (
            "a field of the wrong type",
            msgspec.msgpack.encode({**msgspec.to_builtins(snap), "seq": "x"}),
            "$.seq: Expected int, got str",
        ),
        ("json", msgspec.json.encode(msgspec.to_builtins(snap)), "$: Expected object, got int"),
        (
            "another format",
            codec.encode(msgspec.structs.replace(snap, format=codec.FORMAT + 1)),
            f"format {codec.FORMAT + 1} is not supported (expected {codec.FORMAT})",
        ),
        (
            "an older format's layout",
            msgspec.msgpack.encode(
                {**msgspec.to_builtins(snap), "format": 1, "pools": [["refund", None, [], 0]]}
            ),
            f"format 1 is not supported (expected {codec.FORMAT})",
        ),
        (
            "a name no record has",
            codec.encode(msgspec.structs.replace(snap, freed=["ghost"])),
            "inconsistent: ",
        ),
        (
            "its config invalid",
            codec.encode(msgspec.structs.replace(snap, config=dup)),
            "$.queues[3].name: duplicate",
        ),
        ("None", None, "expected bytes, got NoneType"),
        ("a str", good.decode("latin-1"), "expected bytes, got str"),
        ("an int", 7, "expected bytes, got int"),
    ]


def test_restoring_what_is_no_snapshot_raises_invalid_snapshot_saying_why() -> None:
    """Bytes that are not a snapshot this release wrote (or not bytes at all) raise the
    project's ``InvalidSnapshot`` (a ``UsageError``, and a ``ValueError`` as msgspec's
    errors were) naming what is wrong, with msgspec's path where there is one."""
    for case, data, start in _garbage():
        with pytest.raises(InvalidSnapshot) as info:
            Router.restore(data)  # type: ignore[arg-type]
        err = info.value
        assert isinstance(err, UsageError) and isinstance(err, ValueError), case
        assert str(err).startswith(f"snapshot: {start}"), (case, str(err))
    r = CoreRouter(config(TOML))
    run(r, script(seed=5, n=40))
    good = r.snapshot()
    assert Router.restore(bytearray(good)).snapshot() == good  # bytes-like is bytes
    assert Router.restore(memoryview(good)).snapshot() == good


def test_a_snapshot_with_more_agents_than_a_compiled_router_holds_is_refused() -> None:
    """A compiled router has room for ``2^26`` agents (``lazyheap.SLOT_LIMIT``, the login
    refuses the next one); a snapshot of more is refused by the restore the same way, before
    anything changes (docs/compiled.md "How many agents"). Tested with the bound lowered to
    below the snapshot's agents (``_slot_limit``, as the login's test does), on a router set
    up as ``restore`` sets it up; on the pure build as a compiled one (``_native_heap``:
    every heap still empty)."""
    r = CoreRouter(config(TOML))
    run(r, script(seed=5, n=40))
    data = r.snapshot()
    snap = codec.decode(data)
    n = len(snap.agents)
    assert n >= 2
    fresh = CoreRouter(snap.config, now=snap.now)
    native_heaps(fresh)
    fresh._slot_limit = n - 1
    before = fresh.snapshot()
    with pytest.raises(InvalidSnapshot) as info:
        fresh._restore(snap)
    assert str(info.value) == (
        f"snapshot: {n} agents: a compiled router has room for {n - 1} (their heap entries' "
        "slots: router/state/lazyheap.py); restore it into the pure build"
    )
    assert fresh.snapshot() == before  # nothing changed
    room = CoreRouter(snap.config, now=snap.now)
    native_heaps(room)
    room._slot_limit = n  # room for exactly them
    room._restore(snap)
    assert room.snapshot() == data
    assert Router.restore(data).snapshot() == data  # the real bound
    if not r._native_heap:  # pure: the public path too, through a subclass with less room

        class Small(CoreRouter):
            def __init__(self, cfg: Any, now: float = 0.0) -> None:
                super().__init__(cfg, now=now)
                native_heaps(self)
                self._slot_limit = n - 1

        with pytest.raises(InvalidSnapshot) as again:
            Small.restore(data)
        assert str(again.value) == str(info.value)
