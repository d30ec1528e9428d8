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

import re
from pathlib import Path
from typing import Any

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


def emitted(value: Any, path: str = "$") -> dict[str, str]:
    """Every key in ``value`` (dicts and lists of dicts) -> where, data-keyed dicts' own keys
    left out (their values are still walked)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            at = f"{path}.{k}"
            name = path.rsplit(".", 1)[-1]
            if name not in DATA_KEYED:
                out.setdefault(str(k), at)
            out.update({kk: p for kk, p in emitted(v, at).items() if kk not in out})
    elif isinstance(value, list):
        for item in value[:3]:
            out.update({kk: p for kk, p in emitted(item, path + "[]").items() if kk not in out})
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
