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


def test_every_counted_flow_is_counted_between_its_two_clock_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--flow NAME``'s driver, without valgrind: a thread stands in for the parent and
    answers the handshakes; each counted run of every flow reads the clock twice (the
    counting switched on, then off), in order, and the warm run reads no handshake."""
    import gc
    import threading

    from bench import flows

    clock = flows._CPU
    monkeypatch.setattr(flows, "_CPU", clock)  # drive_flow replaces it: restored after
    for name in instructions.COUNTED_FLOWS:
        flows._CPU = clock
        marker = str(tmp_path / name)
        seen: list[str] = []
        stop = threading.Event()

        def parent(
            marker: str = marker, seen: list[str] = seen, stop: threading.Event = stop
        ) -> None:
            while not stop.is_set():
                for i in range(4):
                    path = f"{marker}.{i}"
                    if os.path.exists(path):
                        seen.append(path[len(marker) :])
                        os.remove(path)
                stop.wait(0.01)

        thread = threading.Thread(target=parent, daemon=True)
        thread.start()
        try:
            instructions.drive_flow(30, 2, marker, name)
        finally:
            stop.set()
            thread.join()
            gc.enable()  # the driver turns the collector off (a process of its own)
        assert seen == [".0", ".1", ".2", ".3"], name


def test_the_floor_moves_every_inquiry_to_its_planned_agent() -> None:
    """``bench.floor``: each inquiry's agent is one that may serve its queue; the floor's
    flow completes every inquiry and wakes a suspended agent at most once per inquiry."""
    from bench import floor
    from bench.flows import flow_work
    from bench.workload import may_serve

    work = flow_work(20, 60)
    plan = floor.floor_plan(work)
    agents = {a.id: a for a in work.agents}
    queues = {q.name: q for q in work.config.queues}
    assert len(plan) == len(work.inquiries)
    assert all(may_serve(agents[a], queues[i.queue]) for a, i in zip(plan, work.inquiries))
    assert floor.run_floor(work, plan) > 0
    # the agents start suspended: the first offer to each wakes it; no more than one each
    assert len(set(plan)) <= floor.WAKES[0] <= len(work.inquiries)
