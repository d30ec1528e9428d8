"""``simulate --csv DIR``: interval rows that add up to the run's report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from router.sim.cli import simulate_main
from router.sim.csv_report import AGENT_COLUMNS, QUEUE_COLUMNS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def run(tmp_path: Path, *extra: str) -> tuple[dict[str, object], Path]:
    out = tmp_path / "csv"
    rep = tmp_path / "report.json"
    code = simulate_main(
        [
            str(EXAMPLES / "taobao_fliggy_chat.toml"),
            "--duration", "7200", "--quiet", "--json", str(rep), "--csv", str(out), *extra,
        ]
    )  # fmt: skip
    assert code == 0
    return json.loads(rep.read_text()), out


def test_interval_rows_add_up_to_the_report(tmp_path: Path) -> None:
    rep, out = run(tmp_path)
    queues = read(out / "queues.csv")
    agents = read(out / "agents.csv")
    assert tuple(queues[0]) == QUEUE_COLUMNS
    assert tuple(agents[0]) == AGENT_COLUMNS
    names = ["taobao_orders", "fliggy_refund", "fliggy_change", "ALL"]
    assert [r["queue"] for r in queues[:4]] == names
    assert queues[0]["interval_start"] == "mon 17:00" and queues[0]["interval_end"] == "mon 17:15"
    assert queues[4]["start_s"] == "900.0"
    all_rows = [r for r in queues if r["queue"] == "ALL"]
    assert sum(int(r["offered"]) for r in all_rows) == rep["arrivals_total"]
    # every interval's ALL row is the sum of its queue rows
    for i, total in enumerate(all_rows):
        parts = queues[i * 4 : i * 4 + 3]
        for key in ("offered", "answered", "abandoned", "rejected", "handled"):
            assert int(total[key]) == sum(int(p[key]) for p in parts), key
        occ = [float(p["occupancy"] or 0) for p in parts]
        assert float(total["occupancy"] or 0) == pytest.approx(sum(occ), abs=4e-4)
    # the agents' busy over staffed, inside the measured window, is the report's occupancy
    assert rep["warmup_s"] == 900  # a whole interval
    inside = [a for a in agents if 900 <= float(a["start_s"]) < 7200]
    busy = sum(float(a["busy_s"]) for a in inside)
    staffed = sum(float(a["staffed_s"]) for a in inside)
    assert busy / staffed == pytest.approx(rep["occupancy"], rel=1e-5)
    handled = sum(int(a["handled"]) for a in agents)
    assert handled == sum(int(r["handled"]) for r in all_rows)


def test_thirty_minute_intervals_and_bad_flags(tmp_path: Path) -> None:
    _, out = run(tmp_path, "--interval", "30")
    queues = read(out / "queues.csv")
    assert queues[4]["start_s"] == "1800.0"
    assert queues[4]["interval_start"] == "mon 17:30"  # the scenario starts mon 17:00
    code = simulate_main([str(EXAMPLES / "taobao_fliggy_chat.toml"), "--interval", "20"])
    assert code == 2
