"""The benchmark harness: a tiny run, the peers' fidelity, build selection, the A/B guard."""

from __future__ import annotations

import asyncio
import gc
import importlib.machinery
import json
import os
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

import router
from bench import guard, run, slowdown
from bench.flows import FLOWS, flow_work, run_flow
from bench.guard import (
    GUARDED,
    environment_warnings,
    evaluate,
    figures_of,
    format_table,
    load_baseline,
    resolve_reference,
)
from bench.naive import IndexedNaiveRouter, NaiveRouter
from bench.service import SkillQueueService
from bench.workload import SteadyState, make_workload, may_serve
from router import DeclinesForgotten, Inquiry, Offered, Router

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
    "compiled",
    "core_lifecycle_calibrated_pure",
    "speedup_vs_indexed_naive",
    "e2e_over_skill_queue_service",
    "adapter_over_direct",
    "statistics_over_decision",
)


def test_tiny_run_writes_every_spec_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert run.main(["--tiny", "--quiet", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert list(rep)[: len(SPEC_KEYS)] == list(SPEC_KEYS)
    assert rep["notes"] == ["surge20: skipped in tiny mode"]
    assert rep["surge20"] is None
    for key in SPEC_KEYS:
        if key != "surge20":
            assert rep[key] is not None, key
    assert set(rep["core_lifecycle_us"]) == {"1000", "10000", "100000"}
    assert set(rep["naive_lifecycle_us"]) == {"1000", "10000"}
    assert set(rep["speedup_vs_indexed_naive"]) == {"1000", "10000"}
    assert set(rep["e2e_per_s"]) == {"trio", "asyncio", "uvloop"}
    windows = rep["extra"]["lifecycle"]["recent_window_s"]  # passed before the timed rounds
    assert set(windows) == {"1000", "10000", "100000"} and all(w > 0 for w in windows.values())
    assert rep["core_lifecycle_calibrated"] == pytest.approx(
        rep["core_lifecycle_us"]["10000"] / rep["calibration_heapq_pair_us"]
    )
    assert rep["speedup_vs_naive_10000"] == pytest.approx(
        rep["naive_lifecycle_us"]["10000"] / rep["core_lifecycle_us"]["10000"]
    )
    for lb in ("1000", "10000"):
        assert rep["speedup_vs_indexed_naive"][lb] == pytest.approx(
            rep["indexed_naive_lifecycle_us"][lb] / rep["core_lifecycle_us"][lb]
        )
    assert rep["compiled"] is router.compiled
    assert rep["meta"]["build"]["compiled"] is router.compiled
    if router.compiled:  # the pure figure comes from a pure process beside this one
        assert rep["core_lifecycle_calibrated_pure"] > rep["core_lifecycle_calibrated"]
    else:  # no compiled build here: the pure figure is the same measurement
        assert rep["core_lifecycle_calibrated_pure"] == rep["core_lifecycle_calibrated"]
    assert rep["meta"]["mode"] == "tiny"
    assert set(rep["meta"]["versions"]) >= {"python", "msgspec", "ciw", "simpy", "uvloop"}
    assert 100 < rep["bytes_per_queued_inquiry"] < 5000
    assert rep["extra"]["e2e_flow"]["inquiries"] == 200
    # the floor ran beside the direct flow: the adapter's ceiling, a share of the direct flow
    assert rep["extra"]["floor_per_s"] > 0
    assert 0 < rep["extra"]["adapter_ceiling"] < 1
    assert rep["ratios"]["adapter_ceiling"] == rep["extra"]["adapter_ceiling"]
    assert "ratios:" in capsys.readouterr().out
    # the guard reads every figure it guards from a report of this shape
    assert all(v is not None for v in figures_of(rep).values())
    # tidy51 (mutS50's note): the sections' detail holds the keys docs/bench-report.md names
    for key in ("queue_depth", "features"):
        documented, full_only = extra_keys_documented(key)
        assert set(rep["extra"][key]) == documented - full_only, key


def extra_keys_documented(key: str) -> tuple[set[str], set[str]]:
    """The inner keys docs/bench-report.md's ``extra`` row ``key`` names: the backticked
    names after its colon, outside parentheses (which explain them); and of those, the
    ones only full runs add (after "full runs add")."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "bench-report.md").read_text()
    (row,) = [ln for ln in doc.splitlines() if ln.startswith(f"| `{key}` | ")]
    detail = row.split("): ", 1)[1]
    while True:  # drop the explanations, innermost first
        bare = re.sub(r"\([^()]*\)", "", detail)
        if bare == detail:
            break
        detail = bare
    names = re.findall(r"`([a-z][a-z0-9_]*)`", detail)
    _, _, full = detail.partition("full runs add ")
    return set(names), set(re.findall(r"`([a-z][a-z0-9_]*)`", full))


def test_peer_rounds_time_the_peers_labels_longer() -> None:
    """``peer_rounds`` more rounds for the calibration, the peers and the core at the peers'
    labels, appended after the first rounds: every case keeps its rounds in step with the
    calibration's, and a label without a peer keeps its own rounds."""
    from bench import sections

    out = sections.lifecycles(
        {"a": 60, "b": 150}, {"b": 150}, 2, indexed_sizes={"b": 150}, peer_rounds=3
    )
    n = {name: len(s) for name, s in out["samples_us"].items()}
    assert n == {
        "calibration": 5,
        "core/a": 2,
        "core/b": 5,
        "naive/b": 5,
        "indexed/b": 5,
    }
    cal = out["samples_us"]["calibration"]
    core_a = out["samples_us"]["core/a"]
    # the label without a peer over the calibration of its own two rounds
    assert out["core_calibrated"]["a"] == pytest.approx(
        statistics.median(x / y for x, y in zip(core_a, cal[:2]))
    )
    assert set(out["naive_over_core_paired"]) == {"b"}
    assert out["naive_lifecycle_us"]["b"] > 0 and out["indexed_naive_lifecycle_us"]["b"] > 0
    # without peers (the guard's mode) nothing more runs
    out = sections.lifecycles({"a": 60}, {}, 2, peer_rounds=3)
    assert {name: len(s) for name, s in out["samples_us"].items()} == {
        "calibration": 2,
        "core/a": 2,
    }


def test_pure_beside_runs_the_lifecycles_in_a_pure_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--tiny", "--quiet", "--sections", "lifecycles", "--pure-beside", "--json", str(out)]
    assert run.main(args) == 0
    rep = json.loads(out.read_text())
    assert rep["compiled"] is router.compiled
    assert rep["core_lifecycle_calibrated_pure"] > 0
    # measured in another process: another figure, not a copy of this one
    assert rep["core_lifecycle_calibrated_pure"] != rep["core_lifecycle_calibrated"]
    assert rep["meta"]["sections"] == ["lifecycles"]


def test_cli_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run.main(["--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"bench: unrecognized arguments: --bogus \(see python -m bench --help\)\n", err
    )
    assert run.main(["--quick", "--tiny"]) == 2
    assert capsys.readouterr().err == "bench: --quick, --tiny and --mode exclude each other\n"
    assert run.main(["--tiny", "--sections", "lifecycles,nope"]) == 2
    assert re.fullmatch(
        r"bench: --sections: unknown section nope; known: surge20, queue_depth, .*\n",
        capsys.readouterr().err,
    )


def _staffed(router: Any, n_agents: int) -> tuple[Any, float]:
    """The seeded workload's agents logged in at distinct times; returns it and the time."""
    wl = make_workload(n_agents, seed=3)
    for i, spec in enumerate(wl.agents):
        router.login(spec, i * 0.01)
    return wl, n_agents * 0.01


def _offers(
    router: Any,
    n_agents: int,
    steps: int,
    refuse: float = 0.0,
    forgotten: list[tuple[str, int]] | None = None,
) -> list[tuple[str, str]]:
    """Drive ``router`` with distinct times (no score ties); return every offer made.

    With ``refuse`` > 0, that share of offers is declined and as many again are
    left to time out, so requeues and "not back to the same agent" (until the round
    ends) are covered; ``forgotten`` gets each ``DeclinesForgotten`` (inquiry, agents).
    """
    wl, now = _staffed(router, n_agents)
    rng = random.Random(5)
    busy: list[str] = []
    offers: list[tuple[str, str]] = []
    for k in range(steps):
        now += 0.37
        router.submit(Inquiry(id=f"q{k}", queue=wl.pick_queue(rng.random())), now)
        if refuse and k % 97 == 0:
            now += wl.config.routing.offer_timeout_s  # the offers left open expire
        for _ in range(2):
            for ev in router.tick(now):
                if forgotten is not None and type(ev) is DeclinesForgotten:
                    forgotten.append((ev.inquiry_id, ev.agents))
                if type(ev) is Offered:
                    offers.append((ev.inquiry_id, ev.agent_id))
                    u = rng.random()
                    if u < refuse:
                        router.decline(ev.inquiry_id, now)
                    elif u > 2 * refuse:
                        router.accept(ev.inquiry_id, now)
                        busy.append(ev.inquiry_id)
            if busy and rng.random() < 0.9:
                now += 0.11
                router.complete(busy.pop(int(rng.random() * len(busy))), now)
    return offers


@pytest.mark.parametrize("memory", ["round", "forever"])
@pytest.mark.parametrize("refuse", [0.0, 0.05])
def test_naive_peers_make_the_same_decisions_as_the_core(refuse: float, memory: str) -> None:
    wl = make_workload(60, seed=3)
    cfg = msgspec.structs.replace(
        wl.config, routing=msgspec.structs.replace(wl.config.routing, decline_memory=memory)
    )
    forgotten: list[tuple[str, int]] = []
    core = _offers(Router(cfg), 60, 600, refuse, forgotten)
    assert len(core) > 500
    # at 5% refusals under the default some rounds end (3: an inquiry every agent that may
    # serve it refused goes back to them); none when nobody refuses or under "forever"
    assert bool(forgotten) == (refuse > 0 and memory == "round")
    for peer in (NaiveRouter, IndexedNaiveRouter):
        peer_forgotten: list[tuple[str, int]] = []
        assert _offers(peer(cfg), 60, 600, refuse, peer_forgotten) == core, peer.__name__
        assert peer_forgotten == forgotten, peer.__name__


def _offers_batched(router: Any, n_agents: int, steps: int) -> list[tuple[str, str]]:
    """Like :func:`_offers`, but a completion and the next arrivals share a matching pass
    (the core lets the new inquiry choose among the agent just freed and those idle)."""
    wl, now = _staffed(router, n_agents)
    rng = random.Random(6)
    busy: list[str] = []
    offers: list[tuple[str, str]] = []
    for k in range(steps):
        now += 0.37
        for _ in range(rng.choice((0, 1, 1, 2))):
            if busy:
                router.complete(busy.pop(int(rng.random() * len(busy))), now)
        for j in range(rng.choice((1, 1, 2))):
            router.submit(Inquiry(id=f"q{k}-{j}", queue=wl.pick_queue(rng.random())), now)
        for ev in router.tick(now):
            if type(ev) is Offered:
                offers.append((ev.inquiry_id, ev.agent_id))
                router.accept(ev.inquiry_id, now)
                busy.append(ev.inquiry_id)
    return offers


def test_naive_peers_agree_when_completions_and_arrivals_share_a_pass() -> None:
    wl = make_workload(60, seed=3)
    core = _offers_batched(Router(wl.config), 60, 700)
    assert len(core) > 500
    for peer in (NaiveRouter, IndexedNaiveRouter):
        assert _offers_batched(peer(wl.config), 60, 700) == core, peer.__name__


def test_indexed_peer_scores_only_statically_eligible_agents() -> None:
    wl = make_workload(200, seed=3)
    r = IndexedNaiveRouter(wl.config)
    _offers(r, 200, 300)
    assert r.candidates, "no candidate list was built"
    for (queue, requires, tenant), entries in r.candidates.items():
        q = next(q for q in wl.queues if q.name == queue)
        assert requires == tuple(sorted(q.requires.items())) and tenant == q.tenant
        listed = [entry[0].id for entry in entries]
        assert listed == [s.id for s in wl.agents if may_serve(s, q)]
        assert len(listed) < len(wl.agents)  # an index, not the whole center


def test_indexed_peer_lists_every_queue_at_login() -> None:
    """The lists are kept at login, so no timed lifecycle pays for building one (peer19)."""
    wl = make_workload(200, seed=3)
    r = IndexedNaiveRouter(wl.config)
    for spec in wl.agents:
        r.login(spec, 0.0)
    assert len(r.candidates) == len(wl.queues)
    for q in wl.queues:
        entries = r.candidates[(q.name, tuple(sorted(q.requires.items())), q.tenant)]
        assert [entry[0].id for entry in entries] == [s.id for s in wl.agents if may_serve(s, q)]


def _recording_offers(s: SteadyState) -> list[tuple[str, str, float]]:
    """Make ``s`` note every offer its lifecycles accept (the driver's own hook)."""
    seen: list[tuple[str, str, float]] = []
    accept_offers = s._accept_offers

    def noting(events: list[Any], now: float) -> None:
        seen.extend((e.inquiry_id, e.agent_id, now) for e in events if type(e) is Offered)
        accept_offers(events, now)

    s._accept_offers = noting  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("peer", [NaiveRouter, IndexedNaiveRouter])
def test_mirror_replays_the_steady_state_and_then_decides_as_the_core(peer: Any) -> None:
    """The mirrored peer has the core's state, recent-work window included: the lifecycles
    after it make the same offers (a mirror without the completions' history, or without
    the waiting line, or with an agent's load or idle time wrong, would differ)."""
    wl = make_workload(80, seed=4)
    s = SteadyState(Router(wl.config), wl, record=True)
    assert s.now > wl.config.routing.recent_window_s  # the warm-up passed the window
    m = s.mirror(peer(wl.config))
    nv: Any = m.r
    assert sorted(m.busy) == sorted(s.busy)
    assert sum(q.n_waiting for q in nv.queues.values()) == s.r.total_waiting()  # type: ignore[attr-defined]
    core_offers, peer_offers = _recording_offers(s), _recording_offers(m)
    for st in (s, m):
        assert st.run(1500) > 0
    assert len(core_offers) > 1000
    assert peer_offers == core_offers
    assert s.now == m.now


def test_steady_state_passes_the_recent_work_window_before_timing() -> None:
    """The set-up runs past the recent-work window; the window spans at most
    ``WINDOW_LIFECYCLES`` lifecycles, so a large center gets there cheaply."""
    from bench.workload import WARM_FACTOR, WINDOW_LIFECYCLES

    small, large = make_workload(80, seed=4), make_workload(3000, seed=4)
    assert small.config.routing.recent_window_s == 1800.0
    s = SteadyState(Router(large.config), large)
    window = large.config.routing.recent_window_s
    assert window < 1800.0
    assert window / s.dt == pytest.approx(WINDOW_LIFECYCLES, rel=0.05)
    assert s.now >= WARM_FACTOR * window * 0.99
    assert s.now > window


# ---------------------------------------------------------------------- flows and the service


def test_service_moves_every_inquiry_once_to_an_agent_that_may_serve_it() -> None:
    work = flow_work(40, 600)
    queues = {q.name: q for q in work.config.queues}
    agents = {a.id: a for a in work.agents}
    done: list[tuple[str, str]] = []

    async def go() -> None:
        async with SkillQueueService(work.config.queues, work.agents, _record(done)) as service:
            for i, iq in enumerate(work.inquiries):
                service.submit(iq)
                if i % 10 == 9:
                    await asyncio.sleep(0)
            while len(done) < len(work.inquiries):
                await asyncio.sleep(0)
            assert service.state == {} and service.agent_of == {}
            with pytest.raises(KeyError, match="unknown queue 'nope'"):
                service.submit(Inquiry(id="x", queue="nope"))

    asyncio.run(go())
    assert sorted(i for i, _ in done) == sorted(iq.id for iq in work.inquiries)
    by_id = {iq.id: iq for iq in work.inquiries}
    for iid, agent_id in done:
        assert may_serve(agents[agent_id], queues[by_id[iid].queue]), (iid, agent_id)


def _record(out: list[tuple[str, str]]) -> Any:
    return lambda iid, agent_id: out.append((iid, agent_id))


def test_flow_work_uses_only_queues_some_agent_may_serve() -> None:
    work = flow_work(30, 500)
    assert len(work.inquiries) == 500
    served = {q.name for q in work.config.queues if any(may_serve(a, q) for a in work.agents)}
    used = {iq.queue for iq in work.inquiries}
    assert used <= served and len(used) > 5
    assert len({iq.id for iq in work.inquiries}) == 500


@pytest.mark.parametrize("flow", FLOWS)
def test_every_flow_moves_the_whole_stream(flow: str) -> None:
    assert run_flow(flow, flow_work(30, 300)) > 0


# ---------------------------------------------------------------------- build selection


FAKE_EXTENSION = "core" + importlib.machinery.EXTENSION_SUFFIXES[0]


def _fake_tree(root: Path) -> None:
    """A router package whose ``core`` has a (broken) extension module beside its source."""
    pkg = root / "router"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from router.core import WHERE\n")
    (pkg / "core.py").write_text("WHERE = 'source'\n")
    (pkg / FAKE_EXTENSION).write_bytes(b"not an ELF file")


def _import_router(root: Path, build: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BENCH_ROUTER_PATH=str(root), BENCH_ROUTER_BUILD=build)
    code = "import bench, router; from bench.build import describe; print(router.WHERE, describe())"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
    )


def test_build_pure_loads_sources_even_beside_extension_modules(tmp_path: Path) -> None:
    _fake_tree(tmp_path)
    # auto: Python prefers the extension module, which is broken here
    auto = _import_router(tmp_path, "auto")
    assert auto.returncode != 0 and "ImportError" in auto.stderr
    pure = _import_router(tmp_path, "pure")
    assert pure.returncode == 0, pure.stderr
    assert pure.stdout.startswith("source {'compiled': False, 'compiled_modules': [], ")
    assert f"'router_path': '{tmp_path.resolve()}'" in pure.stdout
    bad = _import_router(tmp_path, "fast")
    assert bad.returncode == 1
    assert "BENCH_ROUTER_BUILD='fast': expected one of auto, pure, compiled" in bad.stderr
    empty = _import_router(tmp_path / "nowhere", "pure")
    assert "BENCH_ROUTER_PATH=" in empty.stderr and "no router/__init__.py there" in empty.stderr


# ---------------------------------------------------------------------- the guard


MARGINS = {
    "lifecycle_10000_calibrated": {"better": "lower", "margin": 0.1},
    "adapter_over_direct": {"better": "higher", "margin": 0.1},
    "statistics_over_decision": {"better": "lower", "margin": 0.1},
}


def _pairs(cand: list[float], ref: list[float], name: str) -> list[Any]:
    return [({name: c}, {name: r}) for c, r in zip(cand, ref)]


def test_guard_fails_a_figure_only_when_worse_than_its_margin_in_k_repeats() -> None:
    name = "lifecycle_10000_calibrated"
    margins = {name: MARGINS[name]}
    # one slow spell (+30% once) is noise, not a regression
    once = evaluate(_pairs([130, 100, 104, 99], [100, 100, 100, 100], name), margins, 3)
    assert once[name]["verdict"] == "ok" and once[name]["beyond_margin"] == 1
    # +20% in three of four repeats is a regression
    slow = evaluate(_pairs([120, 121, 105, 119], [100, 100, 100, 100], name), margins, 3)
    assert slow[name]["verdict"] == "REGRESSION" and slow[name]["beyond_margin"] == 3
    assert slow[name]["median_worse"] == pytest.approx(1.195)
    # exactly at the margin is within it; faster is never a regression
    edge = evaluate(_pairs([110, 110, 110, 50], [100, 100, 100, 100], name), margins, 3)
    assert edge[name]["verdict"] == "ok"


def test_guard_turns_higher_is_better_figures_around() -> None:
    name = "adapter_over_direct"
    margins = {name: MARGINS[name]}
    worse = evaluate(_pairs([0.7, 0.7, 0.7], [0.9, 0.9, 0.9], name), margins, 2)
    assert worse[name]["verdict"] == "REGRESSION"
    assert worse[name]["worse"] == [pytest.approx(0.9 / 0.7)] * 3
    better = evaluate(_pairs([1.2, 1.2, 1.2], [0.9, 0.9, 0.9], name), margins, 2)
    assert better[name]["verdict"] == "ok"


def test_guard_skips_what_the_reference_lacks_and_fails_what_the_candidate_lacks() -> None:
    pairs: list[Any] = [
        (
            {"lifecycle_10000_calibrated": 100.0, "statistics_over_decision": None},
            {"lifecycle_10000_calibrated": None, "statistics_over_decision": 5.0},
        ),
    ] * 2
    out = evaluate(pairs, MARGINS, 2)
    assert out["lifecycle_10000_calibrated"]["verdict"] == "skipped"
    assert out["statistics_over_decision"]["verdict"] == "REGRESSION"
    assert out["statistics_over_decision"]["why"] == "not measured in the candidate"
    table = format_table(out, 2, 2)
    assert "REGRESSION (not measured in the candidate)" in table
    # one lost candidate run (a section that timed out) does not decide alone
    name = "lifecycle_10000_calibrated"
    partial = evaluate(_pairs([None, 100.0, 101.0, 99.0], [100.0] * 4, name), MARGINS, 3)  # type: ignore[list-item]
    assert partial[name]["verdict"] == "ok"
    assert partial[name]["why"] == "not measured in 1 candidate run(s)"
    assert len(partial[name]["worse"]) == 3


def _guard_report(scale: float) -> dict[str, Any]:
    """A guard-mode report whose costs are ``scale`` times a fixed one."""
    return {
        "core_lifecycle_us": {"1000": 45.0 * scale, "10000": 55.0 * scale},
        "bytes_per_queued_inquiry": 400.0,
        "statistics_over_decision": 300.0 * scale,
        "e2e_over_skill_queue_service": 0.1 / scale,
        "adapter_over_direct": 0.8 / scale,
        "notes": [],
        "extra": {
            "lifecycle": {"calibrated_by_size": {"1000": 110.0 * scale, "10000": 135.0 * scale}},
            "queue_depth": {"decision_calibrated": 130.0 * scale},
            "sim_over_ciw_rounds": [0.7 / scale, 0.72 / scale, 0.69 / scale],
        },
    }


@pytest.mark.parametrize(("slowdown", "code", "flags"), [(1.0, 0, []), (1.3, 1, ["--sequential"])])
def test_guard_pairs_the_versions_and_exits_by_the_verdict(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    slowdown: float,
    code: int,
    flags: list[str],
) -> None:
    calls: list[str] = []
    harness = Path(guard.__file__).resolve().parent.parent

    def fake_workers(jobs: list[tuple[Path, Path]], build: str, concurrent: bool) -> None:
        assert build == "pure" and concurrent == (not flags) and len(jobs) == 2
        for tree, out in jobs:
            is_candidate = tree == harness
            calls.append("C" if is_candidate else "R")
            if not is_candidate:  # the exported reference tree holds its router package
                assert (tree / "router" / "__init__.py").is_file()
            out.write_text(json.dumps(_guard_report(slowdown if is_candidate else 1.0)))

    monkeypatch.setattr(guard, "run_workers", fake_workers)
    out = tmp_path / "guard.json"
    argv = ["--reference", "HEAD", "--repeats", "4", "--fail-in", "3", "-q", "--json", str(out)]
    assert guard.main(argv + flags) == code
    assert calls == ["C", "R", "R", "C", "C", "R", "R", "C"]
    text = capsys.readouterr().out
    record = json.loads(out.read_text())
    assert len(record["pairs"]) == 4 and record["reference_why"] == "--reference HEAD"
    if code:
        assert "bench-guard: REGRESSION in lifecycle_1000_calibrated, " in text
        assert record["result"]["bytes_per_queued_inquiry"]["verdict"] == "ok"
    else:
        assert "bench-guard: ok, no figure worse than its margin in 3 of 4 repeats" in text


def test_run_workers_reports_a_failing_worker(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"bench worker for .*nowhere failed \(exit 1\)"):
        guard.run_workers([(tmp_path / "nowhere", tmp_path / "out.json")], "pure", True)


def _git_repo(path: Path, commits: int) -> list[str]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=path, capture_output=True, text=True, check=True
        ).stdout.strip()

    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main")
    git("config", "user.email", "bench@example.invalid")
    git("config", "user.name", "bench")
    shas = []
    for i in range(commits):
        (path / "f.txt").write_text(str(i))
        git("add", "f.txt")
        git("commit", "-q", "-m", f"c{i}")
        shas.append(git("rev-parse", "HEAD"))
    return shas


def test_reference_is_the_accepted_commit_else_merge_base_else_parent(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = _git_repo(repo, 3)
    assert resolve_reference(shas[0], repo=repo) == (
        shas[0],
        "the accepted commit in bench/baseline.json",
    )
    missing = "0" * 40
    ref, why = resolve_reference(missing, repo=repo)  # on main itself: merge base is HEAD
    assert ref == shas[1]
    assert why == f"accepted commit {missing} is not in this clone; HEAD~1"
    subprocess.run(["git", "checkout", "-q", "-b", "topic"], cwd=repo, check=True)
    (repo / "f.txt").write_text("topic")
    subprocess.run(["git", "commit", "-q", "-am", "topic"], cwd=repo, check=True)
    ref, why = resolve_reference(missing, repo=repo)
    assert ref == shas[2] and why.endswith("the merge base with main")
    assert resolve_reference(missing, "main~2", repo=repo) == (shas[0], "--reference main~2")
    with pytest.raises(ValueError, match="--reference nope: no such commit in this clone"):
        resolve_reference(None, "nope", repo=repo)
    lone = tmp_path / "lone"
    _git_repo(lone, 1)
    with pytest.raises(ValueError, match=r"no merge base or parent commit either"):
        resolve_reference(missing, repo=lone)


GOOD = {
    "accepted": {"commit": "0e25258"},
    "guard": {"repeats": 4, "fail_in": 3, "margins": MARGINS},
}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"accepted": {"commit": "HEAD"}}, r"\$\.accepted\.commit: expected a commit id .*"),
        ({"guard": None}, r"\$\.guard: expected an object with repeats, fail_in, margins"),
        (
            {"guard": {**GOOD["guard"], "fail_in": 5}},  # type: ignore[dict-item]
            r"\$\.guard\.fail_in: expected an integer in \[1, repeats\]",
        ),
        (
            {"guard": {**GOOD["guard"], "margins": {"nope": {}}}},  # type: ignore[dict-item]
            r"\$\.guard\.margins\.nope: unknown figure; known: lifecycle_1000_calibrated, .*",
        ),
        (
            {
                "guard": {  # type: ignore[dict-item]
                    **GOOD["guard"],
                    "margins": {"sim_over_ciw": {"better": "lower", "margin": 0.1}},
                }
            },
            r"\$\.guard\.margins\.sim_over_ciw\.better: expected 'higher'",
        ),
        (
            {
                "guard": {  # type: ignore[dict-item]
                    **GOOD["guard"],
                    "margins": {"sim_over_ciw": {"better": "higher", "margin": float("nan")}},
                }
            },
            r"\$\.guard\.margins\.sim_over_ciw\.margin: expected a number in \[0, 10\)",
        ),
    ],
)
def test_bad_baseline_is_one_clear_line(
    tmp_path: Path, patch: dict[str, Any], message: str
) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({**GOOD, **patch}))
    with pytest.raises(ValueError) as exc:
        load_baseline(path)
    assert re.fullmatch(re.escape(str(path)) + ": " + message, str(exc.value))
    path.write_text("{")
    with pytest.raises(ValueError, match=r"not JSON: Expecting property name"):
        load_baseline(path)


def test_committed_baseline_is_valid_and_guards_every_figure() -> None:
    data = load_baseline(Path(__file__).parent.parent / "bench" / "baseline.json")
    assert set(data["guard"]["margins"]) == set(GUARDED)
    # the sensitivity the guard promises: a 20% slower lifecycle must be able to fail
    assert data["guard"]["margins"]["lifecycle_10000_calibrated"]["margin"] < 0.2
    assert set(data["figures"]) == set(GUARDED)


def test_environment_differences_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    same = {"machine": {"cpu": guard.machine()["cpu"]}, "versions": guard.versions()}
    assert environment_warnings(same) == []
    other = {"machine": {"cpu": "Some Other CPU"}, "versions": {"ciw": "0.1"}}
    lines = environment_warnings(other)
    assert lines[0].startswith("WARN machine: this CPU is ")
    assert "'Some Other CPU'" in lines[0]
    assert lines[1].startswith("WARN versions differ from the accepted figures': ciw 0.1 -> ")


def test_slowdown_copy_spins_only_when_asked(tmp_path: Path) -> None:
    patched = slowdown.make_copy(tmp_path)
    assert "injected by bench.slowdown" in patched.read_text()
    code = (
        "import bench, router, sys; from router import Router, Inquiry, QueueConfig, RouterConfig;"
        "mod = sys.modules[Router.__module__]; print(mod._BENCH_INJECTED_LOOPS, mod.__file__);"
        "r = Router(RouterConfig(queues=[QueueConfig(name='q')]));"
        "print(r.submit(Inquiry(id='a', queue='q'), 0.0).outcome)"
    )
    env = dict(os.environ, BENCH_ROUTER_PATH=str(tmp_path), BENCH_INJECTED_LOOPS="7")
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == f"7 {patched}"
    assert second == "admitted"


def test_digest_names_the_events_of_a_seeded_flood(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import digest

    args = ["--duration", "600", "--load", "5"]
    assert digest.main(args) == 0
    first = capsys.readouterr().out.split("\n")
    assert digest.main(args) == 0
    again = capsys.readouterr().out.split("\n")
    assert first == again  # seeded: the same flood, the same digest
    assert int(first[0].removeprefix("events ")) > 100
    assert re.fullmatch(r"sha256 [0-9a-f]{64}", first[1])
    assert digest.main([*args, "--seed", "7"]) == 0
    assert capsys.readouterr().out.split("\n")[1] != first[1]  # the digest sees the events


#: tools that read Python frames (tracemalloc's lines, profiler call counts): the compiled
#: build's functions have none, so these run on the pure build only
pure_frames_only = pytest.mark.skipif(
    router.compiled, reason="reads Python frames; the compiled build has none (docs/compiled.md)"
)


@pure_frames_only
def test_inquiry_bytes_breakdown_names_the_ticket_as_the_largest_share() -> None:
    from bench.inquiry_bytes import breakdown

    added, rows = breakdown(3000, n_agents=200)
    assert added >= 2000
    total = sum(r[1] for r in rows)
    assert 150 < total < 2000
    top_line, top_bytes, top_objs = rows[0]
    assert "router/core.py" in top_line and top_objs == pytest.approx(1.0, abs=0.05)
    assert top_bytes < 0.6 * total  # the ticket, not everything


def test_gc_share_counts_the_collections_it_times() -> None:
    from bench.gc_share import measure

    m = measure(100, 3000)
    assert m["tracked_objects"] > 50  # the agents at least
    assert m["lifecycle_us_gc_on"] > 0 and m["lifecycle_us_gc_off"] > 0
    assert sum(m["collections"]) > 0  # 3,000 lifecycles fill the young generation
    assert all(us >= 0 for us in m["collector_us_per_lifecycle"])
    assert gc.isenabled()  # left as found


@pure_frames_only
def test_steady_probe_sees_the_agent_timers_start_once_the_recent_work_window_passes() -> None:
    """``bench.steady``: no agent timer fires before the simulated time passes the
    recent-work window (1,800 s), one per lifecycle after it (a recent-work entry expiring
    per completion): the lifecycle benchmark's early rounds miss that work."""
    from bench.steady import blocks

    rows = blocks(100, 4, 1000, calls=True, cold=True)
    first, last = rows[0], rows[-1]
    assert not first["window_passed"] and last["window_passed"]
    assert first["calls_per_lifecycle"]["_agent_timer"] == 0.0
    assert last["calls_per_lifecycle"]["_agent_timer"] == pytest.approx(1.0, abs=0.1)
    assert last["calls_per_lifecycle"]["_refresh"] > first["calls_per_lifecycle"]["_refresh"]
    assert [r["now_s"] for r in rows] == sorted(r["now_s"] for r in rows)


@pure_frames_only
def test_steady_probe_sees_the_timers_from_the_first_block_after_the_warm_up() -> None:
    """As the benchmarks build it, the state is past the window: the first block already
    has one agent timer per lifecycle."""
    from bench.steady import blocks

    rows = blocks(100, 2, 1000, calls=True)
    for row in rows:
        assert row["window_passed"]
        assert row["calls_per_lifecycle"]["_agent_timer"] == pytest.approx(1.0, abs=0.1)


def test_a_small_center_keeps_its_steady_state() -> None:
    """60 agents of seed 5 draw nobody for 10 of the 70 queues: their arrivals used to wait
    for ever, each lifecycle left one agent fewer busy, and ``run`` ran out of inquiries to
    complete (``IndexError`` after a few hundred). Those queues now take no arrivals; the
    inquiries in the system stay as many as the fill made, none in a queue nobody serves."""
    wl = make_workload(60, seed=5)
    dead = {q.name for q in wl.queues if not any(may_serve(a, q) for a in wl.agents)}
    assert len(dead) == 10
    draws = random.Random(1)
    assert not any(wl.pick_queue(draws.random()) in dead for _ in range(20_000))
    r = Router(wl.config)
    ss = SteadyState(r, wl)

    def in_system() -> int:
        return len(ss.busy) + sum(r.queue_length(q.name) for q in wl.queues)

    total = in_system()
    assert total == int(wl.slots * 0.8)
    ss.run(3000)
    assert in_system() == total and len(ss.busy) > 100
    assert all(r.queue_length(name) == 0 for name in dead)
