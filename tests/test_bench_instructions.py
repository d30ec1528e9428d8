"""``bench.instructions``: callgrind counts the K lifecycles, not the set-up or teardown."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench import instructions


def test_bad_arguments_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert instructions.main(["--agents", "5"]) == 2
    assert instructions.main(["--k", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bench.instructions: --agents >= 10, --warm >= 0, --k >= 1"] * 2


def test_counts_grow_with_the_lifecycles_counted_alone(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        if os.environ.get("CI"):
            pytest.fail("valgrind is not installed in CI (.ci/run installs it)")
        pytest.skip("needs valgrind (apt-get install valgrind)")
    small = instructions.count(50, 0, 100, tmp_path / "a.out")["Ir"]
    large = instructions.count(50, 0, 300, tmp_path / "b.out")["Ir"]
    # the same steady lifecycles: three times as many cost about three times as much; a
    # count that took in the set-up (millions) or the teardown would not scale so
    assert 2.7 < large / small < 3.3
    assert 5_000 < small / 100 < 1_000_000  # a lifecycle's instructions, not a stray count
    # --ll: K lifecycles warm the simulated caches, the counters are zeroed, then the K
    # counted: as many instructions as the plain count's K (not the warming K too)
    out = tmp_path / "c.out"
    warm = instructions.count(50, 0, 100, out, ll=instructions.ll_size("32M"))
    assert 0.85 < warm["Ir"] / small < 1.15
    # 50 agents' state fits the LL: warmed, it serves nearly every L1 miss (measured: one
    # LL miss in about 100 L1 misses; cold, the first touches made it one in 12)
    assert 30 * (warm["DLmr"] + warm["DLmw"]) < warm["D1mr"] + warm["D1mw"]
    lines = out.read_text().splitlines()
    summary = next(x for x in lines if x.startswith("summary:"))
    assert summary.split()[1:] == next(x for x in lines if x.startswith("totals:")).split()[1:]


def test_flow_bad_arguments_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert instructions.main(["--flow", "direct", "--runs", "0"]) == 2
    assert instructions.main(["--flow", "direct", "--inquiries", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bench.instructions: --inquiries >= 1, --runs >= 1"] * 2


def test_flow_counts_the_timed_part_alone(tmp_path: Path) -> None:
    """``--flow direct``: the runs' timed parts only (each run's set-up, 200 logins and a
    router, is millions of instructions: a count that took it in would not scale)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        if os.environ.get("CI"):
            pytest.fail("valgrind is not installed in CI (.ci/run installs it)")
        pytest.skip("needs valgrind (apt-get install valgrind)")
    small = instructions.count(10, 0, 1, tmp_path / "a.out", flow=(100, 1))["Ir"]
    large = instructions.count(10, 0, 1, tmp_path / "b.out", flow=(100, 3))["Ir"]
    assert 2.7 < large / small < 3.3
    assert 5_000 < small / 100 < 1_000_000  # an inquiry's instructions, not a stray count


def test_ll_sizes_and_bad_ll_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert instructions.ll_size("32M") == 33_554_432
    assert instructions.ll_size("512k") == 524_288
    assert instructions.ll_size("33554432") == 33_554_432
    assert instructions.ll_sim(33_554_432)[-1] == "--LL=33554432,16,64"
    for bad in ("24M", "1000", "M", "32X", "-32M"):  # sets must be a power of two
        with pytest.raises(ValueError):
            instructions.ll_size(bad)
    assert instructions.main(["--ll", "24M"]) == 2
    assert instructions.main(["--ll", "32M", "--flow", "direct"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert err[0].startswith("bench.instructions: --ll '24M': a size such as 32M")
    assert err[1] == "bench.instructions: --ll counts lifecycles, not --flow"
