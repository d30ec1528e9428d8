"""Hypothesis state machine: random valid reconfigures in the middle of random traffic.

Every rule and check of ``tests/machine_base.py`` (caps, accounting, decisions
at the step in force, liveness after every tick) plus a reconfigure rule: a
random valid config (queues added and removed, steps, weights, modes, channel
maxima) with random hand-overs. A lowered cap may leave an agent above it, but
its load only falls until it is under; ``queue_removed`` rejections are
outcomes like any other. A reconfigure the router refuses changes nothing
(snapshot bytes equal). An open offer is held to the new config (the machine's
check of standing offers makes no exception for it), and after a reconfigure an
agent update with the same spec takes nothing back.
"""

from __future__ import annotations

import msgspec
from hypothesis import strategies as st
from hypothesis.stateful import rule

from router import ConfigError, InvalidInput, Router, RouterConfig
from router.config import (
    Backpressure,
    Channel,
    OutboundConfig,
    QueueConfig,
    Routing,
    Step,
    Weights,
    Wellbeing,
)
from tests.machine_base import RouterMachine, machine_tests

# name -> (channel, tenant, skill, heavy): fixed, so a queue never changes channel
CATALOGUE: dict[str, tuple[str, str | None, str, bool]] = {
    "voice_a": ("voice", "a", "refund", False),
    "voice_b": ("voice", "b", "refund", False),
    "chat_any": ("chat", None, "chat", False),
    "complaints": ("voice", None, "complaint", True),
    "mail": ("email", None, "chat", False),
}


@st.composite
def queue_configs(draw: st.DrawFn, name: str) -> QueueConfig:
    channel, tenant, skill, heavy = CATALOGUE[name]
    level = draw(st.integers(1, 3))
    steps = []
    if level > 1 and draw(st.booleans()):
        steps.append(Step(after_s=draw(st.sampled_from([5.0, 20.0])), requires={skill: 1}))
    return QueueConfig(
        name=name,
        channel=channel,
        tenant=tenant,
        requires={skill: level},
        priority=draw(st.integers(0, 2)),
        steps=steps,
        heavy=heavy,
        weights=draw(st.none() | weights()),
    )


def weights() -> st.SearchStrategy[Weights]:
    w = st.sampled_from([0.0, 0.5, 1.0, 3.0])
    return st.builds(
        Weights,
        proficiency=w,
        idle_time=w,
        load=w,
        recent_work=w,
        recent_count=w,
        heavy_streak=w,
    )


@st.composite
def configs(draw: st.DrawFn) -> RouterConfig:
    names = draw(st.lists(st.sampled_from(sorted(CATALOGUE)), min_size=1, unique=True))
    queues = [draw(queue_configs(n)) for n in names]
    queues = [
        msgspec.structs.replace(
            q, on_remove=draw(st.none() | st.sampled_from(names)) if len(names) > 1 else None
        )
        for q in queues
    ]
    queues = [
        q if q.on_remove != q.name else msgspec.structs.replace(q, on_remove=None) for q in queues
    ]
    routing = Routing(
        weights=draw(weights()),
        mode=draw(st.sampled_from(["offer", "immediate"])),
        offer_timeout_s=draw(st.sampled_from([10.0, 15.0])),
        max_no_answer=2,
        recent_window_s=draw(st.sampled_from([30.0, 300.0])),
        # aging changes the order of what waits and of outbound tasks held (re-keyed)
        priority_seconds=draw(st.sampled_from([60.0, 10.0])),
    )
    # an outbound queue or none: its held tasks must survive every change of config
    outbound = OutboundConfig(
        queues=draw(st.lists(st.sampled_from(names), max_size=1)), reserve_idle=0
    )
    wellbeing = Wellbeing(
        max_consecutive_heavy=draw(st.none() | st.integers(1, 3)),
        heavy_recovery_s=20.0,
        max_continuous_work_s=draw(st.none() | st.just(300.0)),
        break_s=40.0,
    )
    chat_max = draw(st.integers(1, 4))
    return RouterConfig(
        routing=routing,
        queues=queues,
        wellbeing=wellbeing,
        channels={"chat": Channel(max_concurrency=chat_max, unit_cost=20)},
        backpressure=Backpressure(outbound=outbound),
    )


BASE = RouterConfig(
    queues=[
        QueueConfig(name=n, channel=c, tenant=t, requires={s: 1}, heavy=h)
        for n, (c, t, s, h) in CATALOGUE.items()
    ],
    routing=Routing(offer_timeout_s=15.0, max_no_answer=2),
)


class ReconfigureMachine(RouterMachine):
    def config(self) -> RouterConfig:
        return BASE

    @rule(cfg=configs(), data=st.data())
    def reconfigure(self, cfg: RouterConfig, data: st.DataObject) -> None:
        new = {q.name for q in cfg.queues}
        removed = [q.name for q in self.r.config.queues if q.name not in new]
        hand_over = {
            name: data.draw(st.sampled_from([*sorted(new), "<nowhere>"]), label=f"to_{name}")
            for name in removed
            if data.draw(st.booleans(), label=f"hand_{name}")
        }
        self._fire_due_by_a_refusal()  # a refusal must change nothing else (``_refused``)
        before = self.r.snapshot()
        loads = {(a.id, ch): n for a in self.r._agents.values() for ch, n in a.load.items()}
        try:
            version = self.r.reconfigure(cfg, self.now, hand_over=hand_over)
        except ConfigError as exc:
            # a hand-over target (given, or the removed queue's on_remove) is not in cfg
            assert all(p.startswith("hand_over.") for p in exc.problems), exc.problems
            assert self.r.snapshot() == before
            return
        assert "<nowhere>" not in hand_over.values()
        self.configs[version] = cfg
        self._a_no_op_update_takes_nothing_back()
        for a in self.r._agents.values():
            for ch in a.caps:
                cap = self._expected_cap(a.id, ch)
                self.ceiling[(a.id, ch)] = max(cap, loads.get((a.id, ch), 0))

    def _a_no_op_update_takes_nothing_back(self) -> None:
        """After a reconfigure, an update of an agent holding offers with the spec it has
        emits ``AgentUpdated`` only and keeps its offers (each offer is in one of the new
        config's pools); an update refused (a capacity above a lowered channel maximum)
        changes nothing. On a restored copy: the run goes on as drawn."""
        copy = Router.restore(self.r.snapshot())
        for a in list(copy._agents.values()):
            held = list(a.offers)
            if not held:
                continue
            n = len(copy._events)
            try:
                copy.update_agent(a.spec, self.now)
            except InvalidInput:  # its capacity above a channel maximum the config lowered
                continue
            got = [type(e).__name__ for e in copy._events[n:]]
            assert got == ["AgentUpdated"], f"a no-op update of {a.id}: {got}"
            assert list(a.offers) == held, f"a no-op update of {a.id} lost offers"


TestReconfigureMachine, TestReconfigureMachineRandomized = machine_tests(
    ReconfigureMachine, fixed=80, randomized=10
)
