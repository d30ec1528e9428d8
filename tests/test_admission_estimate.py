"""The expected wait told to each arrival: the estimator's maths, and its error at 20x load."""

from __future__ import annotations

import math

import pytest

from router.model import Admission
from router.state.estimate import WaitEstimator, digamma, wait_for_position
from tests.test_backpressure import Flood, make_router


def direct(n: int, rate: float, theta: float) -> float:
    return sum(1.0 / (rate + i * theta) for i in range(n))


@pytest.mark.parametrize("n", [1, 7, 8, 50, 5000])
@pytest.mark.parametrize(("rate", "theta"), [(0.3, 0.0), (0.3, 1 / 120), (2.0, 0.05)])
def test_wait_for_position_matches_the_sum(n: int, rate: float, theta: float) -> None:
    assert wait_for_position(n, rate, theta) == pytest.approx(direct(n, rate, theta), rel=1e-9)


def test_digamma_at_known_points() -> None:
    euler = 0.5772156649015329
    assert digamma(1.0) == pytest.approx(-euler, abs=1e-12)
    assert digamma(0.5) == pytest.approx(-euler - 2 * math.log(2), abs=1e-12)


def test_rate_is_measured_only_while_backlogged() -> None:
    est = WaitEstimator(alpha=0.5)
    est.on_answer("q", 10.0, 10.0)  # answered on arrival: an idle agent, no backlog
    est.on_answer("q", 100.0, 95.0)  # waited 5 s: the queue was backlogged since 95
    assert est.gap["q"] == 5.0
    est.on_answer("q", 104.0, 90.0)  # backlogged through: 4 s since the last answer
    assert est.gap["q"] == 4.5
    assert est.expected_wait("q", 2) == pytest.approx(9.0)
    est.on_abandon("q", 30.0)  # one abandonment: theta = mean(abandon) / mean(waited)
    assert est.theta("q") > 0 and est.expected_wait("q", 2) < 9.0


def test_expected_wait_is_honest_at_20x_and_far_better_than_position_times_gap() -> None:
    """M/M/20+M at 20x load (patience 120 s): the measured service and abandonment rates
    predict the wait of those who stay; ``position / rate`` overstates it many times."""
    toml = '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n'
    r = make_router(toml, agents=20)
    naive: dict[str, float] = {}

    def on_submit(f: Flood, adm: Admission) -> None:
        gap = f.r._estimator.gap.get("q")
        if gap is not None and adm.expected_wait_s > 0:
            naive[adm.inquiry_id] = adm.position * gap

    f = Flood(
        r,
        [("q", 20 * 20 / 60, None)],
        handle_s=60,
        patience_s=120,
        duration_s=3600,
        seed=5,
        on_submit=on_submit,
    ).run()
    told = [(t, w) for t, w in f.pairs]
    mean_wait = sum(w for _, w in told) / len(told)
    mae = sum(abs(t - w) for t, w in told) / len(told)
    bias = sum(t - w for t, w in told) / len(told)
    naive_pairs = [(naive[i], w) for i, w in f.waits.items() if i in naive]
    naive_mae = sum(abs(t - w) for t, w in naive_pairs) / len(naive_pairs)
    assert len(told) > 1000 and mean_wait > 200
    assert mae < 0.2 * mean_wait
    assert abs(bias) < 0.1 * mean_wait
    assert naive_mae > 5 * mae
