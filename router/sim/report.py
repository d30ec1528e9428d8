"""The simulation report (scenario.md §3) and its human-readable summary.

Theory of operation: :func:`build_report` turns a :class:`SimResult` into one
JSON-ready dict. Inquiry figures count the inquiries that *arrived* in
``[warmup_s, duration_s)``, each by the queue it arrived at and by its final
outcome; agent figures (occupancy, fairness) integrate the engine's slot ledger
over the same window. Proactive outbound tasks (the queues listed in
``[backpressure.outbound].queues``) are not customers: they appear under
``queues`` and ``outbound`` but not in the totals. Ratios with an empty
denominator are ``None`` (JSON ``null``), never NaN. Everything except
``wall_s`` and the per-second speed figures is a pure function of the scenario,
seed and load.
"""

from __future__ import annotations

import math
from typing import Any

from router.sim.engine import ABANDONED, ANSWERED, DEFLECTED, OPEN, REJECTED, InquiryRec, SimResult

__all__ = ["SPEED_KEYS", "build_report", "format_summary"]

#: Report keys that depend on the machine, not on the scenario and seed.
SPEED_KEYS = ("wall_s", "sim_events_per_s", "arrivals_per_s")


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _pct(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0..100) of an already sorted list."""
    if not sorted_values:
        return None
    k = max(0, math.ceil(q / 100.0 * len(sorted_values)) - 1)
    return sorted_values[k]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _outcomes(recs: list[InquiryRec], targets: dict[str, float]) -> dict[str, Any]:
    offered = len(recs)
    counts = dict.fromkeys((OPEN, ANSWERED, ABANDONED, REJECTED, DEFLECTED), 0)
    waits: list[float] = []
    within = waited = callbacks = overflowed = 0
    for r in recs:
        counts[r.outcome] += 1
        if r.decided_at is None or r.decided_at > r.arrival:
            waited += 1
        if r.callback:
            callbacks += 1
        if r.overflowed_to is not None:
            overflowed += 1
        if r.outcome == ANSWERED:
            w = r.answered_at - r.arrival
            waits.append(w)
            if w <= targets[r.queue]:
                within += 1
    waits.sort()
    return {
        "offered": offered,
        "answered": counts[ANSWERED],
        "abandoned": counts[ABANDONED],
        "rejected": counts[REJECTED],
        "deflected": counts[DEFLECTED],
        "unresolved": counts[OPEN],
        "callbacks": callbacks,
        "overflowed": overflowed,
        "p_wait": _ratio(waited, offered),
        "asa_s": _mean(waits),
        "service_level": _ratio(within, offered),
        "abandon_rate": _ratio(counts[ABANDONED], offered),
        "wait_p50_s": _pct(waits, 50),
        "wait_p95_s": _pct(waits, 95),
        "wait_p99_s": _pct(waits, 99),
        "wait_max_s": waits[-1] if waits else None,
    }


def _jain(xs: list[float]) -> float | None:
    if not xs:
        return None
    sq = sum(x * x for x in xs)
    if sq == 0:
        return 1.0
    return sum(xs) ** 2 / (len(xs) * sq)


def build_report(res: SimResult, *, timeline: bool = True) -> dict[str, Any]:
    """The report dict (every scenario.md §3 key, plus extras documented in docs/simulator.md)."""
    sc = res.scenario
    lo, hi = res.warmup_s, res.duration_s
    targets = {q.name: q.answer_target_s for q in sc.queues}
    outbound = set(sc.backpressure.outbound.queues)
    window = [r for r in res.inquiries if lo <= r.arrival < hi]
    counted = [r for r in window if r.queue not in outbound]
    rep: dict[str, Any] = {}
    rep.update(_outcomes(counted, targets))

    # expected wait told at arrival vs the wait that followed (answered inquiries)
    errs = [
        (r.ewt, r.answered_at - r.arrival)
        for r in counted
        if r.outcome == ANSWERED and r.ewt is not None and math.isfinite(r.ewt)
    ]
    rep["ewt_abs_error_s"] = _mean([abs(e - w) for e, w in errs])
    rep["ewt_bias_s"] = _mean([e - w for e, w in errs])

    # agents, over the window
    per_agent: list[float] = []
    busy_total = staffed_total = 0.0
    groups: dict[str, list[float]] = {}
    max_conc: dict[str, int] = {}
    max_heavy = 0
    for a in res.agents:
        for ch, n in a.maxload.items():
            if a.caps.get(ch, 0) > 0 or n > 0:
                max_conc[ch] = max(max_conc.get(ch, 0), n)
        max_heavy = max(max_heavy, a.max_heavy_run)
        if a.login_at is None:
            continue
        start = max(a.login_at, lo)
        end = min(a.logout_at if a.logout_at is not None else math.inf, hi)
        staffed = end - start
        if staffed <= 0:
            continue
        g = groups.setdefault(a.group, [0.0, 0.0])
        g[0] += a.busy
        g[1] += staffed
        busy_total += a.busy
        staffed_total += staffed
        per_agent.append(a.busy / staffed)
    rep["occupancy"] = _ratio(busy_total, staffed_total)
    rep["jain_occupancy"] = _jain(per_agent)
    rep["occupancy_by_group"] = {name: b / s for name, (b, s) in groups.items()}
    rep["occupancy_min"] = min(per_agent) if per_agent else None
    rep["occupancy_max"] = max(per_agent) if per_agent else None
    rep["max_concurrency"] = dict(sorted(max_conc.items()))
    rep["cap_violations"] = res.cap_violations
    rep["max_heavy_run"] = max_heavy
    rep["wellbeing_breaks"] = res.wellbeing_breaks

    by_queue: dict[str, list[InquiryRec]] = {q.name: [] for q in sc.queues}
    for r in window:
        by_queue[r.queue].append(r)
    rep["queues"] = {name: _outcomes(rs, targets) for name, rs in by_queue.items()}
    if outbound:
        rep["outbound"] = _outcomes([r for r in window if r.queue in outbound], targets)
    windows = [(start, min(end, res.end_time)) for start, end in res.surge_windows]
    rep["surge_mode_windows"] = [[start, end] for start, end in windows]
    rep["surge_mode_s"] = sum(max(0.0, min(hi, end) - max(lo, start)) for start, end in windows)

    rep["decisions"] = res.counters.get("decisions", 0)
    rep["wall_s"] = res.wall_s
    rep["sim_events_per_s"] = res.sim_events / res.wall_s if res.wall_s > 0 else None
    rep["arrivals_per_s"] = len(res.inquiries) / res.wall_s if res.wall_s > 0 else None
    rep["arrivals_total"] = len(res.inquiries)
    rep["sim_events"] = res.sim_events
    rep["seed"] = res.seed
    rep["load"] = res.load
    rep["duration_s"] = res.duration_s
    rep["warmup_s"] = res.warmup_s
    rep["end_time_s"] = res.end_time
    rep["core_counters"] = dict(res.counters)
    rep["other_events"] = dict(sorted(res.events_by_type.items()))
    rep["anomalies"] = dict(sorted(res.anomalies.items()))
    if timeline:
        rep["timeline"] = res.timeline
    return rep


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "-"
    if kind == "pct":
        return f"{100 * v:.1f}%"
    if kind == "s":
        return f"{v:.1f}s" if v < 100 else f"{v:.0f}s"
    if isinstance(v, float):
        return f"{v:.3f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def format_summary(rep: dict[str, Any], title: str = "") -> str:
    """A readable table: one row per queue and a total row, then agents and speed."""
    cols = [
        ("queue", "", 0),
        ("offered", "", 1),
        ("answered", "", 1),
        ("abandoned", "", 1),
        ("rejected", "", 1),
        ("deflected", "", 1),
        ("callbacks", "", 1),
        ("p_wait", "pct", 1),
        ("asa_s", "s", 1),
        ("wait_p95_s", "s", 1),
        ("service_level", "pct", 1),
    ]
    heads = "queue offered answered abandon reject deflect callback P(wait) ASA p95_wait SL"
    heads_l = [h.replace("_", " ") for h in heads.split()]
    rows = [heads_l]
    for name, q in rep["queues"].items():
        rows.append([name] + [_fmt(q[k], kind) for k, kind, _ in cols[1:]])
    rows.append(["TOTAL"] + [_fmt(rep[k], kind) for k, kind, _ in cols[1:]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(heads_l))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)
        )

    out = []
    if title:
        out.append(title)
    out.append(line(rows[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in rows[1:-1])
    out.append("  ".join("-" * w for w in widths))
    out.append(line(rows[-1]))
    conc = ", ".join(f"{ch} {n}" for ch, n in rep["max_concurrency"].items()) or "-"
    out.append("")
    out.append(
        f"agents: occupancy {_fmt(rep['occupancy'], 'pct')}"
        f" (min {_fmt(rep['occupancy_min'], 'pct')}, max {_fmt(rep['occupancy_max'], 'pct')}),"
        f" Jain fairness {_fmt(rep['jain_occupancy'])}, max concurrency {conc},"
        f" cap violations {rep['cap_violations']}"
    )
    out.append(
        f"wellbeing: {rep['wellbeing_breaks']} enforced breaks, longest heavy run "
        f"{rep['max_heavy_run']};  expected-wait error {_fmt(rep['ewt_abs_error_s'], 's')}"
        f" (bias {_fmt(rep['ewt_bias_s'], 's')})"
    )
    unresolved = rep["unresolved"]
    extra = f", {unresolved:,} unresolved at the end" if unresolved else ""
    out.append(
        f"run: {rep['arrivals_total']:,} arrivals ({rep['offered']:,} counted in "
        f"[{rep['warmup_s']:g}s, {rep['duration_s']:g}s)){extra}, {rep['decisions']:,} "
        f"routing decisions, virtual end {rep['end_time_s']:,.0f}s"
    )
    speed = rep["sim_events_per_s"]
    out.append(
        f"speed: {rep['wall_s']:.2f}s wall, "
        f"{_fmt(round(speed) if speed else None)} events/s, "
        f"{_fmt(round(rep['arrivals_per_s']) if rep['arrivals_per_s'] else None)} arrivals/s"
    )
    if rep["anomalies"]:
        out.append(f"anomalies: {rep['anomalies']}")
    return "\n".join(out)
