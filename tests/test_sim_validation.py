"""The simulator against queueing theory (Erlang C, Erlang A) and against ``ciw``.

Each test runs a long seeded simulation of one FIFO queue through the real core and
compares it with the exact formula of ``router.state.erlang``. The tolerance is not a
guess: it is ``4 x`` the batch-means standard error of the run itself (30 batches of
arrival time; see ``router/sim/validate.py``), so a longer run gives a tighter test.
Each test also checks the tolerance is tight enough to catch a real error. Seeds are
fixed, so the outcome is deterministic.
"""

from __future__ import annotations

import pytest

from router.sim.validate import Check, check_erlang_a, check_erlang_c, compare_with_ciw


def assert_checks(checks: list[Check], max_tolerance: dict[str, float]) -> None:
    failed = [str(c) for c in checks if not c.ok]
    assert not failed, "\n".join(failed)
    for c in checks:
        key = c.name.split()[-1]
        limit = max_tolerance[key]
        if key == "mean_wait":
            limit *= c.reference  # relative for the mean wait
        assert c.tolerance <= limit, f"{c}: tolerance {c.tolerance:.4f} above {limit:.4f}"


def test_erlang_c_about_10_erlangs() -> None:
    checks = check_erlang_c(12, 10.0, customers=100_000, seed=11)
    assert_checks(checks, {"p_wait": 0.05, "mean_wait": 0.3, "service_level": 0.05})


def test_erlang_c_about_200_erlangs() -> None:
    checks = check_erlang_c(212, 200.0, customers=150_000, seed=12)
    assert_checks(checks, {"p_wait": 0.12, "mean_wait": 0.7, "service_level": 0.05})


def test_erlang_a_about_10_erlangs() -> None:
    checks = check_erlang_a(10, 10.0, 200.0, customers=100_000, seed=13)
    assert_checks(checks, {"p_wait": 0.04, "p_abandon": 0.02, "service_level": 0.04})


def test_erlang_a_about_200_erlangs_overloaded() -> None:
    # 5% overload: only abandonment keeps the queue finite
    checks = check_erlang_a(200, 210.0, 300.0, customers=150_000, seed=14)
    assert_checks(checks, {"p_wait": 0.06, "p_abandon": 0.02, "service_level": 0.15})


def test_cross_check_with_ciw_on_the_same_mmc_day() -> None:
    pytest.importorskip("ciw")
    result = compare_with_ciw(days=5, seed=1)
    assert_checks(result["checks"], {"p_wait": 0.15, "mean_wait": 1.2, "service_level": 0.15})
    # both simulators also agree with the exact Erlang C value of the day
    for c in result["checks"]:
        key = c.name.split()[-1]
        assert abs(c.reference - result["exact"][key]) <= c.tolerance


def test_the_command_line_help_runs_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m router.sim.validate --help`` prints its options; it used to ignore them
    and start the few-minute validation run (and so did a mistyped ``--quik``)."""
    from router.sim import validate

    def no_run(*args: object, **kw: object) -> list[Check]:
        raise AssertionError("a validation run started")

    monkeypatch.setattr(validate, "check_erlang_c", no_run)
    for argv, code in ((["--help"], 0), (["--quik"], 2)):
        with pytest.raises(SystemExit) as info:
            validate.main(argv)
        assert info.value.code == code
    out, err = capsys.readouterr()
    assert out.startswith("usage: python -m router.sim.validate [-h] [--quick]\n")
    assert err.endswith("error: unrecognized arguments: --quik\n")
