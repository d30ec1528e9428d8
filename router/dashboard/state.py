"""What the operator page shows, as one JSON document, and the check an uploaded config passes.

Theory of operation: a page state is built from the core's ``statistics()``
(waiting, expected wait, agents logged in, decisions: the truth about *now*)
and a :class:`~router.observe.Monitor`'s statistics (windows, longest wait,
agents by state, surge and reconfigure notes). Both the scenario replay and the
live service build it the same way, on the thread that drives the router, and
the web server only ships the bytes (``router/dashboard/server.py``).

An uploaded config goes through the same validation as ``router check``: the
text is parsed (TOML, JSON or YAML by file name), a scenario is checked as a
scenario, and every problem comes back as one ``$.path: message`` line; only a
valid config reaches the core's ``reconfigure``, which may still refuse it
(a removed queue with nowhere to go) and then changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router.config import RouterConfig, convert_config, parse_text
from router.config.loading import SUFFIXES, unknown_suffix
from router.config.summary import is_scenario, summary_line
from router.observe import MonitorStatistics
from router.stats import RouterStatistics

__all__ = ["AGENTS_SHOWN", "check_upload", "page_state"]

#: Agents listed on the page (the busiest first); the counts by state cover everyone.
AGENTS_SHOWN = 14


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def page_state(
    stats: RouterStatistics,
    mon: MonitorStatistics,
    *,
    title: str,
    mode: str,
    clock: Callable[[float], str],
    sl_goal: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The page's JSON document (see ``router/dashboard/static/app.js`` for its use)."""
    queues = []
    for name, q in stats.queues.items():
        m = mon.queues.get(name)
        row: dict[str, Any] = {
            "name": name,
            "waiting": q.waiting,
            "expected_wait_s": _round(q.expected_wait_s, 1),
        }
        if m is not None:
            w = m.windows
            row.update(
                channel=m.channel,
                target_s=m.answer_target_s,
                longest_wait_s=round(m.longest_wait_s, 1),
                windows={
                    label: {
                        "service_level": _round(f.service_level),
                        "asa_s": _round(f.asa_s, 1),
                        "abandon_rate": _round(f.abandon_rate),
                        "offered": f.offered,
                        "answered": f.answered,
                        "abandoned": f.abandoned,
                        "rejected": f.rejected + f.deflected,
                    }
                    for label, f in w.items()
                },
                moved_in=m.moved_in,
                moved_out=m.moved_out,
            )
        queues.append(row)
    busiest = sorted(
        (a for a in mon.agents.values() if a.state != "logged_out"),
        key=lambda a: (-(a.occupancy or 0.0), a.id),
    )[:AGENTS_SHOWN]
    note = mon.last_reconfigure
    c = stats.counters
    state: dict[str, Any] = {
        "title": title,
        "mode": mode,
        "now": round(stats.now, 3),
        "clock": clock(stats.now),
        "version": stats.version,
        "surge": stats.surge,
        "surge_changed": clock(mon.surge_changed_at) if mon.surge_changed_at is not None else None,
        "last_reconfigure": None
        if note is None
        else {
            "clock": clock(note.at),
            "version": note.version,
            "handed_over": note.handed_over,
            "rejected": note.rejected,
        },
        "sl_goal": sl_goal,
        "totals": {
            "waiting": stats.waiting,
            "offered": stats.offered,
            "in_service": stats.in_service,
            "wrap_up": stats.wrap_up,
            "agents_logged_in": stats.agents_logged_in,
            "agents_with_room": stats.agents_with_room,
            "decisions": c.decisions,
            "submitted": c.submitted,
            "assigned": c.assigned,
            "abandoned": c.abandoned + c.withdrawn,
            "refused": c.rejected + c.deflected,
        },
        "agents_by_state": mon.agents_by_state,
        "offer_outcomes": mon.offer_outcomes,
        "queues": queues,
        "agents": [
            {
                "id": a.id,
                "state": a.state,
                "reason": a.reason,
                "load": a.load,
                "load_channel_unknown": a.load_channel_unknown,
                "occupancy": _round(a.occupancy, 3),
                "handled": a.handled,
            }
            for a in busiest
        ],
    }
    if extra:
        state.update(extra)
    return state


def check_upload(data: bytes, filename: str = "config.toml") -> tuple[RouterConfig, str]:
    """Validate uploaded config (or scenario) text as ``router check`` does.

    Returns the router config to apply and the check's summary line; raises
    :class:`ConfigError` with one line per problem. A scenario's simulator tables
    are checked too, and dropped: the router gets the config part.
    """
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ".toml"
    fmt = SUFFIXES.get(suffix)
    if fmt is None:  # the suffixes `router check` takes (router/config/loading.py)
        raise unknown_suffix(filename, suffix)
    raw = parse_text(data, fmt)
    if is_scenario(raw):
        from router.sim.scenario import Scenario, router_config

        scenario = convert_config(raw, Scenario, fmt=fmt)
        return router_config(scenario), summary_line(scenario, raw)
    cfg: RouterConfig = convert_config(raw, fmt=fmt)
    return cfg, summary_line(cfg, raw)
