"""Backpressure under a flood: conservation, bounds and flat memory at 20x, for each policy.

The driver is a small seeded loop (Poisson arrivals, exponential handle times and
patience) that talks to the core directly, so every step can be checked: each
inquiry reaches exactly one outcome, and a bounded policy never lets more wait
than its bound.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router, decode_config
from router.events import (
    Abandoned,
    Assigned,
    CallbackScheduled,
    Deflected,
    Offered,
    Queued,
    Rejected,
    Withdrawn,
    encode_events,
)
from router.model import Admission

FINAL = (Assigned, Abandoned, Withdrawn, Rejected, Deflected)

_ARRIVE, _DONE, _ACCEPT = 0, 1, 2


class Flood:
    """Drive a router with seeded traffic; record outcomes and check invariants each step.

    ``streams``: ``(queue, rate_per_s, priority or None)``. In offer mode offers are
    accepted at once, except that a callback's call reaches the customer only with
    probability ``reach`` (else ``callback_failed``). A ``blocked`` admission is held by
    the producer and resubmitted when ``has_room`` says so.
    """

    def __init__(
        self,
        router: Router,
        streams: list[tuple[str, float, int | None]],
        *,
        handle_s: float = 60.0,
        patience_s: float | None = 120.0,
        duration_s: float = 600.0,
        seed: int = 1,
        reach: float = 1.0,
        record: bool = False,
        on_submit: Callable[[Flood, Admission], None] | None = None,
    ) -> None:
        self.r = router
        self.rng = random.Random(seed)
        self.streams = streams
        self.handle_s = handle_s
        self.patience_s = patience_s
        self.duration = duration_s
        self.reach = reach
        self.heap: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.n = 0
        self.outcome: dict[str, str | None] = {}
        self.callbacks: set[str] = set()
        self.offer_no: dict[str, int] = {}
        self.held: deque[Inquiry] = deque()
        self.ewt: dict[str, float] = {}
        self.pairs: list[tuple[float, float]] = []  # (expected wait told, wait that followed)
        self.waits: dict[str, float] = {}
        self.events: list[Any] | None = [] if record else None
        self.on_submit = on_submit
        self.max_waiting = 0
        self.max_tickets = 0
        self.t = 0.0
        for i, (_, rate, _) in enumerate(streams):
            self._push(self.rng.expovariate(rate), _ARRIVE, i)

    def _push(self, at: float, kind: int, payload: Any) -> None:
        self.seq += 1
        heappush(self.heap, (at, self.seq, kind, payload))

    def run(self, until: float = math.inf, check: Callable[[Flood], None] | None = None) -> Flood:
        r = self.r
        while True:
            nd = r.next_deadline()
            t = self.heap[0][0] if self.heap else math.inf
            if nd is not None and nd < t:
                t = nd
            if t == math.inf or t > until:
                return self
            self.t = t
            while self.heap and self.heap[0][0] <= t:
                _, _, kind, p = heappop(self.heap)
                if kind == _ARRIVE:
                    self._arrive(p, t)
                elif kind == _DONE:
                    r.complete(p, t)
                else:
                    iid, no = p
                    live = iid in r._tickets and r.inquiry_state(iid) == "offered"
                    if live and self.offer_no.get(iid) == no:
                        r.accept(iid, t)
            self._absorb(r.tick(t), t)
            while self.held and r.has_room(self.held[0].queue):
                self._submit(self.held.popleft(), t)
            self.max_waiting = max(self.max_waiting, r.total_waiting())
            self.max_tickets = max(self.max_tickets, len(r._tickets))
            if check is not None:
                check(self)

    def _arrive(self, stream: int, t: float) -> None:
        queue, rate, priority = self.streams[stream]
        self.n += 1
        iid = f"{stream}-{self.n}"
        kw: dict[str, Any] = {}
        if self.patience_s is not None:
            kw["patience_s"] = self.rng.expovariate(1 / self.patience_s)
        if priority is not None:
            kw["priority"] = priority
        self.outcome[iid] = None
        self._submit(Inquiry(id=iid, queue=queue, **kw), t)
        nxt = t + self.rng.expovariate(rate)
        if nxt < self.duration:
            self._push(nxt, _ARRIVE, stream)

    def _submit(self, inquiry: Inquiry, t: float) -> None:
        adm = self.r.submit(inquiry, t)
        if adm.outcome == "blocked":
            self.held.append(inquiry)
        if self.on_submit is not None:
            self.on_submit(self, adm)

    def _absorb(self, events: list[Any], t: float) -> None:
        if self.events is not None:
            self.events.extend(events)
        for e in events:
            cls = type(e)
            if cls is Queued:
                self.ewt.setdefault(e.inquiry_id, e.expected_wait_s)
            elif cls is CallbackScheduled:
                self.callbacks.add(e.inquiry_id)
            elif cls is Offered:
                iid = e.inquiry_id
                if iid in self.callbacks and self.rng.random() >= self.reach:
                    self.r.callback_failed(iid, t)
                    continue
                n = self.offer_no.get(iid, 0) + 1
                self.offer_no[iid] = n
                self._push(t, _ACCEPT, (iid, n))
            if isinstance(e, FINAL):
                iid = e.inquiry_id
                assert self.outcome[iid] is None, f"second outcome for {iid}: {e}"
                self.outcome[iid] = cls.__name__
                if cls is Assigned:
                    self._push(t + self.rng.expovariate(1 / self.handle_s), _DONE, iid)
                    self.waits[iid] = e.wait_s
                    told = self.ewt.get(iid)
                    if told is not None and math.isfinite(told):
                        self.pairs.append((told, e.wait_s))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.outcome.values():
            key = v or "open"
            out[key] = out.get(key, 0) + 1
        return out


def make_router(
    toml: str, agents: int, capacity: dict[str, int] | None = None, **spec: Any
) -> Router:
    r = Router(decode_config(toml))
    for i in range(agents):
        r.login(AgentSpec(id=f"a{i}", capacity=capacity or {"voice": 1}, **spec), 0.0)
    return r


BASE = """
[routing]
mode = "{mode}"
[[queues]]
name = "vip"
priority = 5
[[queues]]
name = "main"
max_queue = {qmax}
[[queues]]
name = "second"
[backpressure]
policy = {policy}
max_queue = {gmax}
max_callbacks = {cmax}
[backpressure.deflect]
max_wait_s = 240
[backpressure.callback]
min_wait_s = 240
retry_s = 120
max_attempts = 2
[backpressure.overflow.queues.main]
to = "second"
after_s = 180
[backpressure.codel]
target_s = 60
interval_s = 120
[backpressure.token_bucket]
rate_per_s = 0.8
burst = 20
"""

# 20 agents, 60 s handle: 1/3 call a second; 20x that is 6.67 a second.
STREAMS = [("main", 6.0, None), ("vip", 0.3, None), ("main", 0.37, 3)]


@pytest.mark.parametrize(
    ("policy", "bound", "acted"),
    [
        ('"admit_all"', None, "abandoned"),
        ('"reject_when_full"', 400, "rejected"),
        ('"shed_lowest_priority"', 400, "shed"),
        ('"block"', 400, "blocked"),
        ('"deflect"', None, "deflected"),
        ('"callback"', None, "callback_attempts_failed"),
        ('"overflow"', None, "overflowed"),
        ('"codel"', None, "rejected"),
        ('"token_bucket"', None, "rejected"),
        ('["token_bucket", "overflow", "callback", "shed_lowest_priority"]', 150, "shed"),
    ],
)
def test_conservation_at_20x(policy: str, bound: int | None, acted: str) -> None:
    toml = BASE.format(mode="offer", policy=policy, qmax=300, gmax=bound or 400, cmax=200)
    r = make_router(toml, agents=20)

    def check(f: Flood) -> None:
        if bound is not None:  # callers on the line and callbacks are bounded apart
            live = f.r.total_waiting() - f.r._waiting_cb
            assert live <= bound and f.r._waiting_cb <= 200

    f = Flood(r, STREAMS, duration_s=3600, patience_s=400, reach=0.8, seed=7).run(check=check)
    assert f.n > 23_000  # an hour at 20x
    c = r.counters
    assert getattr(c, acted) > 50, c  # the policy did act
    counts = f.counts()
    # every inquiry reached exactly one outcome (Flood asserts "no second outcome")
    assert counts.get("open", 0) == 0, counts
    assert sum(counts.values()) == f.n
    assert not r._tickets and r.total_waiting() == 0
    assert c.submitted == f.n
    finals = c.assigned + c.abandoned + c.rejected + c.deflected + c.withdrawn
    assert finals == f.n
    assert counts.get("Assigned", 0) == c.assigned
    if bound is not None:
        assert f.max_waiting <= bound + 200  # max_queue live + max_callbacks
        # memory stays flat: what the router holds is bounded by the bounds and the agents
        assert f.max_tickets <= bound + 200 + 20


def test_bounded_flood_keeps_memory_flat_over_time() -> None:
    toml = BASE.format(mode="immediate", policy='"reject_when_full"', qmax=300, gmax=400, cmax=400)
    r = make_router(toml, agents=20)
    sizes: list[tuple[int, int]] = []

    def check(f: Flood) -> None:
        if f.t >= (600, 1800, math.inf)[len(sizes)]:
            sizes.append((len(f.r._tickets), len(f.r._deadlines)))

    f = Flood(r, STREAMS, duration_s=2400, patience_s=600, seed=3).run(check=check)
    assert f.counts().get("open", 0) == 0
    (tickets_a, deadlines_a), (tickets_b, deadlines_b) = sizes
    assert tickets_a <= 420 and tickets_b <= 420
    # lazy deadline deletion does not accumulate: the heap is no bigger an hour later
    assert deadlines_b <= 1.5 * deadlines_a


def test_snapshot_mid_run_then_same_inputs_gives_byte_identical_events() -> None:
    chain = '["token_bucket", "overflow", "codel", "callback", "shed_lowest_priority"]'
    toml = (
        BASE.format(mode="offer", policy=chain, qmax=150, gmax=200, cmax=200)
        + """
[backpressure.surge]
enter_wait_s = 200
exit_wait_s = 60
enter_after_s = 30
exit_after_s = 120
caps = { chat = 4 }
callbacks = true
"""
    )
    r = make_router(toml, agents=12, capacity={"voice": 1, "chat": 2})
    f = Flood(r, STREAMS, duration_s=900, patience_s=300, reach=0.7, seed=11, record=True)
    f.run(until=450.0)
    c = r.counters
    assert c.callbacks > 0 and c.overflowed > 0 and c.surges > 0
    assert c.rejected > 0
    data = r.snapshot()
    import copy

    twin = copy.copy(f)
    for name in ("heap", "outcome", "callbacks", "held", "ewt", "pairs", "offer_no"):
        setattr(twin, name, copy.deepcopy(getattr(f, name)))
    twin.rng = copy.deepcopy(f.rng)
    twin.r = Router.restore(data)
    twin.events = []
    f.events = []
    f.run()
    twin.run()
    assert f.events and encode_events(f.events) == encode_events(twin.events)
    assert r.counters == twin.r.counters
    assert r.counters.callback_attempts_failed > 0  # retries crossed the snapshot
