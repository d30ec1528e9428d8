"""``python -m router compare-policies``: the table, conservation in every row, user errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from router.__main__ import main
from router.cli.compare import compare, variants
from router.sim.scenario import load_scenario

FLAGSHIP = Path(__file__).resolve().parents[1] / "examples" / "spring_festival.toml"


def test_every_variant_is_valid_and_conserves_inquiries_in_a_short_flood() -> None:
    sc = load_scenario(FLAGSHIP)
    labels = [label for label, _ in variants(sc)]
    assert labels[0].startswith("configured: ") and labels[-1].startswith("chain: ")
    singles = {"admit_all", "reject_when_full", "shed_lowest_priority", "deflect", "callback"}
    assert singles | {"codel", "token_bucket"} <= set(labels)  # "overflow" if rules exist
    rows = compare(sc, duration_s=5400)  # the first half hour of the 20x flood
    assert len(rows) == len(labels)
    for row in rows:
        assert row["unresolved"] == 0, row
        total = row["answered"] + row["abandoned"] + row["rejected"] + row["deflected"]
        assert total == row["offered"], row
    by = {row["policy"]: row for row in rows}
    assert by["deflect"]["deflected"] > 0 and by["callback"]["callbacks"] > 0
    assert by["token_bucket"]["rejected"] > 0


def test_cli_prints_a_markdown_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["compare-policies", str(FLAGSHIP), "--duration", "4000", "--only", "admit_all,deflect"]
    )
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"spring_festival\.toml, seed 2020, load x1: \d+ inquiries offered .*", out[0]
    )
    assert out[2] == (
        "| policy | answered | abandoned | rejected | deflected | callbacks | SL complaint "
        "| p95 wait s | EWT error s (bias) |"
    )
    assert [line.split(" | ")[0] for line in out[4:]] == ["| admit_all", "| deflect"]


def test_cli_errors_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare-policies", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.fullmatch(r".*nope\.toml: \$: cannot read .*", err[0])
    bad = tmp_path / "bad.toml"
    bad.write_text(FLAGSHIP.read_text() + '\n[backpressure.deflect]\nexempt = ["nope"]\n')
    assert main(["compare-policies", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any(e.endswith("$.backpressure.deflect.exempt: unknown queue 'nope'") for e in err), err
    assert main(["compare-policies", str(FLAGSHIP), "--load", "-1"]) == 2
    assert "--load: expected a finite number > 0, got '-1'" in capsys.readouterr().err
