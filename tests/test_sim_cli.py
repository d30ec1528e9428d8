"""``python -m router simulate`` and ``python -m router demo``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import router
import router.sim.cli as cli
from router._build import build_name
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
        "airline_complaints.toml: seed 5, load x0.5 (peak 1.75x base), surge x3.5 complaints "
        "10:00-16:00, wed 08:00 + 10 h (warm-up 1800s), 54 agents, 2 queues\n"
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
        "staffing.png",
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
        ([], "router simulate: the following arguments are required: FILE"),
        (
            ["x.toml", "--load", "-1"],
            "router simulate: argument --load: expected a finite number >= 0, got '-1'",
        ),
        (
            ["x.toml", "--seed", "one"],
            "router simulate: argument --seed: invalid int value: 'one'",
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
    # from elsewhere (the flagship found beside the package, or beside the tree a compiled
    # build was made in: the compiled run of this file), on the build loaded here
    monkeypatch.chdir(tmp_path)
    assert demo_main(["--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Spring Festival flood (Tujia-style), spring_festival.toml: seed 2020")
    assert f"\ncore: {build_name()}\n" in out
    rep = json.loads((tmp_path / "out" / "demo" / "report.json").read_text())
    assert rep["offered"] == rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "out" / "demo" / "overview.png").exists()


def test_flagship_path_finds_the_tree_of_a_compiled_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make compiled installs the package into the tree's build/compiled, without examples/
    tree = tmp_path / "tree"
    (tree / "examples").mkdir(parents=True)
    (tree / "examples" / "spring_festival.toml").write_text("")
    installed = tree / "build" / "compiled" / "router" / "sim" / "cli.py"
    monkeypatch.setattr(cli, "__file__", str(installed))
    monkeypatch.chdir(tmp_path)
    assert cli.flagship_path() == tree / "examples" / "spring_festival.toml"
    # another install's parent is not searched: the current directory's examples/
    monkeypatch.setattr(cli, "__file__", str(tree / "lib" / "compiled" / "router" / "sim" / "x"))
    assert cli.flagship_path() == Path("examples") / "spring_festival.toml"
    # a checkout: beside the package
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "spring_festival.toml").write_text("")
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "router" / "sim" / "cli.py"))
    assert cli.flagship_path() == tmp_path / "examples" / "spring_festival.toml"


def test_dispatcher_runs_simulate(tmp_path: Path) -> None:
    # the subprocess loads the package this run loaded (the compiled run: build/compiled),
    # run from elsewhere so that no router/ in its directory comes first
    pkg = Path(router.__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "router", "simulate", str(EXAMPLES / "mafengwo_refund_flood.toml")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(pkg)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("mafengwo_refund_flood.toml: seed 121")
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- run-size guards

SMALL = """
[[queues]]
name = "q"
[[agents]]
count = {count}
[[arrivals]]
queue = "q"
rate_per_s = {rate}
handle_time = {{ dist = "exponential", mean_s = 60 }}
"""


@pytest.mark.parametrize(
    ("text", "argv", "line"),
    [
        (
            SMALL.format(count=2, rate=1),
            ["--load", "1e9"],
            "$.arrivals: about 3.6e+12 arrivals expected at --load 1e+09 over 3600 s, "
            "above simulation.limits.arrivals = 2,000,000; lower it, raise "
            "simulation.limits.arrivals, or pass --force",
        ),
        (
            SMALL.format(count=100_000_000, rate=1),
            [],
            "$.agents: 100,000,000 agents, above simulation.limits.agents = 100,000; lower it, "
            "raise simulation.limits.agents, or pass --force",
        ),
        (
            SMALL.format(count=2, rate=1e300),
            ["--force"],
            "$.arrivals[0].rate_per_s: 1e+300/s (with load and surges) puts arrivals 1e-300 s "
            "apart, below the clock's resolution at t = 3600 s: virtual time could not advance; "
            "no run is possible, even with --force",
        ),
        (
            SMALL.format(count=2, rate=1).replace(
                "[[queues]]", "[simulation.limits]\nevents = 10\n[[queues]]"
            ),
            [],
            "$.simulation: about 36,008 simulation events expected, above "
            "simulation.limits.events = 10; lower it, raise simulation.limits.events, or pass "
            "--force",
        ),
    ],
)
def test_too_large_runs_get_one_line_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, argv: list[str], line: str
) -> None:
    path = tmp_path / "big.toml"
    path.write_text(text)
    assert simulate_main([str(path), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [f"{path}: {line}"]
    if "--load" not in argv:  # check sizes the file as it stands
        from router.cli.check import check_main

        assert check_main([str(path), *[a for a in argv if a == "--force"]]) == 2
        assert capsys.readouterr().out.splitlines() == [line]


def test_force_runs_past_a_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(
        SMALL.format(count=2, rate=0.01).replace(
            "[[queues]]", "[simulation.limits]\narrivals = 5\n[[queues]]"
        )
    )
    assert simulate_main([str(path), "--quiet"]) == 2
    assert "simulation.limits.arrivals = 5" in capsys.readouterr().err
    assert simulate_main([str(path), "--quiet", "--force"]) == 0
    from router.cli.check import check_main

    assert check_main([str(path), "--force"]) == 0


def test_staff_refuses_an_absurd_load_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    from router.cli.staff import staff_main

    assert staff_main(["--rate", "1e9", "--aht", "180", "--target-s", "20"]) == 2
    assert capsys.readouterr().err == (
        "router staff: error: offered load 1.8e+11 Erlangs needs more than 100,000 "
        "agents, the most this calculator sizes\n"
    )
    argv = ["--rate", "1e9", "--aht", "180", "--target-s", "20", "--patience-s", "60"]
    assert staff_main(argv) == 2
    assert capsys.readouterr().err == (
        "router staff: error: offered load 1.8e+11 Erlangs needs more than 100,000 "
        "agents for 80% answered, the most this calculator sizes\n"
    )
    assert (
        staff_main(["--rate", "1", "--aht", "180", "--target-s", "20", "--max-agents", "50"]) == 2
    )
    assert "needs more than 50 agents" in capsys.readouterr().err


def test_load_zero_charts_draw_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import warnings

    from router.sim import build_report, load_scenario, simulate
    from router.sim.plots import overview_figure, write_charts

    res = simulate(load_scenario(EXAMPLES / "spring_festival.toml"), load=0.0)
    rep = build_report(res)
    assert rep["offered"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_charts(res, rep, tmp_path, "empty")
        fig = overview_figure(res, rep, "empty")
    for ax in fig.axes:
        assert ax.get_xlim()[0] >= -0.5 and ax.get_ylim()[0] >= 0, ax.get_title()


def test_explain_and_compare_refuse_too_large_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from router.cli.check import explain_main
    from router.cli.compare import compare_main

    path = tmp_path / "big.toml"
    path.write_text(SMALL.format(count=100_000_000, rate=1))
    line = (
        "$.agents: 100,000,000 agents, above simulation.limits.agents = 100,000; lower it, "
        "raise simulation.limits.agents, or pass --force"
    )
    assert explain_main([str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"{path}: {line}"]
    assert compare_main([str(path), "--only", "admit_all"]) == 2
    assert capsys.readouterr().err.splitlines() == [f"{path}: {line}"]


ROSTER = """
[[queues]]
name = "q"
[simulation]
duration_s = 3600
warmup_s = 0
seed = 5
[[agents]]
name = "early"
count = 3
skills = {}
[[agents]]
name = "late"                       # on the roster: logged in at 0, on shift from 1800
count = 3
shifts = [ { start_s = 1800 } ]
[[arrivals]]
queue = "q"
rate_per_s = 0.02
handle_time = { dist = "exponential", mean_s = 120 }
"""


def test_the_occupancy_chart_divides_by_time_on_shift_as_the_report_does() -> None:
    """An agent on the roster logs in before its shift: its bar in the per-agent chart is
    busy time over time on shift, the report's occupancy (it was over time since login,
    so the flagship's 190 reinforcements showed 58% beside a report of 82%)."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from router.sim import build_report, decode_scenario, simulate
    from router.sim.plots import _agents_panel

    res = simulate(decode_scenario(ROSTER))
    rep = build_report(res, timeline=False)
    fig, ax = plt.subplots()
    _agents_panel(ax, res)
    bars = {c.get_label().split()[0]: [b.get_height() / 100 for b in c] for c in ax.containers}
    plt.close(fig)
    occupancy = rep["occupancy_by_group"]["late"]
    assert min(bars["late"]) <= occupancy <= max(bars["late"])
    assert max(bars["late"]) > 0.2 and max(bars["late"]) <= rep["occupancy_max"] + 1e-9
    assert min(min(hs) for hs in bars.values()) == pytest.approx(rep["occupancy_min"])


def test_load_on_a_surge_file_multiplies_by_design_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--load`` above 1 on a file whose own surge floods: run as asked (by design, the
    header's peak is the product), one note on stderr; no note at ``--load 1`` or below."""
    path = str(EXAMPLES / "airline_complaints.toml")
    args = ["--duration", "600", "--quiet", "--seed", "3"]
    assert simulate_main([path, "--load", "2", *args]) == 0
    got = capsys.readouterr()
    assert got.out.startswith("airline_complaints.toml: seed 3, load x2 (peak 7x base), ")
    assert got.err.splitlines() == [
        f"{path}: note: --load 2 multiplies on top of the file's own surges (x3.5 complaints): "
        "the peak is 7x the base rate; --load 1 runs the file's story as written"
    ]
    for load in ("1", "0.5"):
        assert simulate_main([path, "--load", load, *args]) == 0
        assert capsys.readouterr().err == ""
    bare = EXAMPLES / "alipay_hotline.toml"
    assert simulate_main([str(bare), "--load", "2", *args]) == 0
    assert capsys.readouterr().err == ""  # no flood of its own: nothing counted twice
    with pytest.raises(SystemExit):
        simulate_main(["--help"])
    assert "on top of the file's own [[surges]], by design" in " ".join(
        capsys.readouterr().out.split()
    )
