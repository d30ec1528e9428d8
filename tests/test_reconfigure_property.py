"""Hypothesis state machine: random valid reconfigures in the middle of random traffic.

After every step: no agent takes work above its cap (a lowered cap may leave an
agent above it, but its load only falls until it is under); every live inquiry
is in exactly one state and held by at most one agent; no inquiry is assigned
twice; every offer and assignment respects the skills (some requirement step),
tenant and channel of its queue *in the config version the event carries*;
every submitted inquiry is live or has exactly one outcome (``queue_removed``
rejections included). A reconfigure the router refuses changes nothing
(snapshot bytes equal).
"""

from __future__ import annotations

import os
from typing import Any

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from router import AgentSpec, ConfigError, Inquiry, Router, RouterConfig
from router.config import DEFAULT_CHANNELS, Channel, QueueConfig, Routing, Step, Weights, Wellbeing
from router.state.records import WRAPUP
from tests.machine_base import OUTCOMES, RouterDriver

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
    )


BASE = RouterConfig(
    queues=[
        QueueConfig(name=n, channel=c, tenant=t, requires={s: 1}, heavy=h)
        for n, (c, t, s, h) in CATALOGUE.items()
    ],
    routing=Routing(offer_timeout_s=15.0, max_no_answer=2),
)


class ReconfigureMachine(RouterDriver):
    def __init__(self) -> None:
        super().__init__()
        self.r = Router(BASE)
        self.configs: dict[int, RouterConfig] = {1: BASE}
        self.now = 0.0
        self.n_inq = 0
        self.n_agents = 0
        self.specs: dict[str, AgentSpec] = {}
        self.tenant_of: dict[str, str | None] = {}
        self.submitted: set[str] = set()
        self.outcome: dict[str, str] = {}
        self.assigned_once: set[str] = set()
        self.offered: set[str] = set()
        self.ceiling: dict[tuple[str, str], int] = {}

    # ---------------------------------------------------------------- helpers
    def _absorb(self, events: list[Any]) -> None:
        for e in events:
            name = type(e).__name__
            if name == "Offered":
                self.offered.add(e.inquiry_id)
                self._check_fit(e)
            elif name == "Assigned":
                assert e.inquiry_id not in self.assigned_once, f"assigned twice: {e}"
                self.assigned_once.add(e.inquiry_id)
                if e.inquiry_id not in self.offered:  # accepting an offer is no new decision
                    self._check_fit(e)
            if name in OUTCOMES:
                assert e.inquiry_id not in self.outcome, f"two outcomes: {e}"
                self.outcome[e.inquiry_id] = name

    def _check_fit(self, e: Any) -> None:
        cfg = self.configs[e.version]
        (q,) = [q for q in cfg.queues if q.name == e.queue]
        spec = self.specs[e.agent_id]
        options = [q.requires] + [s.requires for s in q.steps]
        assert any(
            all(spec.skills.get(s, 0) >= lvl for s, lvl in req.items()) for req in options
        ), (e, spec, options)
        tenant = self.tenant_of[e.inquiry_id]
        assert tenant is None or tenant in spec.tenants, (e, spec)
        assert spec.capacity.get(q.channel, 0) > 0, (e, spec)

    def _live_queues(self) -> list[QueueConfig]:
        return list(self.r.config.queues)

    # ---------------------------------------------------------------- rules
    @rule(
        refund=st.integers(0, 3),
        chat=st.integers(0, 3),
        complaint=st.integers(0, 3),
        tenants=st.sets(st.sampled_from(["a", "b"])),
        chat_cap=st.integers(0, 4),
        mail_cap=st.integers(0, 2),
        wrap=st.sampled_from([0.0, 5.0]),
    )
    def login(
        self,
        refund: int,
        chat: int,
        complaint: int,
        tenants: set[str],
        chat_cap: int,
        mail_cap: int,
        wrap: float,
    ) -> None:
        self.n_agents += 1
        skills = {
            k: v for k, v in (("refund", refund), ("chat", chat), ("complaint", complaint)) if v
        }
        channels = {**DEFAULT_CHANNELS, **self.r.config.channels}
        spec = AgentSpec(
            id=f"ag{self.n_agents}",
            skills=skills,
            capacity={
                "voice": 1,
                "chat": min(chat_cap, channels["chat"].max_concurrency),
                "email": mail_cap,
            },
            tenants=frozenset(tenants),
            wrap_up_s=wrap,
        )
        self.specs[spec.id] = spec
        self.r.login(spec, self.now)

    @rule(k=st.integers(0, 10), patience=st.sampled_from([None, 10.0, 60.0]))
    def submit(self, k: int, patience: float | None) -> None:
        queues = self._live_queues()
        q = queues[k % len(queues)]
        self.n_inq += 1
        iid = f"i{self.n_inq}"
        adm = self.r.submit(Inquiry(id=iid, queue=q.name, patience_s=patience), self.now)
        self.tenant_of[iid] = q.tenant
        self.submitted.add(iid)
        assert adm.outcome == "admitted"

    @rule(cfg=configs(), data=st.data())
    def reconfigure(self, cfg: RouterConfig, data: st.DataObject) -> None:
        new = {q.name for q in cfg.queues}
        removed = [q.name for q in self.r.config.queues if q.name not in new]
        hand_over = {
            name: data.draw(st.sampled_from([*sorted(new), "<nowhere>"]), label=f"to_{name}")
            for name in removed
            if data.draw(st.booleans(), label=f"hand_{name}")
        }
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
        for a in self.r._agents.values():
            for ch, cap in a.caps.items():
                self.ceiling[(a.id, ch)] = max(cap, loads.get((a.id, ch), 0))

    # ---------------------------------------------------------------- invariants
    @invariant()
    def caps_never_exceeded_by_new_work(self) -> None:
        for a in self.r._agents.values():
            for ch, n in a.load.items():
                cap = a.caps.get(ch, 0)
                ceiling = self.ceiling.get((a.id, ch), cap)
                assert 0 <= n <= max(cap, ceiling), (a.id, ch, n, cap, ceiling)
                self.ceiling[(a.id, ch)] = max(cap, min(ceiling, n))
            held = len(a.offers) + len(a.work)
            assert held == a.total_load == sum(a.load.values())

    @invariant()
    def conservation(self) -> None:
        c = self.r.counters
        assert c.submitted == len(self.submitted)
        in_router = sum(1 for t in self.r._tickets.values() if t.state != WRAPUP)
        ended = c.completed + c.withdrawn + c.abandoned + c.rejected
        assert len(self.submitted) == in_router + ended + c.deflected


ReconfigureMachine.TestCase.settings = settings(
    # ROUTER_FUZZ=2000 for a longer, randomised bug hunt
    max_examples=int(os.environ.get("ROUTER_FUZZ", "100")),
    stateful_step_count=50,
    deadline=None,
    derandomize="ROUTER_FUZZ" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestReconfigureMachine = ReconfigureMachine.TestCase
