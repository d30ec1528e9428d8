"""Rules shared by the Hypothesis state machines that drive a Router.

Subclasses set ``self.r`` (the router), ``self.now``, ``self.submitted`` (ids
admitted) and ``self.outcome`` (id -> outcome event name, filled by their
``_absorb(events)``); they add their own login/submit rules and invariants.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from router import Router, UsageError
from router.state.records import ASSIGNED, OFFERED, WAITING, WRAPUP

OUTCOMES = {"Abandoned", "Withdrawn", "Completed", "Rejected", "Deflected"}


class RouterDriver(RuleBasedStateMachine):
    r: Router
    now: float
    submitted: set[str]
    outcome: dict[str, str]

    def _absorb(self, events: list[Any]) -> None:
        raise NotImplementedError

    def _do(self, fn: Any, *args: Any) -> None:
        with contextlib.suppress(UsageError):
            fn(*args)

    def _pick(self, state: int, k: int) -> str | None:
        ids = sorted(i for i, t in self.r._tickets.items() if t.state == state)
        return ids[k % len(ids)] if ids else None

    @rule(dt=st.sampled_from([0.0, 1.0, 7.0, 16.0, 45.0]))
    def tick(self, dt: float) -> None:
        self.now += dt
        self._absorb(self.r.tick(self.now))

    @rule(k=st.integers(0, 50), accept=st.booleans())
    def answer_offer(self, k: int, accept: bool) -> None:
        iid = self._pick(OFFERED, k)
        if iid is not None:
            (self.r.accept if accept else self.r.decline)(iid, self.now)

    @rule(k=st.integers(0, 50))
    def complete(self, k: int) -> None:
        iid = self._pick(ASSIGNED, k)
        if iid is not None:
            self.r.complete(iid, self.now)

    @rule(k=st.integers(0, 50))
    def withdraw(self, k: int) -> None:
        iid = self._pick(WAITING, k)
        if iid is not None:
            self.r.withdraw(iid, self.now)

    @precondition(lambda self: bool(self.r._agents))
    @rule(k=st.integers(0, 50), action=st.sampled_from(["break", "ready", "logout"]))
    def agent_state(self, k: int, action: str) -> None:
        ids = sorted(self.r._agents)
        aid = ids[k % len(ids)]
        fn = {"break": self.r.go_on_break, "ready": self.r.set_ready, "logout": self.r.logout}
        self._do(fn[action], aid, self.now)

    @rule()
    def snapshot_roundtrip(self) -> None:
        snap = self.r.snapshot()
        restored = Router.restore(snap)
        assert restored.snapshot() == snap
        self.r = restored

    @invariant()
    def every_inquiry_accounted_for(self) -> None:
        live = self.r._tickets
        # events of inputs since the last tick are still in the router's outbox
        pending = {e.inquiry_id for e in self.r._events if type(e).__name__ in OUTCOMES}
        for iid in self.submitted:
            ended = iid in self.outcome or iid in pending
            # a completed inquiry stays live, in wrap-up, until the agent's slot frees
            alive = iid in live and live[iid].state != WRAPUP
            assert alive != ended, iid
        holders: dict[str, str] = {}
        for a in self.r._agents.values():
            for iid in list(a.offers) + list(a.work):
                assert iid not in holders, f"{iid} held by {holders[iid]} and {a.id}"
                holders[iid] = a.id
        for iid, t in live.items():
            if t.state in (OFFERED, ASSIGNED, WRAPUP):
                assert holders.get(iid) == t.agent.id  # type: ignore[union-attr]
            else:
                assert iid not in holders
        waiting = sum(1 for t in live.values() if t.state == WAITING)
        assert waiting == self.r.statistics().waiting
