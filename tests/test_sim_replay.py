"""``[[arrivals]] from_csv``: real arrivals replayed through the simulator, bad files named."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from router.cli.check import check_main
from router.errors import ConfigError
from router.events import Abandoned, Assigned
from router.sim import build_report, load_scenario, simulate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SCENARIO = """
[routing]
mode = "immediate"
[[queues]]
name = "refund"
channel = "voice"
[simulation]
duration_s = 600
[[agents]]
count = 1
[[arrivals]]
queue = "refund"
from_csv = "day.csv"
"""


def write(tmp_path: Path, rows: str, scenario: str = SCENARIO) -> Path:
    (tmp_path / "day.csv").write_text(rows)
    path = tmp_path / "sc.toml"
    path.write_text(scenario)
    return path


def test_the_sample_day_is_replayed_row_for_row() -> None:
    with (EXAMPLES / "day.csv").open() as f:
        rows = list(csv.DictReader(f))
    per_queue = Counter(r["queue"] for r in rows)
    rep = build_report(simulate(load_scenario(EXAMPLES / "replay_day.toml")), timeline=False)
    assert rep["offered"] == len(rows) == 627
    assert {q: v["offered"] for q, v in rep["queues"].items()} == dict(per_queue)
    assert rep["unresolved"] == 0
    assert rep["answered"] + rep["abandoned"] == rep["offered"]


def test_rows_keep_their_times_handle_times_and_patience(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,handle_s,patience_s\n"
        "00:00:30,10,\n"  # rows need not be sorted
        "10,100,\n"
        "20,50,5\n",
    )
    events: list[Any] = []
    res = simulate(load_scenario(path), on_event=lambda e: events.append(e) or True)
    assigned = {e.inquiry_id: (e.at, e.wait_s) for e in events if isinstance(e, Assigned)}
    abandoned = {e.inquiry_id: e.at for e in events if isinstance(e, Abandoned)}
    assert assigned["1"] == (10.0, 0.0)  # arrives at 10, the agent is free
    assert abandoned == {"2": 25.0}  # arrives at 20, patience 5, the agent busy until 110
    assert assigned["3"] == (110.0, 80.0)  # arrives at 30, waits for the agent
    assert [r.handle for r in res.inquiries] == [100.0, 50.0, 10.0]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    return list(info.value.problems)


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (
            "timestamp,handle_s\n10,5\nsoon,5\n",
            "day.csv:3: timestamp: expected seconds or a clock time HH:MM[:SS], got 'soon'",
        ),
        ("timestamp,handle_s\n10,nan\n", "day.csv:2: handle_s: expected a finite number > 0"),
        ("timestamp,handle_s\n-1,5\n", "day.csv:2: timestamp: expected a finite number >= 0"),
        ("timestamp,handle_s\n25:00,5\n", "day.csv:2: timestamp: no such time of day '25:00'"),
        ("timestamp,handle_s\n10\n", "day.csv:2: 1 cells, expected 2"),
        ("when,handle_s\n10,5\n", "day.csv:1: header must name timestamp"),
        ("", "day.csv:1: empty file; expected a header row"),
        ("timestamp\n10\n", "rows without handle_s need the entry's handle_time distribution"),
        (
            "timestamp,queue,handle_s\n10,refund,5\n11,chat,5\n",
            "rows of queue 'chat' would not be replayed: 'chat' is not a queue of the config",
        ),
    ],
)
def test_a_bad_file_is_refused_with_its_row(tmp_path: Path, rows: str, problem: str) -> None:
    path = write(tmp_path, rows)
    (line,) = problems_of(path)
    assert line.startswith("$.arrivals[0].from_csv: ")
    assert problem in line


def test_missing_file_and_exclusive_fields(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "sc.toml"
    path.write_text(SCENARIO)
    (line,) = problems_of(path)
    assert line.startswith(f"$.arrivals[0].from_csv: cannot read {tmp_path / 'day.csv'}: ")
    assert check_main([str(path)]) == 2  # router check names it too
    assert capsys.readouterr().out.startswith("$.arrivals[0].from_csv: cannot read")
    path.write_text(SCENARIO.replace('from_csv = "day.csv"', "rate_per_s = 1"))
    assert problems_of(path) == [
        "$.arrivals[0]: missing required field 'handle_time' (or from_csv)"
    ]
    (tmp_path / "day.csv").write_text("timestamp,handle_s\n1,1\n")
    path.write_text(
        SCENARIO.replace('from_csv = "day.csv"', 'from_csv = "day.csv"\nrate_per_s = 1')
    )
    assert problems_of(path) == ["$.arrivals[0].rate_per_s: a stream replayed from_csv has no rate"]
