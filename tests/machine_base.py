"""Rules shared by the Hypothesis state machines that drive a Router.

Subclasses set ``self.r`` (the router) and ``self.now`` and implement
``_absorb(events)``; they add their own login/submit rules and invariants.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from router import Router, UsageError
from router._records import ASSIGNED, OFFERED, WAITING


class RouterDriver(RuleBasedStateMachine):
    r: Router
    now: float

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
