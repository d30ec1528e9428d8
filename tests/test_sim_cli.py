"""``python -m router simulate`` and ``python -m router demo``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from router.sim.cli import demo_main, simulate_main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ROOT = EXAMPLES.parent

BAD = """
[routing]
offer_timeout_s = 10
[[queues]]
name = "q"
[simulation]
accept_delay_s = 12
[[agents]]
count = 1
[[arrivals]]
queue = "x"
rate_per_s = 1
handle_time = { dist = "exponential", mean_s = 10 }
"""


def test_simulate_writes_json_and_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    report = tmp_path / "r" / "report.json"
    charts = tmp_path / "charts"
    code = simulate_main(
        [
            str(EXAMPLES / "airline_complaints.toml"),
            "--seed",
            "5",
            "--load",
            "0.5",
            "--json",
            str(report),
            "--plot",
            str(charts),
            "--quiet",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "airline_complaints.toml: seed 5, load x0.5, surge x3.5 complaints 2-8h, 36000s"
    )
    assert f"report: {report}" in out
    rep = json.loads(report.read_text())
    assert rep["seed"] == 5 and rep["load"] == 0.5
    assert rep["cap_violations"] == 0
    assert set(rep["queues"]) == {"complaints", "refunds"}
    names = sorted(p.name for p in charts.iterdir())
    assert names == [
        "agents.png",
        "outcomes.png",
        "overview.png",
        "queues.png",
        "waiting.png",
        "waits.png",
    ]
    assert all((charts / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_bad_scenario_exits_2_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    assert simulate_main([str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{bad}: $.simulation.accept_delay_s: 12 is not below routing.offer_timeout_s = 10; "
        "every offer would expire",
        f"{bad}: $.arrivals[0].queue: unknown queue 'x'",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "python -m router simulate: the following arguments are required: FILE"),
        (
            ["x.toml", "--load", "-1"],
            "python -m router simulate: argument --load: expected a finite number >= 0, got '-1'",
        ),
        (
            ["x.toml", "--seed", "one"],
            "python -m router simulate: argument --seed: invalid int value: 'one'",
        ),
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert simulate_main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [message]


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.toml"
    assert simulate_main([str(missing)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{missing}: $: cannot read {missing}: No such file or directory"
    ]


def test_demo_writes_report_and_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert demo_main(["--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Spring Festival flood (Tujia-style), spring_festival.toml: seed 2020")
    rep = json.loads((tmp_path / "out" / "demo" / "report.json").read_text())
    assert rep["offered"] == rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "out" / "demo" / "overview.png").exists()


def test_dispatcher_runs_simulate() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "router", "simulate", "examples/mafengwo_refund_flood.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("mafengwo_refund_flood.toml: seed 121")
    assert "Traceback" not in proc.stderr
