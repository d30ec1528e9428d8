"""Every key the reports emit is documented in our docs: the simulator's report in
docs/simulator.md ("The report"), the benchmark report in docs/bench-report.md (the shared
contract, ``../shared/spec/scenario.md`` §3 and §4, has only the first ones of each).

The simulator's keys come from real runs of examples (each with different features: outbound
tasks, breaks, surges, returning customers), nested ones too, except the keys that are data
(queue, group, channel, stream names; counters and event names). The benchmark report's come
from ``bench.run.build_report`` with no section run: it emits every key (``null``) and every
ratio all the same. A key counts as documented when its name appears in the section as a word.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.sim import Simulator, load_scenario
from router.sim.report import build_report

ROOT = Path(__file__).resolve().parent.parent

#: dicts of the report keyed by data (names of queues, groups, channels, streams, counters)
DATA_KEYED = {
    "queues",
    "streams",
    "max_concurrency",
    "occupancy_by_group",
    "on_break_max_fraction_by_group",
    "break_late_max_s_by_group",
    "handled_by_group",
    "answered_by_group",
    "core_counters",
    "other_events",
    "anomalies",
    "waiting",
    "callbacks",
}


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def section(path: Path, start: str, end: str) -> str:
    text = path.read_text()
    i = text.index(start)
    return text[i : text.index(end, i)]


def emitted(value: Any, path: str = "$", data_keyed: set[str] = DATA_KEYED) -> dict[str, str]:
    """Every key in ``value`` (dicts and lists of dicts) -> where, data-keyed dicts' own keys
    left out (their values are still walked)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            at = f"{path}.{k}"
            name = path.rsplit(".", 1)[-1]
            if name not in data_keyed:
                out.setdefault(str(k), at)
            found = emitted(v, at, data_keyed)
            out.update({kk: p for kk, p in found.items() if kk not in out})
    elif isinstance(value, list):
        for item in value[:3]:
            found = emitted(item, path + "[]", data_keyed)
            out.update({kk: p for kk, p in found.items() if kk not in out})
    return out


def undocumented(keys: dict[str, str], documented: set[str]) -> list[str]:
    return sorted(f"{p}" for k, p in keys.items() if k not in documented)


def test_the_checker_finds_an_undocumented_key() -> None:
    rep = {"offered": 1, "queues": {"q1": {"answered": 1, "no_such_key": 2}}}
    keys = emitted(rep)
    assert "q1" not in keys  # a queue's name is data
    assert undocumented(keys, {"offered", "queues", "answered"}) == ["$.queues.q1.no_such_key"]


@pytest.fixture(scope="module")
def sim_doc() -> set[str]:
    return words(section(ROOT / "docs" / "simulator.md", "## The report", "## Reading the output"))


@pytest.mark.parametrize(
    "example",
    ["alipay_hotline.toml", "spring_festival.toml", "taobao_fliggy_chat.toml", "tujia_24h.toml"],
)
def test_every_key_of_the_simulator_report_is_documented(example: str, sim_doc: set[str]) -> None:
    sc = load_scenario(ROOT / "examples" / example)
    rep = build_report(Simulator(sc, duration_s=1800.0).run())
    keys = emitted(rep)
    assert "break_late_max_s" in keys and "threshold_s" in keys and "t" in keys
    assert undocumented(keys, sim_doc) == []


def test_every_key_of_the_benchmark_report_is_documented() -> None:
    from bench.run import build_report as bench_report

    rep = bench_report("quick", lambda line: None, only=("no_section",))
    assert rep["meta"]["sections"] == []  # nothing ran; every key is there all the same
    documented = words((ROOT / "docs" / "bench-report.md").read_text())
    keys = {k: f"$.{k}" for k in rep}
    keys.update({k: f"$.ratios.{k}" for k in rep["ratios"]})
    keys.update({k: f"$.meta.{k}" for k in rep["meta"]})
    assert undocumented(keys, documented) == []


# ---------------------------------------------- the benchmark report beyond its top (fix50)

#: dicts of the benchmark report keyed by data (sizes, package names, ratio names: checked
#: as ratios, section names, the lifecycle's sizes and flows)
BENCH_DATA_KEYED = {
    "sizes",
    "versions",
    "targets",
    "agents",
    "naive_agents",
    "indexed_agents",
    "queue_depth",
    "section_wall_s",
}


def bench_doc() -> set[str]:
    return words((ROOT / "docs" / "bench-report.md").read_text())


def test_every_nested_key_of_the_dry_benchmark_report_is_documented() -> None:
    # fix49 checked the top level, ``ratios`` and ``meta``'s own keys; the dry report (no
    # section run) also has ``targets``' entries, ``series`` and ``meta.build``/``machine``
    from bench.run import build_report as bench_report

    rep = bench_report("quick", lambda line: None, only=("no_section",))
    keys = emitted({k: rep[k] for k in ("targets", "series", "meta")}, "$", BENCH_DATA_KEYED)
    assert {"met", "value", "build", "router_path", "nproc"} <= set(keys)
    assert undocumented(keys, bench_doc()) == []


def extra_keys_written() -> set[str]:
    """The keys ``bench.run.build_report`` writes in ``extra`` (``extra["k"]``,
    ``extra.setdefault("k", ...)``) and in ``extra["lifecycle"]`` (the keys it copies), read
    from the code: the sections that fill them take minutes."""
    tree = ast.parse((ROOT / "bench" / "run.py").read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "extra"
            and isinstance(node.slice, ast.Constant)
        ):
            out.add(node.slice.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "extra"
            and node.func.attr == "setdefault"
            and isinstance(node.args[0], ast.Constant)
        ):
            out.add(node.args[0].value)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Subscript)
            and isinstance(t.value, ast.Name)
            and t.value.id == "extra"
            and isinstance(t.slice, ast.Constant)
            and t.slice.value == "lifecycle"
            for t in node.targets
        ):
            for sub in ast.walk(node.value):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    out.add(sub.value)
    return out


def test_every_key_written_in_extra_is_documented() -> None:
    keys = extra_keys_written()
    assert {"section_wall_s", "e2e_flow", "lifecycle", "samples_us", "features"} <= keys
    assert undocumented({k: f"$.extra.{k}" for k in keys}, bench_doc()) == []


def test_every_key_of_surge20_is_documented() -> None:
    # ``surge20`` (the spring festival's 20x surge): its figures from a short run of the
    # same scenario through the section's own assembly (the whole section takes minutes)
    from bench import sections
    from bench.run import SURGE_SCENARIO

    sc = load_scenario(SURGE_SCENARIO)
    short = msgspec.structs.replace(
        sc, simulation=msgspec.structs.replace(sc.simulation, duration_s=1200.0, warmup_s=0.0)
    )
    run = sections._timed_sim(short)
    out = sections.surge_figures(run, [run], 1.0, True, [0.01, 0.02])
    assert run["report"]["offered"] > 0 and out["offered"] == run["report"]["offered"]
    keys = {k: f"$.surge20.{k}" for k in out}
    assert {"offered", "peak_rss_mb", "p99_decision_us", "calibration_us"} <= set(keys)
    assert undocumented(keys, bench_doc()) == []
