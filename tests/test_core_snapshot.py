"""Snapshot mid-run, restore, apply the same inputs: byte-identical events."""

from __future__ import annotations

import random
from collections.abc import Callable

from router import AgentSpec, Inquiry, Router, encode_events
from router.core import Router as CoreRouter
from tests.helpers import config

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
