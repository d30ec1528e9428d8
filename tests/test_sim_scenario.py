"""Scenario files: schema, semantic checks, and the five seed scenarios in examples/."""

from __future__ import annotations

import re

import pytest

from router.cli.check import check_main
from router.errors import ConfigError
from router.sim import Lognormal, decode_scenario, load_scenario, router_config
from router.sim.arrivals import Stream, rate_segments, sampler
from tests.sim_runs import EXAMPLES, SEED_SCENARIOS

BASE = """
[[queues]]
name = "q"
[[agents]]
count = 2
[[arrivals]]
queue = "q"
rate_per_s = 0.1
handle_time = { dist = "exponential", mean_s = 60 }
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        decode_scenario(text)
    return info.value.problems


def test_minimal_scenario_defaults() -> None:
    sc = decode_scenario(BASE)
    assert sc.simulation.duration_s == 3600.0
    assert sc.simulation.drain is True
    assert sc.simulation.accept_delay_s == 0.0
    assert sc.arrivals[0].patience is None
    cfg = router_config(sc)
    assert type(cfg).__name__ == "RouterConfig"
    assert cfg.queues == sc.queues and cfg.agents == sc.agents


def test_semantic_problems_name_their_paths() -> None:
    text = """
[routing]
offer_timeout_s = 10
[[queues]]
name = "q"
[simulation]
duration_s = 100
warmup_s = 200
accept_delay_s = 10
[[agents]]
count = 1
[[arrivals]]
queue = "x"
rate_per_s = 1
handle_time = { dist = "exponential", mean_s = 10 }
[[surges]]
start_s = 50
end_s = 40
multiplier = 2
queues = ["nope"]
"""
    assert problems(text) == [
        "$.simulation.warmup_s: 200 leaves no measured time before duration_s = 100",
        "$.simulation.accept_delay_s: 10 is not below routing.offer_timeout_s = 10; "
        "every offer would expire",
        "$.arrivals[0].queue: unknown queue 'x'",
        "$.surges[0].end_s: 40 must be after start_s = 50",
        "$.surges[0].queues[0]: unknown queue 'nope'",
    ]


def test_schema_problems_all_reported() -> None:
    text = """
[[queues]]
name = "q"
[simulation]
duration_s = -1
colour = 1
[[agents]]
count = 1
[[arrivals]]
queue = "q"
rate_per_s = 1
handle_time = { dist = "weibull", mean_s = 10 }
patience = { dist = "lognormal", mean_s = 10 }
"""
    got = problems(text)
    assert got[0].startswith("$.simulation: unknown field 'colour'; known: duration_s, ")
    assert got[1:] == [
        "$.simulation.duration_s: Expected float > 0.0",
        "$.arrivals[0].handle_time.dist: unknown value 'weibull'; known: constant, exponential, "
        "lognormal",
        "$.arrivals[0].patience: missing required field 'sd_s'",
    ]


def test_scenario_needs_arrivals_and_agents() -> None:
    assert problems('[[queues]]\nname = "q"\n[simulation]\nseed = 1\n') == [
        "$.arrivals: a scenario needs at least one [[arrivals]] stream",
        "$.agents: a scenario needs at least one [[agents]] group with count > 0",
    ]


def test_arrival_tenant_must_match_queue() -> None:
    text = BASE.replace('name = "q"', 'name = "q"\ntenant = "a"').replace(
        "count = 2", 'count = 2\ntenants = ["a"]'
    )
    text = text.replace("rate_per_s = 0.1", 'rate_per_s = 0.1\ntenant = "b"')
    assert problems(text) == ["$.arrivals[0].tenant: 'b' but queue 'q' belongs to 'a'"]


def test_rate_segments_apply_surges_per_queue_and_multiply() -> None:
    from router.sim.scenario import Surge

    surges = [
        Surge(start_s=100, end_s=200, multiplier=20, queues=["q"]),
        Surge(start_s=150, end_s=300, multiplier=2),
        Surge(start_s=0, end_s=50, multiplier=9, queues=["other"]),
    ]
    assert rate_segments(1.0, "q", surges, 400) == [
        (0.0, 100, 1.0),
        (100, 150, 20.0),
        (150, 200, 40.0),
        (200, 300, 2.0),
        (300, 400, 1.0),
    ]


def test_stream_counts_follow_the_integrated_rate() -> None:
    sc = decode_scenario(
        BASE
        + """
[simulation]
duration_s = 20000
[[surges]]
start_s = 5000
end_s = 10000
multiplier = 5
"""
    )
    stream = Stream(0, sc.arrivals[0], seed=3, load=2.0, surges=sc.surges, duration_s=20000)
    times = []
    t = 0.0
    while True:
        nxt = stream.next_after(t)
        if nxt is None:
            break
        times.append(nxt)
        t = nxt
    assert times == sorted(times) and times[-1] < 20000
    # expected: 0.1/s * load 2 * (15000 s + 5 * 5000 s) = 8000; Poisson sd ~ 89
    assert abs(len(times) - 8000) < 4 * 8000**0.5
    inside = sum(1 for x in times if 5000 <= x < 10000)
    assert abs(inside - 5000) < 4 * 5000**0.5


def test_lognormal_sampler_has_the_requested_mean_and_sd() -> None:
    import random
    import statistics

    draw = sampler(Lognormal(mean_s=300.0, sd_s=200.0))
    rng = random.Random(5)
    xs = [draw(rng) for _ in range(40000)]
    assert abs(statistics.fmean(xs) - 300.0) < 4 * 200.0 / 200  # 4 SE of the mean
    assert abs(statistics.stdev(xs) - 200.0) < 10.0


@pytest.mark.parametrize("name", SEED_SCENARIOS)
def test_seed_scenarios_load_and_pass_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / name
    load_scenario(path)
    assert check_main([str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ok: scenario, \d+ queues?, ", out), out


def test_seed_scenarios_document_their_facts() -> None:
    for name in SEED_SCENARIOS:
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        assert text.startswith("# "), name
        assert "Source: seed 00" in text, name
        assert "Facts modelled" in text, name
        assert "Behaviours checked from the report (tests/test_seed_stories.py)" in text, name


def test_run_estimate_integrates_rates_with_load_and_surges() -> None:
    from router.sim.engine import Simulator
    from router.sim.guard import RunTooLarge, estimate_run

    sc = decode_scenario(
        BASE
        + """
[simulation]
duration_s = 20000
[simulation.limits]
arrivals = 7999
[[surges]]
start_s = 5000
end_s = 10000
multiplier = 5
"""
    )
    est = estimate_run(sc, load=2.0)
    assert est.arrivals == pytest.approx(0.1 * 2 * (15000 + 5 * 5000))  # 8000
    assert est.agents == 2
    with pytest.raises(RunTooLarge, match=r"^\$\.arrivals: about 8,000 arrivals expected at "):
        Simulator(sc, load=2.0)
    Simulator(sc, load=2.0, force=True)  # builds: the caller asked for it
    Simulator(sc, load=1.0)  # 4,000: within the limit


def test_start_clock_is_a_weekday_and_a_time() -> None:
    from router.sim.clock import clock_label, clock_offset_s

    assert clock_offset_s("fri 18:00") == 4 * 86400 + 18 * 3600
    assert clock_label(1800, clock_offset_s("sun 23:30")) == "mon 00:00"
    assert clock_label(5400, clock_offset_s("fri 18:00"), day=False) == "19:30"
    text = BASE + '[simulation]\nstart = "friday 6pm"\n'
    assert problems(text) == [
        "$.simulation.start: expected a day and a time like 'mon 00:00', got 'friday 6pm'"
    ]


def test_a_group_that_starts_after_the_run_is_named_shift_or_roster() -> None:
    sim = "[simulation]\nduration_s = 100\ndrain = false\n"
    late = BASE.replace("count = 2", "count = 2\nshift_start_s = 100") + sim
    assert problems(late) == [
        "$.agents[0].shift_start_s: 100 is after the run ends (duration_s = 100, drain off)"
    ]
    roster = BASE.replace("count = 2", "count = 2\nshifts = [ { start_s = 150 } ]") + sim
    assert problems(roster) == [
        "$.agents[0].shifts[0].start_s: 150 is after the run ends (duration_s = 100, drain off)"
    ]
    decode_scenario(roster.replace("drain = false", "drain = true"))  # the drain reaches it


def test_tujia_shifts_are_on_the_roster() -> None:
    # a shift that logs in unannounced (shift_start_s) is not counted by the wait told to
    # callers before it comes: every Tujia shift is on the roster (docs44's note)
    sc = load_scenario(EXAMPLES / "tujia_24h.toml")
    for g in sc.agents:
        assert len(g.shifts) == 1, g.name
        assert g.shift_start_s == 0 and g.shift_end_s is None, g.name
