"""Micro benchmarks (pytest-benchmark): ``.venv/bin/pytest bench --benchmark-only``.

Each case times one kind of input on a realistic router (``bench.workload``:
team profiles, fairness weights, offer mode) in a steady state. Cases that
change the state time a batch of ``BATCH`` operations per round and restore the
steady state in the untimed ``setup``; the per-operation cost is the round's
time divided by ``BATCH`` (``extra_info["per_op_us"]``). Without
``--benchmark-only`` the project's ``--benchmark-disable`` applies and every case
runs once, as a smoke test.
"""

from __future__ import annotations

import gc
import random
from typing import Any

import msgspec
import pytest

from bench.workload import SteadyState, make_workload
from router import (
    Assigned,
    Completed,
    Inquiry,
    Offered,
    Queued,
    Router,
    Routing,
    Weights,
    decode_config,
)
from router.events import encode_events

BATCH = 100
ROUNDS = 30


@pytest.fixture(scope="module")
def steady() -> SteadyState:
    """A 2,000-agent router at ~80% occupancy."""
    wl = make_workload(2000)
    gc.disable()
    try:
        return SteadyState(Router(wl.config), wl, prefix="m")
    finally:
        gc.enable()
        gc.collect()


def _per_op(benchmark: Any) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["per_op_us"] = stats.stats.median / BATCH * 1e6


def _settle(s: SteadyState) -> None:
    """Tick, accept every offer, until nothing is pending."""
    r: Any = s.r
    while True:
        events = r.tick(s.now)
        offers = [e for e in events if type(e) is Offered]
        if not offers:
            return
        for e in offers:
            r.accept(e.inquiry_id, s.now)
            s.busy.append(e.inquiry_id)


def _complete_some(s: SteadyState, k: int) -> None:
    r: Any = s.r
    rng = s.rng
    for _ in range(k):
        i = int(rng.random() * len(s.busy))
        s.busy[i], s.busy[-1] = s.busy[-1], s.busy[i]
        r.complete(s.busy.pop(), s.now)


def test_lifecycle(benchmark: Any, steady: SteadyState) -> None:
    """Submit, tick (offer), accept, complete one in-service inquiry, tick."""
    benchmark.pedantic(steady.run, args=(BATCH,), rounds=ROUNDS, warmup_rounds=1)
    _per_op(benchmark)


def test_submit(benchmark: Any, steady: SteadyState) -> None:
    """``submit`` alone (admission, pool lookup, enqueue, Queued event)."""
    r: Any = steady.r
    batch: list[Any] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        _complete_some(steady, len(batch))  # keep the number in the system constant
        _settle(steady)
        steady.now += steady.dt
        batch[:] = steady.inquiries(BATCH)
        return (), {}

    def run() -> None:
        now = steady.now
        submit = r.submit
        for iq in batch:
            submit(iq, now)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS)
    _settle(steady)
    _per_op(benchmark)


def test_match(benchmark: Any, steady: SteadyState) -> None:
    """One ``tick`` matching ``BATCH`` new arrivals and ``BATCH`` freed slots."""
    r: Any = steady.r

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        _settle(steady)
        steady.now += steady.dt
        _complete_some(steady, BATCH)
        for iq in steady.inquiries(BATCH):
            r.submit(iq, steady.now)
        return (), {}

    benchmark.pedantic(lambda: r.tick(steady.now), setup=setup, rounds=ROUNDS)
    _settle(steady)
    _per_op(benchmark)


def test_complete(benchmark: Any, steady: SteadyState) -> None:
    """``complete`` alone (release, recent-work window, Completed event)."""
    r: Any = steady.r
    picked: list[str] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        _settle(steady)
        for iq in steady.inquiries(len(picked)):
            r.submit(iq, steady.now)  # replace what the last round completed
        _settle(steady)
        steady.now += steady.dt
        rng = steady.rng
        picked[:] = []
        for _ in range(BATCH):
            i = int(rng.random() * len(steady.busy))
            steady.busy[i], steady.busy[-1] = steady.busy[-1], steady.busy[i]
            picked.append(steady.busy.pop())
        return (), {}

    def run() -> None:
        now = steady.now
        complete = r.complete
        for iid in picked:
            complete(iid, now)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS)
    _settle(steady)
    _per_op(benchmark)


def test_offer_expiry(benchmark: Any) -> None:
    """One ``tick`` after ``BATCH`` offers time out: expire, requeue, offer elsewhere.

    Agents reaching ``max_no_answer`` go away, handing back their other offers too.
    """
    wl = make_workload(500, seed=5)
    state: dict[str, Any] = {}

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        r = Router(wl.config)
        for spec in wl.agents:
            r.login(spec, 0.0)
        rng = random.Random(1)
        for i in range(BATCH):
            r.submit(Inquiry(id=f"x{i}", queue=wl.pick_queue(rng.random())), 0.0)
        state["offers"] = sum(type(e) is Offered for e in r.tick(0.0))
        state["r"] = r
        state["at"] = wl.config.routing.offer_timeout_s + 1.0
        return (), {}

    benchmark.pedantic(lambda: state["r"].tick(state["at"]), setup=setup, rounds=ROUNDS)
    r = state["r"]
    stats = r.statistics()
    # every offer came back (expired, or returned when its agent went away) and went out again
    assert r.counters.expired > 0
    assert r.counters.offers == 2 * state["offers"] == 2 * stats.offered
    _per_op(benchmark)


def test_reconfigure(benchmark: Any, steady: SteadyState) -> None:
    """``reconfigure`` of a 2,000-agent router: validate, swap, rebuild every index."""
    r: Any = steady.r
    base = steady.wl.config
    other = msgspec.structs.replace(
        base, routing=Routing(weights=Weights(proficiency=2.0, idle_time=1.0, load=1.0))
    )
    configs = [other, base]

    def run() -> None:
        configs.reverse()
        r.reconfigure(configs[0], steady.now)
        r.tick(steady.now)

    benchmark.pedantic(run, rounds=10)
    r.reconfigure(base, steady.now)
    _settle(steady)


def _events(n: int) -> list[Any]:
    out: list[Any] = []
    for i in range(n // 4):
        iid, aid = f"i{i}", f"a{i % 97}"
        out.append(
            Queued(at=i, version=1, inquiry_id=iid, queue="refund", position=3, expected_wait_s=4.5)
        )
        out.append(
            Offered(
                at=i + 0.5,
                version=1,
                inquiry_id=iid,
                agent_id=aid,
                queue="refund",
                expires_at=i + 30.5,
            )
        )
        out.append(
            Assigned(at=i + 1, version=1, inquiry_id=iid, agent_id=aid, queue="refund", wait_s=1.0)
        )
        out.append(
            Completed(
                at=i + 200,
                version=1,
                inquiry_id=iid,
                agent_id=aid,
                queue="refund",
                handle_s=199.0,
                wrap_up_until=i + 200,
            )
        )
    return out


def test_encode_events(benchmark: Any) -> None:
    """``encode_events`` of 1,000 events (Queued, Offered, Assigned, Completed) to JSON."""
    events = _events(1000)
    data = benchmark(encode_events, events)
    assert data.startswith(b'[{"type":"Queued"')


def _toml(value: Any) -> str:
    """A TOML inline value (enough for a config: strings, numbers, tables, arrays)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)


def config_toml(cfg: Any) -> str:
    """A TOML rendering of ``cfg`` as an operator would write it."""
    raw = msgspec.to_builtins(cfg)
    lines = ["[routing]"]
    lines += [f"{k} = {_toml(v)}" for k, v in raw.get("routing", {}).items()]
    for q in raw.get("queues", []):
        lines += ["", "[[queues]]"] + [f"{k} = {_toml(v)}" for k, v in q.items()]
    return "\n".join(lines) + "\n"


def test_decode_config(benchmark: Any) -> None:
    """``decode_config`` of a realistic TOML config (50-odd queues), validation included."""
    cfg0 = make_workload(10, seed=9).config
    text = config_toml(cfg0).encode()
    cfg = benchmark(decode_config, text)
    assert cfg == cfg0
