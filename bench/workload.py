"""Realistic routing workloads and the steady-state driver every lifecycle figure uses.

Theory of operation
-------------------
:func:`make_workload` draws a contact center from a seed: 20-50 team profiles
(each serving one or two tenants, with 3-6 skills at proficiency 1-5 and a
voice, chat or blended capacity, chat caps up to 20), 1-3 queues per profile
whose requirements that profile meets, and ``n_agents`` agents drawn from the
profiles by headcount share, 30% of them with one or two extra individual
skills. Arrivals go to the queues by their profile's share, except a queue none of
the agents drawn may serve (a small center may draw nobody of a profile), which takes
none. Routing is in offer mode with the fairness weights on
(idle time, load and recent work besides proficiency).

:class:`SteadyState` logs every agent in, fills the router until about 80% of
all capacity slots are busy (some queues back up, as they do), then runs the
lifecycle loop: one new inquiry is submitted, ``tick`` offers it, the offer is
accepted, one random in-service inquiry completes, and ``tick`` lets the freed
agent pull waiting work. The number of inquiries in the system stays constant,
so every repetition measures the same steady state. Virtual time advances so
the mean handle time is 300 s whatever the size, which keeps offer timeouts
as realistic as the load.

A steady state includes the recent-work window (``routing.recent_window_s``):
every completion adds an entry that leaves the window later, and in a center
that has run longer than the window one leaves per lifecycle (an agent timer in
the core, a heap pop in the peers). Before the simulated clock passes the window
none leaves, and the lifecycle is cheaper (``bench.steady``). So the window spans
at most :data:`WINDOW_LIFECYCLES` lifecycles (1,800 s up to about 1,000 agents,
shorter above: 173 s at 10,000, 18 s at 100,000) and, after the fill,
:class:`SteadyState` runs :data:`WARM_FACTOR` windows of lifecycles untimed. The
recent-work score term (recent handle time over the window) has the same mean
whatever the window's length; only its spread grows as the window shortens, and
the work of an expiry does not depend on it.

The driver only uses the public API shared by :class:`router.Router` and
:class:`bench.naive.NaiveRouter`, so both pay exactly the same driver cost.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate
from time import thread_time
from typing import Any, Protocol

from router import AgentSpec, Inquiry, Offered, QueueConfig, RouterConfig, Routing, Weights

__all__ = [
    "FAIRNESS_WEIGHTS",
    "LifecycleRouter",
    "SteadyState",
    "Workload",
    "make_workload",
    "may_serve",
]

AREAS = (
    "refund",
    "booking",
    "payment",
    "account",
    "hotel",
    "flight",
    "visa",
    "insurance",
    "complaint",
    "loyalty",
)
LANGS = ("zh", "en", "ja", "ko")
SKILLS = tuple(f"{a}_{lang}" for a in AREAS for lang in LANGS)
TENANTS = ("taobao", "fliggy", "alipay")

#: Proficiency, idle time, load and recent work all on: the fair, realistic setting.
FAIRNESS_WEIGHTS = Weights(proficiency=1.0, idle_time=1.0, load=2.0, recent_work=1.0)

MEAN_HANDLE_S = 300.0
#: the set-up log's operations (SteadyState.mirror)
PARK, ASSIGN, COMPLETE = range(3)
OCCUPANCY = 0.8
#: the recent-work window spans at most this many lifecycles (module docstring)
WINDOW_LIFECYCLES = 30_000
#: the untimed lifecycles after the fill, in windows: past it, one entry leaves per lifecycle
WARM_FACTOR = 1.2


class LifecycleRouter(Protocol):
    """The slice of the router API the driver uses (Router and NaiveRouter both have it)."""

    def login(self, spec: AgentSpec, now: float) -> None: ...
    def submit(self, inquiry: Inquiry, now: float) -> Any: ...
    def tick(self, now: float) -> list[Any]: ...
    def accept(self, inquiry_id: str, now: float, agent_id: str | None = None) -> None: ...
    def complete(self, inquiry_id: str, now: float) -> None: ...


@dataclass
class Profile:
    tenants: tuple[str, ...]
    skills: dict[str, int]
    capacity: dict[str, int]
    share: float


@dataclass
class Workload:
    """A generated center: config, agent specs and the arrival mix over queues."""

    config: RouterConfig
    agents: list[AgentSpec]
    queues: list[QueueConfig]
    cum_weights: list[float]
    profiles: list[Profile] = field(repr=False)

    @property
    def slots(self) -> int:
        """Total concurrent capacity over all agents and channels."""
        return sum(sum(a.capacity.values()) for a in self.agents)

    def pick_queue(self, u: float) -> str:
        """The queue of an arrival, from a uniform draw ``u`` in [0, 1)."""
        return self.queues[bisect(self.cum_weights, u * self.cum_weights[-1])].name


def may_serve(agent: AgentSpec, queue: QueueConfig) -> bool:
    """Whether ``agent`` may ever serve ``queue``: channel, tenant, queue list, skill levels."""
    if not agent.capacity.get(queue.channel, 0):
        return False
    if queue.tenant is not None and queue.tenant not in agent.tenants:
        return False
    if agent.queues and queue.name not in agent.queues:
        return False
    return all(agent.skills.get(s, 0) >= lvl for s, lvl in queue.requires.items())


def _profile(rng: random.Random) -> Profile:
    tenants = tuple(sorted(rng.sample(TENANTS, rng.choice((1, 1, 2)))))
    skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(3, 6))}
    kind = rng.random()
    if kind < 0.35:
        capacity = {"voice": 1}
    elif kind < 0.8:
        capacity = {"chat": rng.randint(4, 20)}
    else:
        capacity = {"voice": 1, "chat": rng.randint(2, 8)}
    return Profile(tenants, skills, capacity, rng.uniform(0.5, 2.0))


def make_workload(
    n_agents: int,
    seed: int = 7,
    *,
    weights: Weights = FAIRNESS_WEIGHTS,
    mode: str = "offer",
    n_profiles: int | None = None,
) -> Workload:
    """A deterministic center of ``n_agents`` agents (see the module docstring)."""
    rng = random.Random(seed)
    profiles = [_profile(rng) for _ in range(n_profiles or rng.randint(20, 50))]
    queues: list[QueueConfig] = []
    weights_q: list[float] = []
    for pi, p in enumerate(profiles):
        n_q = rng.randint(1, 3)
        for j in range(n_q):
            channel = rng.choice(sorted(p.capacity))
            req_skills = rng.sample(sorted(p.skills), rng.choice((1, 1, 2)))
            requires = {s: rng.randint(1, p.skills[s]) for s in req_skills}
            tenant = rng.choice(p.tenants) if rng.random() < 0.8 else None
            queues.append(
                QueueConfig(
                    name=f"p{pi}q{j}_{channel}",
                    channel=channel,
                    requires=requires,
                    tenant=tenant,
                    priority=1 if rng.random() < 0.15 else 0,
                    answer_target_s=20.0 if channel == "voice" else 60.0,
                )
            )
            weights_q.append(p.share * p.capacity[channel] / n_q)
    cum = list(accumulate(p.share for p in profiles))
    agents: list[AgentSpec] = []
    for i in range(n_agents):
        p = profiles[bisect(cum, rng.random() * cum[-1])]
        skills = dict(p.skills)
        if rng.random() < 0.3:
            for s in rng.sample(SKILLS, rng.randint(1, 2)):
                skills[s] = max(skills.get(s, 0), rng.randint(1, 5))
        agents.append(
            AgentSpec(
                id=f"a{i}",
                skills=skills,
                capacity=dict(p.capacity),
                tenants=frozenset(p.tenants),
            )
        )
    # a queue none of these agents may serve takes no arrivals: each one would wait there
    # for ever, and the steady state (one arrival, one completion) would drain its busy
    # agents one lifecycle at a time until ``SteadyState.run`` had none to complete (60
    # agents of seed 5: 10 of 70 queues, 12% of arrivals). The weights of a center whose
    # every queue has someone (1,000 agents and up, seed 7) are unchanged.
    for k, q in enumerate(queues):
        if not any(may_serve(a, q) for a in agents):
            weights_q[k] = 0.0  # (bisect on the running sums never lands on it)
    # the lifecycles' simulated time step at the steady state (SteadyState.dt, about)
    busy = max(1.0, OCCUPANCY * sum(sum(a.capacity.values()) for a in agents))
    window = min(Routing().recent_window_s, WINDOW_LIFECYCLES * MEAN_HANDLE_S / busy)
    routing = Routing(weights=weights, mode=mode, recent_window_s=window)  # type: ignore[arg-type]
    config = RouterConfig(routing=routing, queues=queues)
    return Workload(config, agents, queues, list(accumulate(weights_q)), profiles)


class SteadyState:
    """A router filled to a steady state, and the timed lifecycle loop over it.

    After the fill, ``warm`` (default: :data:`WARM_FACTOR` recent-work windows of)
    lifecycles run untimed, so the timed ones start where recent work leaves the window
    as it arrives. With ``record=True`` the set-up keeps a log of what happened (arrivals,
    assignments, completions, with their times), so :meth:`mirror` can replay it into
    another router: a naive peer reaches exactly the core's state, its recent-work window
    included, without deciding anything (a scan-all peer could not afford the warm-up).
    """

    def __init__(
        self,
        router: LifecycleRouter,
        workload: Workload,
        *,
        occupancy: float = OCCUPANCY,
        seed: int = 11,
        prefix: str = "i",
        record: bool = False,
        warm: int | None = None,
    ) -> None:
        self.r = router
        self.wl = workload
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.n = 0
        self.now = 0.0
        self.busy: list[str] = []
        self.record = record
        self.log: list[tuple[Any, ...]] = []
        for spec in workload.agents:
            router.login(spec, 0.0)
        router.tick(0.0)
        self.fill(int(workload.slots * occupancy))
        self.dt = MEAN_HANDLE_S / max(1, len(self.busy))
        if warm is None:
            warm = math.ceil(WARM_FACTOR * workload.config.routing.recent_window_s / self.dt)
        self.warm(warm)
        self.record = False

    def mirror(self, router: Any) -> SteadyState:
        """The same state in ``router`` (a ``NaiveRouter``), with the same future arrivals:
        the set-up's log replayed with ``park``, ``assign`` and ``complete``."""
        if not self.log:
            raise ValueError("mirror needs a SteadyState built with record=True")
        other = object.__new__(SteadyState)
        other.r = router
        other.wl = self.wl
        other.rng = random.Random()
        other.rng.setstate(self.rng.getstate())
        other.prefix = self.prefix
        other.n = self.n
        other.now = self.now
        other.dt = self.dt
        other.busy = list(self.busy)
        other.record = False
        other.log = []
        for spec in self.wl.agents:
            router.login(spec, 0.0)
        ops = {PARK: router.park, ASSIGN: router.assign, COMPLETE: router.complete}
        for op, *args in self.log:
            ops[op](*args)
        router.settle(self.now)
        return other

    def _accept_offers(self, events: list[Any], now: float) -> None:
        accept = self.r.accept
        busy = self.busy
        for ev in events:
            if type(ev) is Offered:
                accept(ev.inquiry_id, now)
                busy.append(ev.inquiry_id)
                if self.record:
                    self.log.append((ASSIGN, ev.inquiry_id, ev.agent_id, now))

    def inquiries(self, k: int) -> list[Inquiry]:
        """The next ``k`` arrivals (built outside any timed region)."""
        rnd = self.rng.random
        pick = self.wl.pick_queue
        out = []
        for _ in range(k):
            self.n += 1
            out.append(Inquiry(id=f"{self.prefix}{self.n}", queue=pick(rnd())))
        return out

    def fill(self, k: int, batch: int = 2000) -> None:
        """Submit ``k`` arrivals at the current time, ticking every ``batch``."""
        r = self.r
        done = 0
        while done < k:
            m = min(batch, k - done)
            for iq in self.inquiries(m):
                if self.record:
                    self.log.append((PARK, iq, self.now))
                r.submit(iq, self.now)
            self._accept_offers(r.tick(self.now), self.now)
            done += m

    def warm(self, k: int) -> None:
        """``k`` lifecycles, untimed (and logged when recording): the same steps as :meth:`run`."""
        r = self.r
        log = self.log if self.record else None
        busy = self.busy
        now = self.now
        for iq in self.inquiries(k):
            u = self.rng.random()
            now += self.dt
            if log is not None:
                log.append((PARK, iq, now))
            r.submit(iq, now)
            self._accept_offers(r.tick(now), now)
            i = int(u * len(busy))
            done = busy[i]
            busy[i] = busy[-1]
            busy.pop()
            if log is not None:
                log.append((COMPLETE, done, now))
            r.complete(done, now)
            self._accept_offers(r.tick(now), now)
        self.now = now

    def run(self, k: int) -> float:
        """``k`` lifecycles; returns the CPU seconds they took."""
        inquiries = self.inquiries(k)
        draws = [self.rng.random() for _ in range(k)]
        r = self.r
        submit, tick, complete = r.submit, r.tick, r.complete
        accept_offers = self._accept_offers
        busy = self.busy
        now = self.now
        dt = self.dt
        t0 = thread_time()  # CPU time: see bench/timing.py
        for iq, u in zip(inquiries, draws):
            now += dt
            submit(iq, now)
            accept_offers(tick(now), now)
            i = int(u * len(busy))
            done = busy[i]
            busy[i] = busy[-1]
            busy.pop()
            complete(done, now)
            accept_offers(tick(now), now)
        elapsed = thread_time() - t0
        self.now = now
        return elapsed
