"""Tests for router.state.erlang (Erlang C / Erlang A / staffing CLI).

Reference values are cross-checked against brute-force computations that do not share code
with the module: the stationary distribution of a truncated birth-death chain is obtained by
Gaussian elimination on the global-balance equations, the tagged-caller quantities by a
first-step recursion and by uniformisation of the tagged caller's absorbing chain.
"""

from __future__ import annotations

import math

import pytest

from router.cli.staff import staff_main
from router.state.erlang import (
    ErlangA,
    agents_needed,
    erlang_a,
    erlang_b,
    erlang_c,
    mmc_mean_wait,
    mmc_occupancy,
    mmc_service_level,
)

# --------------------------------------------------------------------------- brute force


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Dense Gaussian elimination with partial pivoting (small systems only)."""
    n = len(rhs)
    a = [[*row, b] for row, b in zip(matrix, rhs)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[piv] = a[piv], a[col]
        for r in range(n):
            if r != col and a[r][col] != 0.0:
                f = a[r][col] / a[col][col]
                for j in range(col, n + 1):
                    a[r][j] -= f * a[col][j]
    return [a[i][n] / a[i][i] for i in range(n)]


def _stationary(c: int, lam: float, mu: float, theta: float, n_max: int) -> list[float]:
    """Stationary law of the birth-death chain truncated at n_max, from global balance."""
    size = n_max + 1

    def death(n: int) -> float:
        return min(n, c) * mu + max(0, n - c) * theta

    def birth(n: int) -> float:
        return lam if n < n_max else 0.0

    # Rows: balance equations pi Q = 0 for states 1..n_max, plus normalisation.
    q = [[0.0] * size for _ in range(size)]
    for n in range(size):
        if n + 1 < size:
            q[n][n + 1] = birth(n)
        if n > 0:
            q[n][n - 1] = death(n)
        q[n][n] = -(birth(n) + death(n))
    matrix = [[q[i][j] for i in range(size)] for j in range(1, size)]
    matrix.append([1.0] * size)
    return _solve(matrix, [0.0] * (size - 1) + [1.0])


def _brute_erlang_a(
    c: int, lam: float, mu: float, theta: float, n_max: int, t: float
) -> dict[str, float]:
    pi = _stationary(c, lam, mu, theta, n_max)
    p_wait = sum(pi[c:])
    queue = sum((n - c) * pi[n] for n in range(c, n_max + 1))
    busy = sum(min(n, c) * pi[n] for n in range(n_max + 1))
    # First-step analysis for a tagged caller with i callers ahead:
    #   R_i = c mu + (i+1) theta, forward rate f_i = c mu + i theta,
    #   p_i = P(answered) = f_i/R_i p_{i-1};  m_i = E[W; answered] = p_i/R_i + f_i/R_i m_{i-1}.
    p_prev, m_prev = 1.0, 0.0
    served = 1.0 - p_wait
    wait_served = 0.0
    for k in range(n_max - c + 1):
        r = c * mu + (k + 1) * theta
        f = c * mu + k * theta
        p_k = f / r * p_prev
        m_k = p_k / r + f / r * m_prev
        served += pi[c + k] * p_k
        wait_served += pi[c + k] * m_k
        p_prev, m_prev = p_k, m_k
    # Uniformisation of the tagged chain (states: k ahead, plus "answered" and "gone")
    # to get P(answered within t) for all arrivals.
    kmax = n_max - c
    big = c * mu + (kmax + 1) * theta
    vec = [pi[c + k] for k in range(kmax + 1)]
    answered = 0.0
    weight = math.exp(-big * t)
    sl_waiters = weight * answered
    step = 0
    while True:
        step += 1
        new = [0.0] * (kmax + 1)
        for k, v in enumerate(vec):
            if v == 0.0:
                continue
            fwd = c * mu + k * theta
            if k == 0:
                answered += v * fwd / big
            else:
                new[k - 1] += v * fwd / big
            new[k] += v * (1.0 - (fwd + theta) / big)
        vec = new
        weight *= big * t / step
        sl_waiters += weight * answered
        if step > big * t and weight < 1e-17:
            break
    return {
        "p_wait": p_wait,
        "p_abandon": theta * queue / lam,
        "mean_wait_s": queue / lam,
        "mean_wait_served_s": wait_served / served,
        "occupancy": busy / c,
        "served": served,
        "sl": (1.0 - p_wait) + sl_waiters,
    }


# --------------------------------------------------------------------------- Erlang B/C


def test_erlang_b_textbook() -> None:
    # Erlang B table: B(10, 8) = 0.1217, B(1, A) = A / (1 + A).
    assert erlang_b(10, 8.0) == pytest.approx(0.12166, abs=1e-5)
    assert erlang_b(1, 3.0) == pytest.approx(0.75)


def test_erlang_c_textbook_value() -> None:
    # c = 10, A = 8: C = 10 B / (10 - 8 (1 - B)) = 0.40918 (tables print 0.409).
    assert erlang_c(10, 8.0) == pytest.approx(0.409180, abs=1e-6)
    # M/M/1: P(wait) = rho.
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    # M/M/2: C = 2 rho^2 / (1 + rho), rho = A / 2.
    assert erlang_c(2, 1.0) == pytest.approx(2 * 0.25 / 1.5)


@pytest.mark.parametrize(("c", "offered"), [(10, 8.0), (3, 2.5), (7, 1.3)])
def test_erlang_c_matches_birth_death(c: int, offered: float) -> None:
    pi = _stationary(c, offered, 1.0, 0.0, c + 200)
    assert erlang_c(c, offered) == pytest.approx(sum(pi[c:]), rel=1e-9)
    queue = sum((n - c) * pi[n] for n in range(c, len(pi)))
    assert mmc_mean_wait(c, offered, 1.0) == pytest.approx(queue / offered, rel=1e-8)


def test_erlang_c_unstable_and_edges() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(10, 25.0) == 1.0
    assert erlang_c(5, 0.0) == 0.0
    for fn in (mmc_mean_wait, mmc_occupancy):
        with pytest.raises(ValueError, match="unstable"):
            fn(10, 1.0, 10.0)
    with pytest.raises(ValueError, match="unstable"):
        mmc_service_level(10, 1.0, 12.0, 20.0)
    with pytest.raises(ValueError):
        erlang_c(0, 1.0)
    with pytest.raises(ValueError):
        erlang_c(3, -1.0)
    with pytest.raises(ValueError):
        erlang_c(3, math.nan)
    with pytest.raises(ValueError):
        mmc_mean_wait(3, 0.01, 0.0)


def test_erlang_c_large_c_is_stable() -> None:
    val = erlang_c(5000, 4900.0)
    assert 0.0 < val < 1.0 and math.isfinite(val)
    assert erlang_c(5000, 10.0) == 0.0  # underflows to the correct double value
    # Square-root staffing sanity: c = A + beta sqrt(A) gives roughly constant P(wait).
    near = [erlang_c(round(a + math.sqrt(a)), a) for a in (400.0, 1600.0, 3600.0)]
    assert max(near) - min(near) < 0.03


def test_mmc_formulas() -> None:
    lam, s = 100 / 1800, 180.0  # 100 calls / 30 min, AHT 3 min -> A = 10
    c_prob = erlang_c(14, 10.0)
    assert mmc_mean_wait(14, lam, s) == pytest.approx(c_prob * s / 4)
    assert mmc_service_level(14, lam, s, 20) == pytest.approx(1 - c_prob * math.exp(-4 * 20 / s))
    assert mmc_service_level(14, lam, s, 0) == pytest.approx(1 - c_prob)
    assert mmc_occupancy(14, lam, s) == pytest.approx(10 / 14)
    # Published worked example (100 calls/30 min, AHT 180 s): 14 agents give 88.8% in 20 s.
    assert mmc_service_level(14, lam, s, 20) == pytest.approx(0.888, abs=1e-3)


# --------------------------------------------------------------------------- Erlang A


@pytest.mark.parametrize(
    ("c", "lam", "mu", "theta", "t"),
    [
        (3, 2.5, 1.0, 0.5, 0.3),
        (4, 6.0, 1.0, 2.0, 0.5),  # overloaded, stable thanks to abandonment
        (2, 1.0, 1.0, 0.1, 1.0),
        (5, 4.0, 1.0, 1.0, 0.0),
    ],
)
def test_erlang_a_matches_brute_force(
    c: int, lam: float, mu: float, theta: float, t: float
) -> None:
    ea = erlang_a(c, lam, 1.0 / mu, 1.0 / theta)
    bf = _brute_erlang_a(c, lam, mu, theta, c + 120, t)
    assert isinstance(ea, ErlangA)
    assert ea.p_wait == pytest.approx(bf["p_wait"], rel=1e-9)
    assert ea.p_abandon == pytest.approx(bf["p_abandon"], rel=1e-9)
    assert ea.p_abandon == pytest.approx(1.0 - bf["served"], rel=1e-9)
    assert ea.mean_wait_s == pytest.approx(bf["mean_wait_s"], rel=1e-9)
    assert ea.mean_wait_served_s == pytest.approx(bf["mean_wait_served_s"], rel=1e-9)
    assert ea.occupancy == pytest.approx(bf["occupancy"], rel=1e-9)
    assert ea.service_level(t) == pytest.approx(bf["sl"], rel=1e-9)
    assert ea.mean_queue_len == pytest.approx(lam * ea.mean_wait_s)


def test_erlang_a_service_level_limits() -> None:
    ea = erlang_a(12, 11 / 180, 180.0, 90.0)
    assert ea.service_level(0.0) == pytest.approx(1.0 - ea.p_wait)
    assert ea.service_level(math.inf) == pytest.approx(1.0 - ea.p_abandon)
    assert ea.service_level(1e6) == pytest.approx(1.0 - ea.p_abandon)
    levels = [ea.service_level(t) for t in (0, 5, 10, 20, 40, 80, 160)]
    assert levels == sorted(levels)


def test_erlang_a_converges_to_erlang_c() -> None:
    lam, s = 8 / 180, 180.0
    ea = erlang_a(10, lam, s, 1e9)
    assert ea.p_wait == pytest.approx(erlang_c(10, 8.0), rel=1e-6)
    assert ea.mean_wait_s == pytest.approx(mmc_mean_wait(10, lam, s), rel=1e-5)
    assert ea.service_level(20) == pytest.approx(mmc_service_level(10, lam, s, 20), rel=1e-6)
    assert ea.p_abandon < 1e-6
    inf = erlang_a(10, lam, s, math.inf)
    assert inf.p_wait == erlang_c(10, 8.0) and inf.p_abandon == 0.0
    assert inf.service_level(20) == pytest.approx(mmc_service_level(10, lam, s, 20))
    with pytest.raises(ValueError, match="unstable"):
        erlang_a(10, 12 / 180, s, math.inf)


def test_erlang_a_huge_c_never_waits() -> None:
    ea = erlang_a(2000, 10 / 180, 180.0, 60.0)
    assert ea.p_wait < 1e-300 or ea.p_wait == 0.0
    assert ea.p_abandon < 1e-300
    assert ea.service_level(20) == pytest.approx(1.0)
    assert ea.occupancy == pytest.approx(10 / 2000)


def test_erlang_a_no_overflow_c300_a250() -> None:
    ea = erlang_a(300, 250 / 180, 180.0, 120.0)
    for v in (ea.p_wait, ea.p_abandon, ea.mean_wait_s, ea.mean_wait_served_s, ea.occupancy):
        assert math.isfinite(v) and v >= 0.0
    assert 0.0 < ea.p_wait < erlang_c(300, 250.0)
    assert 0.0 <= ea.service_level(20) <= 1.0
    # Heavily overloaded: abandonment ~ 1 - c/A (fluid limit of Garnett et al.).
    over = erlang_a(300, 600 / 180, 180.0, 120.0)
    assert math.isfinite(over.mean_wait_s)
    assert over.p_wait == pytest.approx(1.0, abs=1e-6)
    assert over.p_abandon == pytest.approx(0.5, abs=0.01)


def test_erlang_a_bad_args() -> None:
    with pytest.raises(ValueError):
        erlang_a(10, 1.0, 10.0, 0.0)
    with pytest.raises(ValueError):
        erlang_a(10, 1.0, -1.0, 60.0)
    with pytest.raises(ValueError):
        erlang_a(0, 1.0, 10.0, 60.0)
    with pytest.raises(ValueError):
        erlang_a(10, 1.0, 10.0, 60.0).service_level(-1.0)
    zero = erlang_a(3, 0.0, 10.0, 60.0)
    assert zero.p_wait == 0.0 and zero.service_level(5) == 1.0


# --------------------------------------------------------------------------- staffing


def _linear_erlang_c(lam: float, s: float, t: float, sl: float) -> int:
    c = math.floor(lam * s) + 1
    while mmc_service_level(c, lam, s, t) < sl:
        c += 1
    return c


def test_agents_needed_known_example() -> None:
    lam = 100 / 1800  # 100 calls per 30 min
    assert agents_needed(lam, 180.0, 20.0, 0.8) == 14
    assert _linear_erlang_c(lam, 180.0, 20.0, 0.8) == 14
    assert mmc_service_level(13, lam, 180.0, 20.0) < 0.8 <= mmc_service_level(14, lam, 180.0, 20.0)


@pytest.mark.parametrize(
    ("lam", "s", "t", "sl"),
    [
        (0.5, 240.0, 20.0, 0.8),
        (5.0, 300.0, 30.0, 0.9),
        (0.01, 60.0, 10.0, 0.95),
        (2.0, 1.0, 0.5, 0.5),
    ],
)
def test_agents_needed_matches_linear_scan(lam: float, s: float, t: float, sl: float) -> None:
    assert agents_needed(lam, s, t, sl) == _linear_erlang_c(lam, s, t, sl)


def test_agents_needed_occupancy_cap() -> None:
    lam, s = 2.0, 240.0  # A = 480
    free = agents_needed(lam, s, 20.0, 0.8)
    capped = agents_needed(lam, s, 20.0, 0.8, max_occupancy=0.85)
    assert capped >= free and 480 / capped <= 0.85 and 480 / (capped - 1) > 0.85


def test_agents_needed_erlang_a() -> None:
    lam, s, patience = 100 / 1800, 180.0, 120.0
    n = agents_needed(lam, s, 20.0, 0.8, mean_patience_s=patience)
    scan = next(
        c for c in range(1, 100) if erlang_a(c, lam, s, patience).service_level(20.0) >= 0.8
    )
    assert n == scan
    # Abandonment shortens queues, so Erlang A never needs more agents than Erlang C.
    assert n <= agents_needed(lam, s, 20.0, 0.8)


def test_agents_needed_erlang_a_abandon_cap() -> None:
    lam, s, patience = 4900 / 180, 180.0, 60.0
    loose = agents_needed(lam, s, 20.0, 0.8, mean_patience_s=patience)
    # SL counted over all arrivals can be met below A by shedding load through abandonment.
    assert loose < 4900
    assert erlang_a(loose, lam, s, patience).p_abandon > 0.1
    capped = agents_needed(lam, s, 20.0, 0.8, mean_patience_s=patience, max_abandon=0.02)
    assert erlang_a(capped, lam, s, patience).p_abandon <= 0.02
    assert erlang_a(capped - 1, lam, s, patience).p_abandon > 0.02
    with pytest.raises(ValueError, match="max_abandon"):
        agents_needed(lam, s, 20.0, 0.8, max_abandon=0.02)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"service_level": 1.0},
        {"service_level": 0.0},
        {"max_occupancy": 1.5},
        {"mean_patience_s": -3.0},
        {"target_s": -1.0},
    ],
)
def test_agents_needed_bad_args(kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {"target_s": 20.0, "service_level": 0.8, **kwargs}
    with pytest.raises(ValueError):
        agents_needed(0.1, 180.0, **args)


# --------------------------------------------------------------------------- CLI


def test_cli_erlang_c(capsys: pytest.CaptureFixture[str]) -> None:
    rc = staff_main(["--rate", "200", "--per", "hour", "--aht", "180", "--target-s", "20"])
    out = capsys.readouterr()
    assert rc == 0
    assert "agents needed: 14" in out.out
    assert "Erlang C" in out.out and "P(wait)" in out.out
    assert out.err == ""


def test_cli_erlang_a_with_staff_token(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["staff", "--rate", "0.0556", "--aht", "180", "--target-s", "20", "--sl", "0.8"]
    rc = staff_main([*argv, "--patience-s", "120"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "abandon" in out and "Erlang A" in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--rate", "x", "--aht", "180", "--target-s", "20"],
        ["--rate", "1", "--aht", "180"],
        ["--rate", "-1", "--aht", "180", "--target-s", "20"],
        ["--rate", "1", "--aht", "180", "--target-s", "20", "--sl", "1.5"],
        ["--rate", "1", "--aht", "nan", "--target-s", "20"],
        ["--rate", "1", "--aht", "180", "--target-s", "20", "--patience-s", "0"],
        ["--rate", "1", "--aht", "180", "--target-s", "20", "--bogus"],
    ],
)
def test_cli_bad_args(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert staff_main(argv) == 2
    out = capsys.readouterr()
    assert "error" in out.err
    assert "Traceback" not in out.err


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert staff_main(["--help"]) == 0
    assert "--target-s" in capsys.readouterr().out
