"""The plain admission: when no policy can act on an arrival, ``Router._submit`` admits it
itself instead of going through ``AdmissionControl.submit`` and the core operations. It must
decide exactly as that path does: the same position and expected wait (restaffing, staffing
changes, overtaking, free agents), the same counters, events and snapshot."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bench.sections import mmc_scenario
from router import AgentSpec, Inquiry, Router, decode_config
from router.events import Offered, SurgeStarted, encode_events
from router.sim import Simulator, build_report, decode_scenario

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _festival_without_policies() -> Any:
    """The Spring Festival evening with no admission policy: only surge mode's bundle
    (wrap-up and caps, which do not act on an arrival), so arrivals in surge stay plain."""
    text = (EXAMPLES / "spring_festival.toml").read_text()
    head, rest = text.split("[backpressure]", 1)
    _, queues = rest.split("[[queues]]", 1)
    surge = (
        "[backpressure.surge]\nenter_wait_s = 120\nexit_wait_s = 60\nenter_after_s = 60\n"
        'exit_after_s = 600\nqueues = ["cancellation"]\nwrap_up_s = 10\ncaps = { voice = 1 }\n\n'
    )
    return decode_scenario(head + surge + "[[queues]]" + queues)


def _run(sc: Any, plain: bool, duration_s: float) -> tuple[bytes, bytes, dict[str, Any], bool]:
    events: list[Any] = []

    def keep(e: Any) -> bool:
        events.append(e)
        return True

    sim = Simulator(sc, duration_s=duration_s, on_event=keep, force=True)
    bp = sim.router._bp
    assert bp.plain and bp.plain_in_surge  # no policy can act in these scenarios
    if not plain:  # what the core did before: every arrival through AdmissionControl.submit
        bp.plain = bp.plain_in_surge = False
    res = sim.run()
    report = build_report(res, timeline=False)
    for key in ("wall_s", "arrivals_per_s", "sim_events_per_s"):
        report.pop(key, None)
    surged = any(isinstance(e, SurgeStarted) for e in events)
    return encode_events(events), sim.router.snapshot(), report, surged


@pytest.mark.parametrize(
    ("name", "duration_s"),
    [
        ("mmc", 4 * 3600.0),  # the benchmark's M/M/c day: waits estimated at most arrivals
        ("festival", 7200.0),  # shifts announced (staffing changes), priorities, surge mode
        ("taobao_fliggy_chat", 4 * 3600.0),  # two tenants, chat caps, part-time shifts
        ("airline_complaints", 3 * 3600.0),
    ],
)
def test_plain_admission_decides_as_the_admission_control(name: str, duration_s: float) -> None:
    if name == "mmc":
        sc = mmc_scenario(duration_s)
    elif name == "festival":
        sc = _festival_without_policies()
    else:
        sc = decode_scenario((EXAMPLES / f"{name}.toml").read_text())
    plain = _run(sc, True, duration_s)
    chain = _run(sc, False, duration_s)
    assert plain[0] == chain[0]  # every event, byte for byte
    assert plain[1] == chain[1]  # the snapshot: counters, estimator, records
    assert plain[2] == chain[2]
    assert plain[2]["answered"] > 100
    if name == "festival":
        assert plain[3]  # arrivals in surge took the plain path too


BURSTS = """
[routing]
mode = "offer"
priority_seconds = 30
[[queues]]
name = "vip"
priority = 3
[[queues]]
name = "main"
[[queues]]
name = "chat"
channel = "chat"
requires = { chat = 1 }
"""


def _drive(plain: bool, seed: int) -> tuple[bytes, bytes]:
    """Arrivals in bursts between ticks, completions not yet matched (a matching pass
    pending while a line waits), agents logging in and out: the estimate's free agents."""
    r = Router(decode_config(BURSTS))
    if not plain:
        r._bp.plain = r._bp.plain_in_surge = False
    rng = random.Random(seed)
    out: list[bytes] = []
    busy: list[str] = []
    now = 0.0
    n = 0
    on = {f"a{i}" for i in range(6)}
    for i in range(6):
        cap = {"voice": 1, "chat": 3} if i % 2 else {"voice": 1}
        r.login(AgentSpec(id=f"a{i}", capacity=cap, skills={"chat": 1} if i % 2 else {}), now)
    for _ in range(1500):
        now += rng.expovariate(1.0)
        u = rng.random()
        if u < 0.45:
            for _ in range(rng.randint(1, 4)):
                n += 1
                q = rng.choice(["vip", "main", "main", "chat"])
                pat = rng.choice([None, 30.0, 120.0])
                adm = r.submit(Inquiry(id=f"i{n}", queue=q, patience_s=pat), now)
                out.append(msgspec.json.encode(adm))
        elif u < 0.75 and busy:
            done = busy.pop(rng.randrange(len(busy)))
            if r.inquiry_state(done) == "assigned":
                r.complete(done, now)
        elif u < 0.78:
            aid = f"a{rng.randrange(8)}"
            if aid in on:
                r.logout(aid, now)  # (one with work stays until it is done)
                on.discard(aid)
            elif aid not in r.agent_ids():
                r.login(AgentSpec(id=aid, capacity={"voice": 1}), now)
                on.add(aid)
        else:
            events = r.tick(now)
            out.append(encode_events(events))
            for e in events:
                if isinstance(e, Offered) and rng.random() < 0.9:
                    r.accept(e.inquiry_id, now)
                    busy.append(e.inquiry_id)
    return b"".join(out), r.snapshot()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plain_admission_sees_free_agents_and_pending_passes_alike(seed: int) -> None:
    plain = _drive(True, seed)
    assert plain == _drive(False, seed)
    assert b'"expected_wait_s":0.0' in plain[0] and b'"position":3' in plain[0]
