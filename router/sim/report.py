"""The simulation report (docs/simulator.md) and its human-readable summary.

Theory of operation: :func:`build_report` turns a :class:`SimResult` into one
JSON-ready dict. Inquiry figures count the inquiries that *arrived* in
``[warmup_s, duration_s)``. The totals count each inquiry once by its final
outcome; a queue's row counts arrivals there (``offered``), moves in and out
(overflow), and every outcome in the queue the inquiry *ended* in, the one that
served it, so each row adds up and a second pass shows the work it did. Agent
figures (occupancy, fairness) integrate the engine's slot ledger over the same
window; break shares and the timeline cover the whole run, drain included.
Proactive outbound tasks (the queues listed in ``[backpressure.outbound].queues``)
are not customers: they appear under ``queues`` and ``outbound`` but not in the
totals, except ``unresolved``, which counts inquiries and tasks alike. Ratios with
an empty denominator are ``None`` (JSON ``null``), never NaN. Everything except
``wall_s`` and the per-second speed figures is a pure function of the scenario,
seed and load.
"""

from __future__ import annotations

import math
from typing import Any

from router.sim.engine import (
    ABANDONED,
    ANSWERED,
    DEFLECTED,
    EXPIRED,
    LONG_HEAVY_S,
    OPEN,
    REJECTED,
    InquiryRec,
    SimResult,
)

__all__ = ["SPEED_KEYS", "answer_target", "build_report", "format_summary", "staffed_in_window"]

#: Report keys that depend on the machine, not on the scenario and seed.
SPEED_KEYS = ("wall_s", "sim_events_per_s", "arrivals_per_s")

#: width of the arrival-time windows of ``ewt_by_window``
EWT_WINDOW_S = 1800.0


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


def answer_target(r: InquiryRec, targets: dict[str, float]) -> float:
    """The answer target an answered ``r`` is judged by: its queue's in force when it was
    answered (a mid-run reconfigure may have changed it: ``InquiryRec.target``), else the
    scenario's for the queue it ended in."""
    return r.target if r.target is not None else targets[r.final_queue]


def _outcomes(recs: list[InquiryRec], targets: dict[str, float]) -> dict[str, Any]:
    """Outcome counts and wait figures of ``recs``, each answer judged by the target in
    force for the queue that answered it (:func:`answer_target`); ``offered`` is ``len(recs)``
    (the caller overrides it per queue)."""
    n = len(recs)
    counts = dict.fromkeys((OPEN, ANSWERED, ABANDONED, REJECTED, DEFLECTED, EXPIRED), 0)
    waits: list[float] = []
    within = waited = callbacks = overflowed = 0
    for r in recs:
        counts[r.outcome] += 1
        if r.decided_at is None or r.decided_at > r.arrival:
            waited += 1
        if r.callback:
            callbacks += 1
        if r.path is not None:
            overflowed += 1
        if r.outcome == ANSWERED:
            w = r.answered_at - r.arrival
            waits.append(w)
            if w <= answer_target(r, targets):
                within += 1
    waits.sort()
    return {
        "offered": n,
        "answered": counts[ANSWERED],
        "abandoned": counts[ABANDONED],
        "rejected": counts[REJECTED],
        "deflected": counts[DEFLECTED],
        "expired": counts[EXPIRED],
        "unresolved": counts[OPEN],
        "callbacks": callbacks,
        "overflowed": overflowed,
        "p_wait": _ratio(waited, n),
        "asa_s": _mean(waits),
        "service_level": _ratio(within, n),
        "abandon_rate": _ratio(counts[ABANDONED], n),
        "wait_p50_s": _pct(waits, 50),
        "wait_p95_s": _pct(waits, 95),
        "wait_p99_s": _pct(waits, 99),
        "wait_max_s": waits[-1] if waits else None,
    }


def _queue_rows(
    recs: list[InquiryRec], names: list[str], targets: dict[str, float]
) -> dict[str, dict[str, Any]]:
    """Per queue: ``offered`` = arrived there; ``moved_in``/``moved_out`` = overflow moves;
    every outcome and ratio over the inquiries that *ended* there (the queue that served
    them), so ``offered + moved_in - moved_out == answered + abandoned + rejected +
    deflected + expired + unresolved`` row by row (``expired``: outbound tasks only)."""
    arrived = dict.fromkeys(names, 0)
    moved_in = dict.fromkeys(names, 0)
    moved_out = dict.fromkeys(names, 0)
    ended: dict[str, list[InquiryRec]] = {n: [] for n in names}
    by_group: dict[str, dict[str, int]] = {n: {} for n in names}
    for r in recs:
        arrived[r.queue] += 1
        if r.path is not None:
            here = r.queue
            for to in r.path:
                moved_out[here] += 1
                moved_in[to] += 1
                here = to
        q = r.final_queue
        ended[q].append(r)
        if r.outcome == ANSWERED:
            g = by_group[q]
            g[r.by] = g.get(r.by, 0) + 1
    rows: dict[str, dict[str, Any]] = {}
    for n in names:
        row = _outcomes(ended[n], targets)
        row["offered"] = arrived[n]
        row["moved_in"] = moved_in[n]
        row["moved_out"] = moved_out[n]
        row["overflowed"] = moved_out[n]
        row["answered_by_group"] = dict(sorted(by_group[n].items()))
        rows[n] = row
    return rows


def _ewt(recs: list[InquiryRec]) -> dict[str, Any]:
    """The expected wait told at arrival against the wait that followed (answered only):
    mean absolute error, mean signed error (positive = pessimistic), and the absolute
    error over the mean actual wait."""
    told = actual = abs_sum = signed = 0.0
    n = 0
    for r in recs:
        e = r.ewt
        if r.outcome == ANSWERED and e is not None and math.isfinite(e):
            w = r.answered_at - r.arrival
            n += 1
            told += e
            actual += w
            abs_sum += abs(e - w)
            signed += e - w
    return {
        "ewt_abs_error_s": abs_sum / n if n else None,
        "ewt_bias_s": signed / n if n else None,
        "ewt_rel_error": abs_sum / actual if actual > 0 else None,
        "ewt_answered": n,
        "ewt_told_mean_s": told / n if n else None,
        "ewt_wait_mean_s": actual / n if n else None,
    }


def _ewt_windows(
    recs: list[InquiryRec], lo: float, hi: float, width: float = EWT_WINDOW_S
) -> list[dict[str, Any]]:
    """:func:`_ewt` per ``width``-second window of arrival time (aligned to t = 0)."""
    if hi <= lo:
        return []
    first = math.floor(lo / width)
    last = math.ceil(hi / width)
    buckets: list[list[InquiryRec]] = [[] for _ in range(first, last)]
    for r in recs:
        buckets[min(int(r.arrival // width) - first, len(buckets) - 1)].append(r)
    out = []
    for i, rs in enumerate(buckets):
        start = max(lo, (first + i) * width)
        end = min(hi, (first + i + 1) * width)
        out.append({"start_s": start, "end_s": end, **_ewt(rs)})
    return out


def _after_long_heavy(gaps: list[tuple[float, bool]]) -> dict[str, Any]:
    xs = sorted(g for g, _ in gaps)
    return {
        "threshold_s": LONG_HEAVY_S,
        "count": len(xs),
        "gap_p10_s": _pct(xs, 10),
        "gap_p50_s": _pct(xs, 50),
        "next_heavy": sum(1 for _, heavy in gaps if heavy),
    }


def _features(
    res: SimResult, window: list[InquiryRec], names: list[str]
) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    """Issue 16's figures over the inquiries of the window (docs/simulator.md): closed
    outcomes and answers while closed (hours), hand-backs and the answers after them,
    declined offers, interruptions; and the presence counts and the agents set away for
    their declines (and back) of the whole run. Per queue: closed outcomes by
    the queue of arrival, answers while closed by the queue that answered."""
    counted = set(map(id, window))
    closed = {id(r): r for r in res.closed_outcomes if id(r) in counted}
    while_closed = {id(r): r for r in res.closed_answered if id(r) in counted}
    handed = [(r, c) for r, c in res.handbacks.items() if id(r) in counted]
    declined = [n for r, n in res.declines.items() if id(r) in counted]
    interrupted = {id(r) for r in res.interrupted if id(r) in counted}
    per_queue = {
        n: {
            "closed": sum(1 for r in closed.values() if r.queue == n),
            "answered_while_closed": sum(1 for r in while_closed.values() if r.final_queue == n),
        }
        for n in names
    }
    totals = {
        "closed": len(closed),
        "answered_while_closed": len(while_closed),
        "handed_back": sum(c[0] for _, c in handed),
        "handed_back_inquiries": len(handed),
        "answered_after_handback": sum(c[1] for _, c in handed),
        "declined": sum(declined),
        "declined_inquiries": len(declined),
        "away_for_declines": res.away["max_declines"][0],
        "ready_after_declines": res.away["max_declines"][1],
        "away_for_no_answers": res.away["max_no_answer"][0],
        "ready_after_no_answers": res.away["max_no_answer"][1],
        "away_for_presence": res.away["presence_timeout"][0],
        "ready_after_presence": res.away["presence_timeout"][1],
        "interruptions": len(interrupted),
        "presence": dict(res.presence),
    }
    return totals, per_queue


def _preferred(recs: list[InquiryRec]) -> dict[str, Any]:
    """Returning customers (``[[arrivals]] returning_share``): how many, and the share the
    agent they prefer served; answered ones only count as served."""
    returning = [r for r in recs if r.preferred is not None]
    by_them = sum(1 for r in returning if r.outcome == ANSWERED and r.agent_id == r.preferred)
    answered = sum(1 for r in returning if r.outcome == ANSWERED)
    return {
        "returning": len(returning),
        "answered": answered,
        "served_by_preferred": by_them,
        "share_served_by_preferred": _ratio(by_them, len(returning)),
    }


def _streams(recs: list[InquiryRec], names: list[str]) -> dict[str, dict[str, Any]]:
    """Per ``[[arrivals]]`` stream (its ``name``, else ``stream<i>``): arrivals, answered,
    mean wait of the answered, and which agent groups answered them."""
    rows: dict[str, dict[str, Any]] = {}
    waits: dict[str, list[float]] = {}
    for name in names:
        rows[name] = {"offered": 0, "answered": 0, "asa_s": None, "answered_by_group": {}}
        waits[name] = []
    for r in recs:
        row = rows[names[r.stream]]
        row["offered"] += 1
        if r.outcome == ANSWERED:
            row["answered"] += 1
            by = row["answered_by_group"]
            by[r.by] = by.get(r.by, 0) + 1
            waits[names[r.stream]].append(r.answered_at - r.arrival)
    for name, row in rows.items():
        row["asa_s"] = _mean(waits[name])
        row["answered_by_group"] = dict(sorted(row["answered_by_group"].items()))
    return rows


def _break_lateness(late: list[tuple[str, float]]) -> dict[str, Any]:
    """How long after it fell due each wellbeing break started (the whole run): a break
    waiting for a place (``max_break_share``) or for the work in flight keeps the agent
    working past ``max_continuous_work_s``; a break never taken counts to when the agent
    left or the run ended. The most overall and per group, and the 90th percentile."""
    by: dict[str, float] = {}
    for group, s in late:
        if s > by.get(group, -1.0):
            by[group] = s
    xs = sorted(s for _, s in late)
    return {
        "break_late_max_s": xs[-1] if xs else None,
        "break_late_p90_s": _pct(xs, 90),
        "break_late_max_s_by_group": dict(sorted(by.items())),
    }


def _handled(res: SimResult) -> dict[str, dict[str, int]]:
    """Per agent group: the fewest and most inquiries one agent answered (the whole run)."""
    out: dict[str, list[int]] = {}
    for a in res.agents:
        if a.login_at is not None:
            out.setdefault(a.group, []).append(a.handled)
    return {g: {"min": min(xs), "max": max(xs), "total": sum(xs)} for g, xs in out.items()}


def staffed_in_window(agent: Any, lo: float, hi: float) -> float:
    """Seconds of ``[lo, hi)`` the agent was staffed (logged in and on shift: its ``spans``),
    the denominator of its occupancy here and in the charts. An agent on the roster logs in
    ahead of its shift; the wait before the shift is not staffed time."""
    staffed = 0.0
    for start, end in agent.spans:
        assert start is not None
        staffed += max(0.0, min(end if end is not None else math.inf, hi) - max(start, lo))
    return staffed


def _jain(xs: list[float]) -> float | None:
    if not xs:
        return None
    sq = sum(x * x for x in xs)
    if sq == 0:
        return 1.0
    return sum(xs) ** 2 / (len(xs) * sq)


def build_report(res: SimResult, *, timeline: bool = True) -> dict[str, Any]:
    """The report dict (every key documented in docs/simulator.md)."""
    sc = res.scenario
    lo, hi = res.warmup_s, res.duration_s
    queues = res.queue_configs()  # the scenario's, then any a reconfigure added
    targets = {q.name: q.answer_target_s for q in queues}
    outbound = set(sc.backpressure.outbound.queues)
    window = [r for r in res.inquiries if lo <= r.arrival < hi]
    counted = [r for r in window if r.queue not in outbound]
    tasks = [r for r in window if r.queue in outbound]
    rep: dict[str, Any] = {}
    rep.update(_outcomes(counted, targets))
    # inquiries and outbound tasks without an outcome (spec: both)
    rep["unresolved"] += sum(1 for r in tasks if r.outcome == OPEN)
    rep.update(_ewt(counted))
    rep["ewt_by_window"] = _ewt_windows(counted, lo, hi)

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
        staffed = staffed_in_window(a, lo, hi)
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
    rep["on_break_max_fraction"] = res.on_break_max
    rep["on_break_max_fraction_by_group"] = {
        name: res.on_break_max_by_group.get(name, 0.0)
        for name in dict.fromkeys(a.group for a in res.agents)
    }
    rep.update(_break_lateness(res.break_late))
    rep["breaks_missed"] = res.breaks_missed
    rep["after_long_heavy"] = _after_long_heavy(res.gaps_after_long_heavy)
    rep["handled_by_group"] = _handled(res)
    rep["preferred"] = _preferred(counted)
    stream_names = [a.name or f"stream{i}" for i, a in enumerate(sc.arrivals)]
    rep["streams"] = _streams(window, stream_names)
    counters = res.counters
    rep["offers_per_decision"] = _ratio(counters.get("offers", 0), counters.get("decisions", 0))
    rep["lost_races"] = res.lost_races

    names = [q.name for q in queues]
    rep["queues"] = _queue_rows(window, names, targets)
    by_arrival: dict[str, list[InquiryRec]] = {n: [] for n in names}
    for r in window:
        by_arrival[r.queue].append(r)
    for qname in names:  # the expected wait is told by the queue the inquiry arrived at
        rep["queues"][qname].update(_ewt(by_arrival[qname]))
        rep["queues"][qname]["preferred"] = _preferred(by_arrival[qname])
    if outbound:
        rep["outbound"] = _outcomes(tasks, targets)
        rep["outbound_queues"] = sorted(outbound)
    features, per_queue = _features(res, window, names)
    rep.update(features)
    for qname, row in per_queue.items():
        rep["queues"][qname].update(row)
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
    rep["start"] = sc.simulation.start
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


def _feature_lines(rep: dict[str, Any]) -> list[str]:
    """One line per routing feature that did something in the run (docs/routing-features.md)."""
    out = []
    if rep.get("closed"):
        out.append(
            f"hours: {rep['closed']:,} inquiries got their queue's closed outcome, "
            f"{rep['answered_while_closed']:,} answered while their queue was closed"
        )
    if rep.get("handed_back"):
        out.append(
            f"hand-backs: {rep['handed_back']:,} ({rep['handed_back_inquiries']:,} inquiries), "
            f"{rep['answered_after_handback']:,} answered again"
        )
    if rep.get("declined") or rep.get("away_for_declines"):
        out.append(
            f"declines: {rep['declined']:,} offers ({rep['declined_inquiries']:,} inquiries), "
            f"{rep['away_for_declines']:,} agents set away for their declines, "
            f"{rep['ready_after_declines']:,} ready again"
        )
    if rep.get("away_for_no_answers"):
        out.append(
            f"no answers: {rep['away_for_no_answers']:,} agents set away for offers rung out, "
            f"{rep['ready_after_no_answers']:,} ready again"
        )
    if rep.get("interruptions"):
        out.append(f"interruptions: {rep['interruptions']:,} past the agents' capacity units")
    presence = rep.get("presence") or {}
    if presence.get("timeouts") or presence.get("offers_after_drop"):
        out.append(
            f"presence: {presence['timeouts']:,} agents set away for a silent console, "
            f"{presence['offers_after_drop']:,} offers after a console dropped, "
            f"{presence['expired_after_drop']:,} of them rang out"
            + (
                f", {rep['ready_after_presence']:,} agents ready again with their console"
                if rep.get("ready_after_presence")
                else ""
            )
        )
    return out


def format_summary(rep: dict[str, Any], title: str = "") -> str:
    """A readable table: one row per queue and a total row, then agents and speed.

    Rows count arrivals under ``offered`` and every outcome in the queue the inquiry
    ended in (``moved in``/``moved out``: overflow); outbound task queues are marked,
    left out of the total (its ``expired`` is ``-``: only tasks expire) and summed on a
    line of their own.
    """
    cols = [
        ("offered", ""),
        ("moved_in", ""),
        ("moved_out", ""),
        ("answered", ""),
        ("abandoned", ""),
        ("rejected", ""),
        ("deflected", ""),
        ("expired", ""),
        ("unresolved", ""),
        ("callbacks", ""),
        ("p_wait", "pct"),
        ("asa_s", "s"),
        ("wait_p95_s", "s"),
        ("service_level", "pct"),
    ]
    heads = [
        "queue",
        "offered",
        "moved in",
        "moved out",
        "answered",
        "abandon",
        "reject",
        "deflect",
        "expired",
        "unresolved",
        "callback",
        "P(wait)",
        "ASA",
        "p95 wait",
        "SL",
    ]
    outbound = set(rep.get("outbound_queues", ()))
    rows = [heads]
    for name, q in rep["queues"].items():
        label = f"{name} (outbound)" if name in outbound else name
        rows.append([label] + [_fmt(q.get(k, 0), kind) for k, kind in cols])
    total = dict(rep)
    # the totals count inquiries, not outbound tasks, and only tasks expire: "-", not 0
    total["moved_in"] = total["moved_out"] = total["expired"] = "-"
    total["unresolved"] = rep["unresolved"] - rep.get("outbound", {}).get("unresolved", 0)
    rows.append(["TOTAL"] + [_fmt(total[k], kind) for k, kind in cols])
    widths = [max(len(r[i]) for r in rows) for i in range(len(heads))]

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
    tasks = rep.get("outbound")
    if tasks:
        out.append(
            f"outbound tasks (not in the total): {tasks['offered']:,} offered, "
            f"{tasks['answered']:,} answered, {tasks['expired']:,} expired past their deadline, "
            f"{tasks['unresolved']:,} unresolved"
        )
    conc = ", ".join(f"{ch} {n}" for ch, n in rep["max_concurrency"].items()) or "-"
    out.append("")
    out.append(
        f"agents: occupancy {_fmt(rep['occupancy'], 'pct')}"
        f" (min {_fmt(rep['occupancy_min'], 'pct')}, max {_fmt(rep['occupancy_max'], 'pct')}),"
        f" Jain fairness {_fmt(rep['jain_occupancy'])}, max concurrency {conc},"
        f" cap violations {rep['cap_violations']}"
    )
    groups = rep["on_break_max_fraction_by_group"]
    worst = max(groups.items(), key=lambda kv: kv[1]) if groups else None
    team = f" (team {worst[0]} {_fmt(worst[1], 'pct')})" if worst and worst[1] > 0 else ""
    late = rep.get("break_late_max_s")
    missed = rep.get("breaks_missed", 0)
    lateness = (
        f", breaks up to {_fmt(late, 's')} past due"
        + (f" ({missed:,} never taken)" if missed else "")
        if late is not None
        else ""
    )
    out.append(
        f"wellbeing: {rep['wellbeing_breaks']:,} enforced breaks, at most "
        f"{_fmt(rep['on_break_max_fraction'], 'pct')} of agents on a break at once{team}"
        f"{lateness}, longest heavy run {rep['max_heavy_run']}"
    )
    rel = rep["ewt_rel_error"]
    out.append(
        f"expected wait told at arrival: mean error {_fmt(rep['ewt_abs_error_s'], 's')}"
        f" (bias {_fmt(rep['ewt_bias_s'], 's')}"
        + (f", {100 * rel:.0f}% of the mean actual wait)" if rel is not None else ")")
    )
    out.extend(_feature_lines(rep))
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
