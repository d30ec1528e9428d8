"""The benchmark harness: a tiny end-to-end run, the naive peer's fidelity, the ratio guard."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from bench import run
from bench.check import GUARDS, check, load_baseline, make_baseline
from bench.naive import NaiveRouter
from bench.workload import SteadyState, make_workload
from router import Inquiry, Offered, Router

SPEC_KEYS = (
    "calibration_heapq_pair_us",
    "core_lifecycle_us",
    "core_lifecycle_calibrated",
    "naive_lifecycle_us",
    "speedup_vs_naive_10000",
    "scaling_100000_over_1000",
    "queued_1m_decision_us",
    "bytes_per_queued_inquiry",
    "e2e_per_s",
    "asyncio_queue_pool_per_s",
    "sim_customers_per_s",
    "ciw_customers_per_s",
    "surge20",
)


def test_tiny_run_writes_every_spec_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert run.main(["--tiny", "--quiet", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert list(rep)[: len(SPEC_KEYS)] == list(SPEC_KEYS)
    assert rep["notes"] == ["surge20: skipped in tiny mode"]
    assert rep["surge20"] is None
    for key in SPEC_KEYS[:-1]:
        assert rep[key] is not None, key
    assert set(rep["core_lifecycle_us"]) == {"1000", "10000", "100000"}
    assert set(rep["naive_lifecycle_us"]) == {"1000", "10000"}
    assert set(rep["e2e_per_s"]) == {"trio", "asyncio", "uvloop"}
    assert rep["core_lifecycle_calibrated"] == pytest.approx(
        rep["core_lifecycle_us"]["10000"] / rep["calibration_heapq_pair_us"]
    )
    assert rep["speedup_vs_naive_10000"] == pytest.approx(
        rep["naive_lifecycle_us"]["10000"] / rep["core_lifecycle_us"]["10000"]
    )
    assert set(rep["ratios"]) == set(GUARDS)
    assert rep["meta"]["mode"] == "tiny"
    assert 100 < rep["bytes_per_queued_inquiry"] < 5000
    assert "ratios (guarded):" in capsys.readouterr().out


def test_cli_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run.main(["--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"bench: unrecognized arguments: --bogus \(see python -m bench --help\)\n", err
    )
    assert run.main(["--quick", "--check", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"bench: \S+missing\.json: cannot read: No such file or directory\n", err)
    assert run.main(["--quick", "--tiny"]) == 2


def _offers(router: Any, n_agents: int, steps: int) -> list[tuple[str, str]]:
    """Drive ``router`` with distinct times (no score ties); return every offer made."""
    wl = make_workload(n_agents, seed=3)
    for i, spec in enumerate(wl.agents):
        router.login(spec, i * 0.01)
    now = n_agents * 0.01
    rng = random.Random(5)
    busy: list[str] = []
    offers: list[tuple[str, str]] = []
    for k in range(steps):
        now += 0.37
        router.submit(Inquiry(id=f"q{k}", queue=wl.pick_queue(rng.random())), now)
        for _ in range(2):
            for ev in router.tick(now):
                if type(ev) is Offered:
                    offers.append((ev.inquiry_id, ev.agent_id))
                    router.accept(ev.inquiry_id, now)
                    busy.append(ev.inquiry_id)
            if busy and rng.random() < 0.9:
                now += 0.11
                router.complete(busy.pop(int(rng.random() * len(busy))), now)
    return offers


def test_naive_peer_makes_the_same_decisions_as_the_core() -> None:
    wl = make_workload(60, seed=3)
    core = _offers(Router(wl.config), 60, 600)
    naive = _offers(NaiveRouter(wl.config), 60, 600)
    assert len(core) > 500
    assert naive == core


def test_mirror_copies_the_steady_state() -> None:
    wl = make_workload(80, seed=4)
    s = SteadyState(Router(wl.config), wl, record=True)
    m = s.mirror(NaiveRouter(wl.config))
    nv: Any = m.r
    assert sorted(m.busy) == sorted(s.busy)
    assert sum(q.n_waiting for q in nv.queues.values()) == s.r.total_waiting()  # type: ignore[attr-defined]
    for label, st in (("core", s), ("naive", m)):
        assert st.run(50) > 0, label
    assert len(m.busy) == len(s.busy)


BASE = {
    "ratios": {
        "core_lifecycle_calibrated": {"value": 20.0, "better": "lower", "margin": 0.25},
        "speedup_vs_naive_10000": {"value": 40.0, "better": "higher", "margin": 0.2},
    }
}


def test_check_flags_only_regressions_beyond_the_margin() -> None:
    ok = {"core_lifecycle_calibrated": 24.9, "speedup_vs_naive_10000": 33.4}
    assert check(ok, BASE) == []
    better = {"core_lifecycle_calibrated": 5.0, "speedup_vs_naive_10000": 400.0}
    assert check(better, BASE) == []
    bad = {"core_lifecycle_calibrated": 30.0, "speedup_vs_naive_10000": None}
    assert check(bad, BASE) == [
        "REGRESSION core_lifecycle_calibrated: 30 vs baseline 20 (lower is better): "
        "50% worse, margin 25%",
        "REGRESSION speedup_vs_naive_10000: not measured in this run (baseline 40)",
    ]
    slower = {"core_lifecycle_calibrated": 20.0, "speedup_vs_naive_10000": 32.0}
    assert check(slower, BASE) == [
        "REGRESSION speedup_vs_naive_10000: 32 vs baseline 40 (higher is better): "
        "25% worse, margin 20%"
    ]


def test_make_baseline_sets_margins_above_the_spread() -> None:
    runs = [{"ratios": {"core_lifecycle_calibrated": v}} for v in (10.0, 11.0, 10.5, 9.0, 10.2)]
    base = make_baseline(runs, ["a", "b", "c", "d", "e"])
    entry = base["ratios"]["core_lifecycle_calibrated"]
    assert entry["value"] == 10.2
    # largest deviation: 9.0 vs 10.2 = 11.8%; twice that, rounded up to 5% steps
    assert entry["margin"] == 0.25
    assert entry["better"] == "lower"
    for v in entry["runs"]:
        assert check({"core_lifecycle_calibrated": v}, base) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", r"not JSON: Expecting property name enclosed in double quotes at line 1"),
        ('{"ratios": {}}', r"\$\.ratios: expected an object of guarded ratios"),
        (
            '{"ratios": {"nope": {}}}',
            r"\$\.ratios\.nope: unknown ratio; known: core_lifecycle_calibrated, .*",
        ),
        (
            '{"ratios": {"sim_over_ciw": {"value": -1, "better": "higher", "margin": 0.1}}}',
            r"\$\.ratios\.sim_over_ciw\.value: expected a positive number",
        ),
        (
            '{"ratios": {"sim_over_ciw": {"value": 1, "better": "lower", "margin": 0.1}}}',
            r"\$\.ratios\.sim_over_ciw\.better: expected 'higher'",
        ),
    ],
)
def test_bad_baseline_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(ValueError) as exc:
        load_baseline(path)
    assert re.fullmatch(re.escape(str(path)) + ": " + message, str(exc.value))


def test_committed_baseline_is_valid() -> None:
    data = load_baseline(Path(__file__).parent.parent / "bench" / "baseline.json")
    assert set(data["ratios"]) <= set(GUARDS)
    for entry in data["ratios"].values():
        assert entry["margin"] >= 0.05
        assert entry["margin"] >= 2 * entry["spread"]
