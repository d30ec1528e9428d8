"""Hypothesis stateful test: random inputs, invariants checked after every step.

Invariants: no agent above any cap (per channel and in units); every live
inquiry in exactly one state and held by at most one agent; never assigned
twice; skills, levels, tenants and queue membership respected by every offer
and assignment; every submitted inquiry accounted for (live or exactly one
outcome); snapshot/restore round-trips.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from router import AgentSpec, Inquiry, Router
from tests.helpers import config
from tests.machine_base import OUTCOMES, RouterDriver

TOML = """
[routing]
mode = "offer"
offer_timeout_s = 15
max_no_answer = 2
weights = { proficiency = 1.0, idle_time = 1.0, load = 1.0, recent_work = 1.0, heavy_streak = 1.0 }
[wellbeing]
max_consecutive_heavy = 2
heavy_recovery_s = 20
max_continuous_work_s = 300
break_s = 40
[[queues]]
name = "voice_a"
tenant = "a"
requires = { refund = 2 }
steps = [{ after_s = 30, requires = { refund = 1 } }]
[[queues]]
name = "voice_b"
tenant = "b"
requires = { refund = 1 }
[[queues]]
name = "chat_any"
channel = "chat"
requires = { chat = 1 }
[[queues]]
name = "complaints"
heavy = true
requires = { complaint = 3 }
priority = 1
"""

# weakest requirement of each queue (after all relaxation steps), and tenant
WEAKEST = {
    "voice_a": ({"refund": 1}, "a", "voice"),
    "voice_b": ({"refund": 1}, "b", "voice"),
    "chat_any": ({"chat": 1}, None, "chat"),
    "complaints": ({"complaint": 3}, None, "voice"),
}

levels = st.integers(min_value=0, max_value=5)


class CoreMachine(RouterDriver):
    def __init__(self) -> None:
        super().__init__()
        self.r = Router(config(TOML))
        self.now = 0.0
        self.n_inq = 0
        self.n_agents = 0
        self.specs: dict[str, AgentSpec] = {}
        self.submitted: set[str] = set()
        self.outcome: dict[str, str] = {}
        self.assigned_once: set[str] = set()
        self.queue_of: dict[str, str] = {}

    # ---------------------------------------------------------------- helpers
    def _absorb(self, events: list[Any]) -> None:
        for e in events:
            name = type(e).__name__
            if name in ("Offered", "Assigned"):
                spec = self.specs[e.agent_id]
                req, tenant, channel = WEAKEST[self.queue_of[e.inquiry_id]]
                for skill, lvl in req.items():
                    assert spec.skills.get(skill, 0) >= lvl, (e, spec)
                if tenant is not None:
                    assert tenant in spec.tenants, (e, spec)
                assert spec.capacity.get(channel, 0) > 0
            if name == "Assigned":
                assert e.inquiry_id not in self.assigned_once, f"assigned twice: {e}"
                self.assigned_once.add(e.inquiry_id)
            if name in OUTCOMES:
                assert e.inquiry_id not in self.outcome, f"two outcomes: {e}"
                self.outcome[e.inquiry_id] = name

    # ---------------------------------------------------------------- rules
    @rule(
        refund=levels,
        chat=levels,
        complaint=levels,
        tenants=st.sets(st.sampled_from(["a", "b"])),
        chat_cap=st.integers(0, 4),
        wrap=st.sampled_from([0.0, 5.0]),
    )
    def login(
        self, refund: int, chat: int, complaint: int, tenants: set[str], chat_cap: int, wrap: float
    ) -> None:
        self.n_agents += 1
        skills = {
            k: v for k, v in (("refund", refund), ("chat", chat), ("complaint", complaint)) if v
        }
        spec = AgentSpec(
            id=f"ag{self.n_agents}",
            skills=skills,
            capacity={"voice": 1, "chat": chat_cap},
            tenants=frozenset(tenants),
            wrap_up_s=wrap,
        )
        self.specs[spec.id] = spec
        self.r.login(spec, self.now)

    @rule(
        queue=st.sampled_from(sorted(WEAKEST)),
        patience=st.sampled_from([None, 10.0, 60.0]),
        priority=st.sampled_from([None, 0, 2]),
    )
    def submit(self, queue: str, patience: float | None, priority: int | None) -> None:
        self.n_inq += 1
        iid = f"i{self.n_inq}"
        self.queue_of[iid] = queue
        adm = self.r.submit(
            Inquiry(id=iid, queue=queue, patience_s=patience, priority=priority), self.now
        )
        self.submitted.add(iid)
        assert adm.outcome == "admitted"

    # ---------------------------------------------------------------- invariants
    @invariant()
    def caps_never_exceeded(self) -> None:
        for a in self.r._agents.values():
            for ch, n in a.load.items():
                assert 0 <= n <= a.caps.get(ch, 0), (a.id, ch, n, a.caps)
            held = len(a.offers) + len(a.work)
            assert held == a.total_load == sum(a.load.values())


CoreMachine.TestCase.settings = settings(
    # ROUTER_FUZZ=2000 for a longer, randomised bug hunt
    max_examples=int(os.environ.get("ROUTER_FUZZ", "150")),
    stateful_step_count=60,
    deadline=None,
    derandomize="ROUTER_FUZZ" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCoreMachine = CoreMachine.TestCase
