"""Warnings: settings a valid config accepts but that cannot take effect.

Theory of operation: :func:`config_warnings` runs on a config that passed every
check (``router/config/checks.py``) and returns one ``path: message`` line per
setting that does nothing as written, or that another setting overrides: a
guardrail suspended in a surge that can never start, a policy's table beside a
chain that does not name the policy, offer settings under immediate mode. Each
rule reads only the config, the same way the router reads it (the module or line
that makes the setting inert is named beside each rule), so a warning never
depends on traffic. A warning never refuses a config: ``router check`` prints
them and exits 0 (``--strict``: 1), ``router simulate``, the reload watcher and
the operator page show them beside the accepted config.
"""

from __future__ import annotations

from router.config.checks import policy_names
from router.config.problems import key_path
from router.config.schema import (
    POLICY_NAMES,
    CallbackPolicy,
    CodelPolicy,
    DeflectPolicy,
    OverflowPolicy,
    RouterConfig,
    Routing,
    TokenBucketPolicy,
    Wellbeing,
)

__all__ = ["config_warnings"]

_ROUTING = Routing()
_WELLBEING = Wellbeing()


def config_warnings(cfg: RouterConfig) -> list[str]:
    """Settings of a valid ``cfg`` that cannot take effect; one ``path: message`` line each."""
    out: list[str] = []
    _surge_warnings(cfg, out)
    _wellbeing_warnings(cfg.wellbeing, out)
    _team_share_warnings(cfg, out)
    _policy_table_warnings(cfg, out)
    _callback_bound_warnings(cfg, out)
    _queue_bound_warnings(cfg, out)
    _own_bound_warnings(cfg, out)
    _offer_warnings(cfg, out)
    _queue_warnings(cfg, out)
    return out


def _guardrail_off(wb: Wellbeing, guardrail: str) -> str | None:
    """Why suspending ``guardrail`` in a surge changes nothing, or None (router/wellbeing.py)."""
    if guardrail == "continuous_work" and wb.max_continuous_work_s is None:
        return "max_continuous_work_s is not set (no break rule to suspend)"
    if guardrail == "heavy" and wb.max_consecutive_heavy is None:
        return "max_consecutive_heavy is not set (no heavy-streak rule to suspend)"
    if guardrail == "cooldown" and wb.cooldown_after_heavy_s is None:
        return "cooldown_after_heavy_s is not set (no cooldown to suspend)"
    if guardrail == "shift" and wb.max_overtime_s == 0:
        return "max_overtime_s is 0 (a suspended shift end still stops new work at the shift's end)"
    return None


def _surge_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """``suspend_in_surge`` with no surge section, or naming a guardrail that is off."""
    wb = cfg.wellbeing
    if not wb.suspend_in_surge:
        return
    if cfg.backpressure.surge is None:
        out.append(
            "$.wellbeing.suspend_in_surge: the router is never in surge without a "
            "[backpressure.surge] section; add one or drop suspend_in_surge"
        )
        return
    for j, g in enumerate(wb.suspend_in_surge):
        why = _guardrail_off(wb, g)
        if why is not None:
            out.append(f"$.wellbeing.suspend_in_surge[{j}]: suspending {g!r} does nothing: {why}")


def _wellbeing_warnings(wb: Wellbeing, out: list[str]) -> None:
    """A guardrail's companion setting without the guardrail (router/wellbeing.py, the
    core's breaks and cooldowns read them only through it)."""
    if wb.max_overtime_s > 0 and "shift" not in wb.suspend_in_surge:
        out.append(
            f"$.wellbeing.max_overtime_s: {wb.max_overtime_s:g} does nothing unless "
            'suspend_in_surge names "shift" (overtime exists only then, in a surge)'
        )
    if wb.max_break_deferral_s is not None and wb.max_break_share is None:
        out.append(
            "$.wellbeing.max_break_deferral_s: does nothing without max_break_share "
            "(no break is deferred)"
        )
    # a window of 0 is off, as None is (the core's ``_early_s``; the drain rule below)
    if wb.break_window_s and (wb.max_break_share is None or wb.max_continuous_work_s is None):
        need = "max_break_share" if wb.max_break_share is None else "max_continuous_work_s"
        out.append(
            f"$.wellbeing.break_window_s: does nothing without {need} "
            "(no break falls due to be brought forward under a share)"
        )
    drain_needs = _drain_needs(wb)
    if wb.drain_for_break and drain_needs is not None:
        out.append(
            f"$.wellbeing.drain_for_break: does nothing without {drain_needs} "
            "(no break is brought forward to drain for)"
        )
    no_drains = not wb.drain_for_break or drain_needs is not None
    if wb.max_drain_share is not None and no_drains:
        out.append(
            "$.wellbeing.max_drain_share: does nothing without drain_for_break "
            "(and its break_window_s, max_break_share, max_continuous_work_s): no agent drains"
        )
    if wb.max_drain_share_by_team and no_drains:
        out.append(
            "$.wellbeing.max_drain_share_by_team: does nothing without drain_for_break "
            "(and its break_window_s, max_break_share, max_continuous_work_s): no agent drains"
        )
    elif wb.max_drain_share_by_team and wb.max_drain_share is None:
        out.append(
            "$.wellbeing.max_drain_share_by_team: does nothing without max_drain_share "
            "(a drain holds a break place)"
        )
    if wb.cooldown_after_heavy_s is None:
        for key in ("cooldown_s", "cooldown_from"):
            if getattr(wb, key) != getattr(_WELLBEING, key):
                out.append(
                    f"$.wellbeing.{key}: does nothing without cooldown_after_heavy_s "
                    "(no cooldown starts)"
                )


def _drain_needs(wb: Wellbeing) -> str | None:
    """What a drain needs besides the switch: the first missing of the three, if any."""
    if not wb.break_window_s:
        return "break_window_s"
    if wb.max_break_share is None:
        return "max_break_share"
    if wb.max_continuous_work_s is None:
        return "max_continuous_work_s"
    return None


def _team_share_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """``max_break_share_by_team`` without break staffing (``BreakStaffing`` counts no team
    without ``max_break_share``; ``max_drain_share_by_team``'s own cases are with the other
    wellbeing rules), or either naming a team no agent group is: with agent groups listed
    (a scenario's ``[[agents]]``: each group's ``name`` is its agents' team) a name
    matching none is a typo's likely sign (at login a caller may name any team, so only
    then)."""
    wb = cfg.wellbeing
    shares = wb.max_break_share_by_team
    if shares and wb.max_break_share is None:
        out.append(
            "$.wellbeing.max_break_share_by_team: does nothing without max_break_share "
            "(no break waits for a place)"
        )
        shares = {}
    drains = wb.max_drain_share_by_team
    if not wb.drain_for_break or _drain_needs(wb) is not None or wb.max_drain_share is None:
        drains = {}  # does nothing: warned as such above, not once more per name
    if not cfg.agents:
        return
    groups = {a.name for a in cfg.agents if a.name is not None}
    for key, named in (
        ("max_break_share_by_team", shares),
        ("max_drain_share_by_team", drains),
    ):
        for team in named:
            if team not in groups:
                known = ", ".join(sorted(groups)) or "none named"
                out.append(
                    f"{key_path('$.wellbeing.' + key, team)}: no agent group "
                    f"named {team!r} (a group's name is its agents' team; groups: {known})"
                )


def _policy_table_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """A policy's table set while ``backpressure.policy`` does not name the policy: only the
    policy reads it (router/policies/admission.py builds one object per name in the chain)."""
    bp = cfg.backpressure
    chain = policy_names(bp)
    tables = [
        ("deflect", bp.deflect != DeflectPolicy()),
        ("overflow", bp.overflow != OverflowPolicy()),
        ("codel", bp.codel != CodelPolicy()),
        ("token_bucket", bp.token_bucket != TokenBucketPolicy()),
    ]
    # the callback table also serves surge's callbacks and queues closed with "callback"
    surge_callbacks = bp.surge is not None and bp.surge.callbacks
    closed_callbacks = any(q.closed == "callback" and q.hours for q in cfg.queues)
    if not (surge_callbacks or closed_callbacks):
        tables.append(("callback", bp.callback != CallbackPolicy()))
    for name, given in tables:
        if given and name not in chain:
            out.append(
                f"$.backpressure.{name}: set, but {name!r} is not in $.backpressure.policy "
                f"({', '.join(chain) or 'empty'}); its settings do nothing"
            )


_BOUNDED = ("reject_when_full", "shed_lowest_priority", "block")


def _queue_bound_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """``$.backpressure.max_queue`` is read only by the bounded policies
    (router/policies/admission.py ``_Bounds``; a queue's ``max_queue`` is read by
    ``overflow`` and outbound too): without one in a chain of built-in policies it does
    nothing (a policy of the embedder's own may read it: then no warning)."""
    bp = cfg.backpressure
    if bp.max_queue is None:
        return
    chain = policy_names(bp)
    if any(name in _BOUNDED or name not in POLICY_NAMES for name in chain):
        return
    out.append(
        "$.backpressure.max_queue: does nothing: only reject_when_full, shed_lowest_priority "
        "or block in $.backpressure.policy checks it (the chain: "
        f"{', '.join(chain) or 'none: every arrival admitted'})"
    )


def _own_bound_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """A queue's own ``max_queue`` is read by the bounded policies (``_Bounds.per_queue``),
    by ``overflow`` as the room left in a queue one of its rules moves to
    (``Overflow.on_timer``) and by outbound in its own queues (``Outbound.hold``): with
    none of them it does nothing (``Router.has_room`` still reads it)."""
    bp = cfg.backpressure
    chain = policy_names(bp)
    if any(name in _BOUNDED or name not in POLICY_NAMES for name in chain):
        return
    into = {rule.to for rule in bp.overflow.queues.values()} if "overflow" in chain else set()
    outbound = set(bp.outbound.queues)
    for i, q in enumerate(cfg.queues):
        if q.max_queue is None or q.name in into or q.name in outbound:
            continue
        out.append(
            f"$.queues[{i}].max_queue: does nothing: only reject_when_full, "
            "shed_lowest_priority or block in $.backpressure.policy checks it (the chain: "
            f"{', '.join(chain) or 'none: every arrival admitted'}), overflow in a queue its "
            "rules move to, outbound in its own queues"
        )


def _callback_bound_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """``max_callbacks`` is checked only by a bounded policy after the callback offer in the
    chain (router/policies/admission.py ``_Bounds.router_full``; surge's callbacks go first):
    without one it does nothing, and with one a bound of 0 rejects every callback."""
    bp = cfg.backpressure
    if bp.max_callbacks is None:
        return
    chain = policy_names(bp)
    if "callback" in chain:
        after = chain[chain.index("callback") + 1 :]
        how = "the callback policy's callers are rejected"
    elif bp.surge is not None and bp.surge.callbacks:
        after = chain  # surge puts its callback offer first
        how = "the callbacks surge offers are rejected"
    else:
        after, how = [], ""
    bounded = [name for name in after if name in _BOUNDED]
    if not bounded:
        out.append(
            "$.backpressure.max_callbacks: does nothing: only reject_when_full, "
            "shed_lowest_priority or block after a callback offer in $.backpressure.policy "
            "checks it"
        )
    elif bp.max_callbacks == 0:
        out.append(
            f"$.backpressure.max_callbacks: 0 callbacks may hold a place, so {how} "
            f"({bounded[0]} refuses them)"
        )


def _offer_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """Offer settings under ``mode = "immediate"``: it assigns without an offer, so no offer
    expires and no agent misses one (router/core.py reads them only when it offers)."""
    r = cfg.routing
    if r.mode != "immediate":
        return
    if r.offer_timeout_s != _ROUTING.offer_timeout_s:
        out.append(
            f"$.routing.offer_timeout_s: {r.offer_timeout_s:g} does nothing with "
            'mode = "immediate" (work is assigned without an offer)'
        )
    if r.max_no_answer != _ROUTING.max_no_answer:
        out.append(
            f'$.routing.max_no_answer: {r.max_no_answer} does nothing with mode = "immediate" '
            "(no offer goes unanswered)"
        )
    if r.max_declines is not None:
        out.append(
            f'$.routing.max_declines: {r.max_declines} does nothing with mode = "immediate" '
            "(no offer to decline)"
        )


def _queue_warnings(cfg: RouterConfig, out: list[str]) -> None:
    """A queue's weights under a distribution that does not score, and its ``closed``
    without hours (router/policies/hours.py reads it only with ``hours``)."""
    for i, q in enumerate(cfg.queues):
        p = f"$.queues[{i}]"
        if q.weights is not None and q.distribution != "scored":
            out.append(
                f'{p}.weights: do nothing with distribution = "{q.distribution}" '
                '(only "scored" weighs features)'
            )
        if q.hours is None and q.closed != "reject":  # (at_close without hours: an error)
            out.append(f"{p}.closed: does nothing without hours (the queue never closes)")
