# Theory of operation
# -------------------
# Closed-form staffing analytics for a single skill queue. Everything here is stdlib-only.
#
# * Erlang C (M/M/c). P(wait) is computed from the Erlang B recursion
#       B(0) = 1,  B(k) = A*B(k-1) / (k + A*B(k-1)),   C = c*B / (c - A*(1 - B)),
#   which needs no factorials or powers, so it neither overflows nor loses precision for c
#   in the thousands (B may underflow to 0.0, which is then the correct answer to double
#   precision). Mean wait, P(wait <= t) and occupancy follow from the textbook formulas.
#
# * Erlang A (M/M/c+M). The number in system is a birth-death chain with birth rate lambda
#   and death rate n*mu (n <= c) or c*mu + (n-c)*theta (n > c). Relative to the state n = c
#   the stationary weights are
#       head:  sum_{n<=c} pi_n / pi_c = 1/B(c, A)            (Erlang B again)
#       tail:  pi_{c+k} / pi_c = w_k = prod_{i=1..k} lambda / (c*mu + i*theta)
#   The tail series is summed term by term in log space (so c = 300, A = 250, or a heavily
#   overloaded queue with a huge series, cannot overflow) and truncated once the terms are
#   decreasing and a geometric bound on the remainder is below 1e-18 of the running total.
#   PASTA gives P(wait) = sum_{n>=c} pi_n; Little gives E[wait] = E[queue]/lambda; the rate
#   balance of abandonments gives P(abandon) = theta*E[queue]/lambda.
#   For a tagged arrival that finds k callers queued ahead, the time to reach an agent if it
#   were infinitely patient is V_k = sum_{i=0..k} Exp(c*mu + i*theta) and it is served with
#   probability c*mu/(c*mu + (k+1)*theta); mean wait of served callers and the fraction
#   "answered within t" (an incomplete-gamma expression, evaluated through the same series)
#   follow exactly; see `ErlangA.service_level`.
#
# * Staffing. `agents_needed` searches for the smallest c meeting a service-level target
#   (and optionally occupancy / abandonment caps). Service level is monotone in c, so a galloping +
#   binary search is used; results equal a linear scan.
"""Erlang C / Erlang A queueing formulas and a staffing calculator.

Units: rates are per second, times are in seconds, offered load ``A = arrival_rate *
mean_service_s`` is in Erlangs.

Sources
-------
* D. Gross, J. F. Shortle, J. M. Thompson, C. M. Harris, *Fundamentals of Queueing
  Theory*, 4th ed., Wiley 2008, chapter 2 (M/M/c: Erlang C and the waiting-time
  distribution ``P(Wq > t) = C * exp(-(c*mu - lambda) t)``; M/M/c/c: Erlang B).
* C. Palm, "Intensitätsschwankungen im Fernsprechverkehr", Ericsson Technics 44, 1943
  (the M/M/c+M model with exponential patience, "Erlang A").
* O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient
  customers", Manufacturing & Service Operations Management 4(3), 2002, pp. 208-227.
* A. Mandelbaum, S. Zeltyn, "The M/M/n+G queue: summary of performance measures",
  Technion technical note, 2004/2009 (exponential-patience special case, expressed with
  the incomplete gamma function ``gamma(c*mu/theta, lambda/theta)``, which is exactly the
  tail series summed here).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "ErlangA",
    "agents_needed",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "mmc_mean_wait",
    "mmc_occupancy",
    "mmc_service_level",
]

# Remainder tolerance for the Erlang A tail series, in log space (exp(-41.4) ~ 1e-18).
_LOG_TAIL_EPS: Final = math.log(1e-18)
# Hard cap on tail-series length; only reached for absurd patience/overload combinations.
_MAX_TAIL_TERMS: Final = 2_000_000
# Upper bound for the staffing search.
_MAX_AGENTS: Final = 10_000_000


# --------------------------------------------------------------------------- validation


def _check_servers(servers: int) -> None:
    if isinstance(servers, bool) or not isinstance(servers, int):
        raise ValueError(f"servers must be an int, got {servers!r}")
    if servers < 1:
        raise ValueError(f"servers must be >= 1, got {servers}")


def _check_nonneg(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _check_pos(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _unstable(servers: int, offered: float, what: str) -> ValueError:
    return ValueError(
        f"{what} is undefined: offered load A = {offered:.6g} Erlangs >= servers c = {servers}"
        " (M/M/c queue is unstable; add agents or model abandonment with erlang_a)"
    )


# --------------------------------------------------------------------------- log helpers


def _logaddexp(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without overflow; either argument may be -inf."""
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))


def _log_expm1(x: float) -> float:
    """log(exp(x) - 1) for x > 0 without overflow."""
    if x > 30.0:
        return x + math.log1p(-math.exp(-x))
    return math.log(math.expm1(x))


def _log_inv_erlang_b(servers: int, offered: float) -> float:
    """log(1 / B(c, A)) via the recursion 1/B(k) = 1 + (k/A) / B(k-1), in log space."""
    log_a = math.log(offered)
    log_inv = 0.0
    for k in range(1, servers + 1):
        log_inv = _logaddexp(0.0, math.log(k) - log_a + log_inv)
    return log_inv


# --------------------------------------------------------------------------- Erlang B / C


def erlang_b(servers: int, offered_erlangs: float) -> float:
    """Erlang B blocking probability B(c, A) of the M/M/c/c loss system.

    Uses the standard recursion ``B(k) = A B(k-1) / (k + A B(k-1))`` (Gross & Harris,
    *Fundamentals of Queueing Theory*), which is numerically stable for any c.
    """
    _check_servers(servers)
    _check_nonneg("offered_erlangs", offered_erlangs)
    b = 1.0
    for k in range(1, servers + 1):
        ab = offered_erlangs * b
        b = ab / (k + ab)
    return b


def erlang_c(servers: int, offered_erlangs: float) -> float:
    """Erlang C probability that an arrival has to wait, P(W > 0), in an M/M/c queue.

    ``C(c, A) = c B / (c - A (1 - B))`` with B the Erlang B value (Gross & Harris,
    *Fundamentals of Queueing Theory*, M/M/c). Stable for c up to many thousands.
    For an unstable system (A >= c) every arrival eventually waits and 1.0 is returned.
    """
    _check_servers(servers)
    _check_nonneg("offered_erlangs", offered_erlangs)
    if offered_erlangs >= servers:
        return 1.0
    b = erlang_b(servers, offered_erlangs)
    return servers * b / (servers - offered_erlangs * (1.0 - b))


def _mmc_args(
    servers: int, arrival_rate: float, mean_service_s: float, what: str
) -> tuple[float, float]:
    _check_servers(servers)
    _check_nonneg("arrival_rate", arrival_rate)
    _check_pos("mean_service_s", mean_service_s)
    offered = arrival_rate * mean_service_s
    if offered >= servers:
        raise _unstable(servers, offered, what)
    return offered, erlang_c(servers, offered)


def mmc_mean_wait(servers: int, arrival_rate: float, mean_service_s: float) -> float:
    """Mean time in queue over *all* arrivals (ASA), ``Wq = C * s / (c - A)`` seconds.

    Raises ValueError if A >= c (no steady state).
    """
    offered, c_prob = _mmc_args(servers, arrival_rate, mean_service_s, "mean wait")
    return c_prob * mean_service_s / (servers - offered)


def mmc_service_level(
    servers: int, arrival_rate: float, mean_service_s: float, target_s: float
) -> float:
    """P(wait <= target_s) for an M/M/c queue: ``1 - C exp(-(c - A) t / s)``.

    Raises ValueError if A >= c (no steady state).
    """
    _check_nonneg("target_s", target_s)
    offered, c_prob = _mmc_args(servers, arrival_rate, mean_service_s, "service level")
    return 1.0 - c_prob * math.exp(-(servers - offered) * target_s / mean_service_s)


def mmc_occupancy(servers: int, arrival_rate: float, mean_service_s: float) -> float:
    """Agent occupancy (utilisation) ``rho = A / c`` of an M/M/c queue.

    Raises ValueError if A >= c (no steady state).
    """
    offered, _ = _mmc_args(servers, arrival_rate, mean_service_s, "occupancy")
    return offered / servers


# --------------------------------------------------------------------------- Erlang A


def _log_tail_series(lam: float, base: float, theta: float) -> float:
    """log sum_{k>=0} prod_{i=1..k} lam / (base + i*theta), for theta > 0.

    With ``x = lam/theta`` and ``y = base/theta`` this is ``y e^x x^-y gamma(y, x)``, the
    incomplete-gamma factor of Mandelbaum & Zeltyn's M/M/n+M formulas.
    """
    if lam <= 0.0:
        return 0.0
    log_lam = math.log(lam)
    log_w = 0.0
    log_total = 0.0
    k = 0
    while True:
        k += 1
        if k > _MAX_TAIL_TERMS:
            raise ValueError("Erlang A series did not converge (patience too long for load)")
        ratio = lam / (base + k * theta)
        if ratio < 1.0 and log_w - math.log1p(-ratio) < log_total + _LOG_TAIL_EPS:
            return log_total
        log_w += log_lam - math.log(base + k * theta)
        log_total = _logaddexp(log_total, log_w)


@dataclass(frozen=True)
class ErlangA:
    """Steady-state measures of the M/M/c+M (Erlang A) queue; see :func:`erlang_a`."""

    servers: int
    arrival_rate: float
    mean_service_s: float
    mean_patience_s: float
    offered_erlangs: float
    #: P(an arrival finds all agents busy) = P(wait > 0).
    p_wait: float
    #: P(an arrival abandons before being answered).
    p_abandon: float
    #: Mean time in queue over all arrivals (abandoners count their time until abandoning).
    mean_wait_s: float
    #: Mean time in queue of answered callers (ASA), including those answered immediately.
    mean_wait_served_s: float
    #: Mean number of callers waiting in queue.
    mean_queue_len: float
    #: Agent occupancy, carried load / c = A (1 - P(abandon)) / c.
    occupancy: float
    _log_pi_c: float = field(repr=False, compare=False)

    def service_level(self, target_s: float) -> float:
        """Fraction of *all* arrivals answered within ``target_s`` seconds.

        Abandoners count as failures. Exact for M/M/c+M: an arrival finding k callers ahead
        is answered within t iff V_k <= t and its patience exceeds V_k; tilting the
        hypoexponential V_k by exp(-theta V_k) and summing over k gives
        ``SL(t) = 1 - P(ab) - pi_c * y/(y+1) * exp(-(c mu + theta) t + x - z) * J(z, y+1)``
        with x = lambda/theta, y = c mu/theta, z = x exp(-theta t) and J the tail series, i.e.
        the incomplete-gamma form of Mandelbaum & Zeltyn. SL(0) = 1 - P(wait) and
        SL(inf) = 1 - P(abandon).
        """
        if not (isinstance(target_s, int | float) and target_s >= 0):
            raise ValueError(f"target_s must be a number >= 0, got {target_s!r}")
        if math.isinf(target_s):
            return 1.0 - self.p_abandon
        if self.p_wait == 0.0:
            return 1.0
        if math.isinf(self.mean_patience_s):
            return mmc_service_level(self.servers, self.arrival_rate, self.mean_service_s, target_s)
        theta = 1.0 / self.mean_patience_s
        cmu = self.servers / self.mean_service_s
        lam_z = self.arrival_rate * math.exp(-theta * target_s)
        x_minus_z = -(self.arrival_rate / theta) * math.expm1(-theta * target_s)
        log_late = (
            self._log_pi_c
            + math.log(cmu / (cmu + theta))
            - (cmu + theta) * target_s
            + x_minus_z
            + _log_tail_series(lam_z, cmu + theta, theta)
        )
        return min(1.0, max(0.0, 1.0 - self.p_abandon - math.exp(log_late)))


def erlang_a(
    servers: int, arrival_rate: float, mean_service_s: float, mean_patience_s: float
) -> ErlangA:
    """Exact steady state of the Erlang A (M/M/c+M) queue (Palm 1943).

    Callers abandon after an exponential patience with mean ``mean_patience_s``
    (``theta = 1/mean_patience_s``). Computed from the birth-death chain (death rate
    ``n mu`` for n <= c, ``c mu + (n-c) theta`` above) with the tail summed in log space, as
    in Garnett, Mandelbaum & Reiman (2002) and Mandelbaum & Zeltyn's M/M/n+G summary.
    ``mean_patience_s = math.inf`` gives the Erlang C limit (and then needs A < c).
    Stable for any A because abandonment bounds the queue.
    """
    _check_servers(servers)
    _check_nonneg("arrival_rate", arrival_rate)
    _check_pos("mean_service_s", mean_service_s)
    if not (
        isinstance(mean_patience_s, int | float)
        and not math.isnan(mean_patience_s)
        and mean_patience_s > 0
    ):
        raise ValueError(f"mean_patience_s must be > 0 (math.inf allowed), got {mean_patience_s!r}")
    c = servers
    offered = arrival_rate * mean_service_s

    def result(
        p_wait: float, p_ab: float, wait: float, wait_served: float, log_pi_c: float
    ) -> ErlangA:
        return ErlangA(
            servers=c,
            arrival_rate=arrival_rate,
            mean_service_s=mean_service_s,
            mean_patience_s=mean_patience_s,
            offered_erlangs=offered,
            p_wait=p_wait,
            p_abandon=p_ab,
            mean_wait_s=wait,
            mean_wait_served_s=wait_served,
            mean_queue_len=arrival_rate * wait,
            occupancy=offered * (1.0 - p_ab) / c,
            _log_pi_c=log_pi_c,
        )

    if offered == 0.0:
        return result(0.0, 0.0, 0.0, 0.0, -math.inf)
    if math.isinf(mean_patience_s):  # theta = 0: plain M/M/c
        if offered >= c:
            raise _unstable(c, offered, "Erlang A with infinite patience")
        wait = mmc_mean_wait(c, arrival_rate, mean_service_s)
        return result(erlang_c(c, offered), 0.0, wait, wait, math.nan)

    theta = 1.0 / mean_patience_s
    lam = arrival_rate
    cmu = c / mean_service_s
    log_lam = math.log(lam)

    # Tail sums relative to pi_c, all in log space, k = number of callers queued:
    #   J  = sum w_k                       (P(wait) / pi_c)
    #   K  = sum k w_k                     (E[queue] / pi_c)
    #   SW = sum w_k s_k H_k               (E[wait; answered] / pi_c)
    # with s_k = c mu / (c mu + (k+1) theta) = P(answered | k ahead) and
    # H_k = sum_{i=0..k} 1/(c mu + (i+1) theta) = E[V'_k] (tilted offered wait).
    log_w = 0.0
    log_j = 0.0
    log_k = -math.inf
    h = 1.0 / (cmu + theta)
    log_sw = math.log(cmu / (cmu + theta)) + math.log(h)
    k = 0
    while True:
        k += 1
        if k > _MAX_TAIL_TERMS:
            raise ValueError(
                "Erlang A series did not converge: patience is too long for this overload"
                f" ({_MAX_TAIL_TERMS} terms); use a shorter mean_patience_s or more servers"
            )
        rate_k = cmu + k * theta
        ratio = lam / rate_k
        # Terms of K (the heaviest-tailed sum) beyond k-1 are bounded by
        # w_{k-1} * k / (1 - ratio)^2 once the ratios fall below one.
        if ratio < 1.0 and (log_w + math.log(k) - 2.0 * math.log1p(-ratio) < log_j + _LOG_TAIL_EPS):
            break
        log_w += log_lam - math.log(rate_k)
        h += 1.0 / (rate_k + theta)
        log_j = _logaddexp(log_j, log_w)
        log_k = _logaddexp(log_k, log_w + math.log(k))
        log_sw = _logaddexp(log_sw, log_w + math.log(cmu / (rate_k + theta)) + math.log(h))

    # Normalisation: sum_n pi_n / pi_c = (1/B - 1) + J.
    log_norm = _logaddexp(_log_expm1(_log_inv_erlang_b(c, offered)), log_j)
    log_pi_c = -log_norm
    p_wait = math.exp(log_j - log_norm)
    queue = math.exp(log_k - log_norm)
    p_ab = min(1.0, theta * queue / lam)
    wait = queue / lam
    wait_served_total = math.exp(log_sw - log_norm)
    wait_served = wait_served_total / (1.0 - p_ab) if p_ab < 1.0 else math.inf
    return result(p_wait, p_ab, wait, wait_served, log_pi_c)


# --------------------------------------------------------------------------- staffing


def _smallest(pred: Callable[[int], bool], lo: int, hi: int = _MAX_AGENTS) -> int:
    """Smallest n in [lo, hi] with pred(n), assuming pred is monotone (False...False True...)."""
    if lo > hi:
        raise ValueError(f"needs more than {hi:,} agents, the most this calculator sizes")
    if pred(lo):
        return lo
    bad, step = lo, 1
    while True:
        good = min(bad + step, hi)
        if good == bad:
            raise ValueError(f"no staffing level up to {hi:,} agents meets the target")
        if pred(good):
            break
        bad, step = good, step * 2
    while good - bad > 1:
        mid = (bad + good) // 2
        if pred(mid):
            good = mid
        else:
            bad = mid
    return good


def agents_needed(
    arrival_rate: float,
    mean_service_s: float,
    target_s: float,
    service_level: float,
    max_occupancy: float | None = None,
    mean_patience_s: float | None = None,
    max_abandon: float | None = None,
    max_agents: int = _MAX_AGENTS,
) -> int:
    """Smallest number of agents c meeting ``service_level`` within ``target_s`` seconds.

    Without ``mean_patience_s`` the Erlang C model is used (service level = P(wait <= t),
    requires c > A). With ``mean_patience_s`` the Erlang A model is used and the service
    level is the fraction of *all* arrivals answered within ``target_s``
    (:meth:`ErlangA.service_level`; abandoners count as misses), which is the conservative
    call-center definition. If ``max_occupancy`` is given, occupancy must also be
    ``<= max_occupancy``. Example: 80/20 is ``target_s=20, service_level=0.8``.

    Caveat (Erlang A): at large scale a service-level target can be met with c < A, the
    overload being shed by abandonment (e.g. A = 4900, patience 60 s: 80/20 holds with about
    4040 agents and ~17% abandonment). Pass ``max_abandon`` (Erlang A only) to also cap
    P(abandon). The search stops at ``max_agents`` (ValueError past it): each step costs
    O(c), so an absurd load fails at once instead of running for hours.
    """
    _check_pos("arrival_rate", arrival_rate)
    _check_pos("mean_service_s", mean_service_s)
    _check_nonneg("target_s", target_s)
    if not (isinstance(service_level, int | float) and 0.0 < service_level < 1.0):
        raise ValueError(f"service_level must be strictly between 0 and 1, got {service_level!r}")
    if max_occupancy is not None and not (
        isinstance(max_occupancy, int | float) and 0.0 < max_occupancy <= 1.0
    ):
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    if mean_patience_s is not None:
        _check_pos("mean_patience_s", mean_patience_s)
    if max_abandon is not None:
        if mean_patience_s is None:
            raise ValueError("max_abandon needs mean_patience_s (Erlang C has no abandonment)")
        if not (isinstance(max_abandon, int | float) and 0.0 < max_abandon <= 1.0):
            raise ValueError(f"max_abandon must be in (0, 1], got {max_abandon!r}")
    offered = arrival_rate * mean_service_s
    occ_cap = 1.0 if max_occupancy is None else max_occupancy

    if mean_patience_s is None:

        def ok_c(c: int) -> bool:
            return (
                mmc_service_level(c, arrival_rate, mean_service_s, target_s) >= service_level
                and offered / c <= occ_cap
            )

        if offered >= max_agents:
            raise ValueError(
                f"offered load {offered:.4g} Erlangs needs more than {max_agents:,} agents, "
                "the most this calculator sizes"
            )
        return _smallest(ok_c, math.floor(offered) + 1, max_agents)

    patience = mean_patience_s
    ab_cap = 1.0 if max_abandon is None else max_abandon
    # answered within target <= answered <= c / A of arrivals, so c >= service_level * A
    if service_level * offered > max_agents:
        raise ValueError(
            f"offered load {offered:.4g} Erlangs needs more than {max_agents:,} agents for "
            f"{service_level:.0%} answered, the most this calculator sizes"
        )

    def ok_a(c: int) -> bool:
        ea = erlang_a(c, arrival_rate, mean_service_s, patience)
        return (
            ea.service_level(target_s) >= service_level
            and ea.occupancy <= occ_cap
            and ea.p_abandon <= ab_cap
        )

    return _smallest(ok_a, 1, max_agents)
