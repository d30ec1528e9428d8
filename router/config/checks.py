"""Semantic checks: what the schema cannot express, one ``path: message`` line each.

Theory of operation: once a config satisfies the schema, :func:`semantic_problems`
looks for NaN/inf (TOML allows them), duplicate names, unknown channels and
queues, caps above a channel's hard maximum, skills, levels or tenants no agent
profile has; :func:`backpressure_problems` checks ``[backpressure]`` against the
rest. The core re-runs them on every reconfigure, so an invalid config never
changes a running router. One check runs only where a config enters as a document
(``convert_config``: files, the reload watcher, the operator page, ``router check``,
``reconfigure`` given a mapping): a profile's tenant that no queue belongs to
(``profile_tenants``). It is a typo's likely sign (those agents serve nothing), not
an inconsistency of the running router, and a snapshot or ``RouterConfig`` accepted
before the check existed must still restore.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
from msgspec import Struct

from router.config.clock import clock_problems
from router.config.problems import key_path, structure_problems
from router.config.registry import PolicyLoadError, is_known, known_policies
from router.config.schema import (
    DEFAULT_CHANNELS,
    AgentProfile,
    Backpressure,
    Channel,
    QueueConfig,
    RouterConfig,
)
from router.config.targeting import TargetError, compile_target
from router.stats import window_label

__all__ = [
    "MAX_WINDOW_SPAN",
    "backpressure_problems",
    "config_problems",
    "policy_names",
    "profile_tenant_problems",
    "semantic_problems",
    "shape_problems",
    "window_problems",
]

#: Most buckets one sliding window may span (memory: a small object per bucket and queue).
MAX_WINDOW_SPAN = 100_000


#: (attribute, key in the file) of each struct type's fields, computed once per type:
#: ``msgspec.structs.fields`` re-reads the annotations on every call.
_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _fields(tp: type[Struct]) -> tuple[tuple[str, str], ...]:
    found = _FIELDS.get(tp)
    if found is None:
        found = _FIELDS[tp] = tuple((f.name, f.encode_name) for f in msgspec.structs.fields(tp))
    return found


def _nonfinite_problems(obj: Any, link: Any, out: list[str]) -> None:
    """Every float in a decoded config that is NaN or infinite (TOML allows ``nan``/``inf``).

    ``link`` is ``"$"`` or ``(parent link, key or list index)``: a path is only
    spelled out for a problem, so a large valid config costs one visit per value.
    """
    if isinstance(obj, Struct):
        for name, key in _fields(type(obj)):
            _visit(getattr(obj, name), (link, key), out)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _visit(value, (link, key), out)
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            _visit(value, (link, i), out)


def _visit(value: Any, link: Any, out: list[str]) -> None:
    t = type(value)
    if t is float:
        if value - value != 0.0:  # nan or +-inf
            out.append(f"{_spell(link)}: must be a finite number, got {value}")
    elif not (t is str or t is int or t is bool or value is None):
        _nonfinite_problems(value, link, out)


def _spell(link: Any) -> str:
    if link == "$":
        return "$"
    parent, key = link
    if isinstance(key, int):
        return f"{_spell(parent)}[{key}]"
    return key_path(_spell(parent), key)


def config_problems(cfg: Any) -> list[str]:
    """Every problem of a config, however it was made: one ``path: message`` line each.

    A config decoded from a file went through the schema's constraints; one built
    in Python (``QueueConfig(priority=10**30)``) did not, so its plain-data form
    is checked against the schema first, then the semantic checks run.
    """
    return shape_problems(cfg) or semantic_problems(cfg)


def shape_problems(cfg: Any) -> list[str]:
    """The schema's problems of a config however it was made (none: every other check,
    and the core, may read its fields as typed).

    A table built in Python as a dict (``Routing(weights={"load": 2.0})``, as the file's
    inline table reads) passes the plain-data check but is not the struct the core
    reads: each is named (``$.routing.weights: must be a router.config.Weights, got
    dict``).
    """
    if not isinstance(cfg, RouterConfig):
        return [f"$: expected a RouterConfig, got {type(cfg).__name__}"]
    raw = msgspec.to_builtins(cfg)
    try:
        made = msgspec.convert(raw, type(cfg))
    except msgspec.ValidationError:
        return structure_problems(raw, type(cfg))
    out: list[str] = []
    _kind_problems(cfg, made, "$", out)
    return out


def _kind_problems(given: Any, made: Any, link: Any, out: list[str]) -> None:
    """Where ``made`` (the schema's reading of ``given``'s plain data) holds a struct,
    ``given`` must hold one of that type; descends through structs, lists and dicts."""
    if isinstance(made, Struct):
        if type(given) is not type(made):
            out.append(
                f"{_spell(link)}: must be a router.config.{type(made).__name__}, "
                f"got {type(given).__name__}"
            )
            return
        for name, key in _fields(type(made)):
            _kind_problems(getattr(given, name), getattr(made, name), (link, key), out)
    elif isinstance(made, list) and isinstance(given, list | tuple) and len(given) == len(made):
        for i, (g, m) in enumerate(zip(given, made, strict=True)):
            _kind_problems(g, m, (link, i), out)
    elif isinstance(made, dict) and isinstance(given, dict):
        for key, m in made.items():
            if key in given:
                _kind_problems(given[key], m, (link, key), out)


def semantic_problems(cfg: RouterConfig, *, profile_tenants: bool = False) -> list[str]:
    """Checks beyond the schema, ``[backpressure]`` included; one ``path: message`` line
    per problem. ``profile_tenants``: also a profile's (or a shift's) tenant that no
    queue belongs to (documents only: the module's note)."""
    out: list[str] = []
    _nonfinite_problems(cfg, "$", out)
    channels = {**DEFAULT_CHANNELS, **cfg.channels}
    names: dict[str, int] = {}
    for i, q in enumerate(cfg.queues):
        p = f"$.queues[{i}]"
        if q.name in names:
            out.append(
                f"{p}.name: duplicate queue name {q.name!r} (also $.queues[{names[q.name]}])"
            )
        names.setdefault(q.name, i)
        if q.channel not in channels:
            out.append(
                f"{p}.channel: unknown channel {q.channel!r}; known: {', '.join(sorted(channels))}"
            )
        if q.match is not None:
            try:
                compile_target(q.match)
            except TargetError as exc:
                out.append(f"{p}.match: {exc}")
        if q.max_offers > 1 and cfg.routing.mode == "immediate":
            out.append(
                f'{p}.max_offers: {q.max_offers} offers at once need routing.mode = "offer" '
                "(immediate mode assigns without an offer)"
            )
        last = 0.0
        for j, st in enumerate(q.steps):
            if st.after_s <= last:
                out.append(
                    f"{p}.steps[{j}].after_s: steps must have increasing after_s "
                    f"({st.after_s:g} is not after {last:g})"
                )
            last = max(last, st.after_s)
    for i, q in enumerate(cfg.queues):
        if q.on_remove is None:
            continue
        if q.on_remove == q.name:
            out.append(f"$.queues[{i}].on_remove: a queue cannot hand over to itself")
        elif q.on_remove not in names:
            out.append(f"$.queues[{i}].on_remove: unknown queue {q.on_remove!r}")
    wb = cfg.wellbeing
    if (
        wb.break_window_s is not None
        and wb.max_continuous_work_s is not None
        and wb.break_window_s >= wb.max_continuous_work_s
    ):
        out.append(
            f"$.wellbeing.break_window_s: {wb.break_window_s:g} must be below "
            f"max_continuous_work_s ({wb.max_continuous_work_s:g}): a break may start at most "
            "that long before it falls due, after some work"
        )
    seen_surge: set[str] = set()
    for j, g in enumerate(cfg.wellbeing.suspend_in_surge):
        if g in seen_surge:
            out.append(f"$.wellbeing.suspend_in_surge[{j}]: {g!r} is listed twice")
        seen_surge.add(g)
    profiles: dict[str, int] = {}
    tenants = {q.tenant for q in cfg.queues if q.tenant is not None}
    for i, a in enumerate(cfg.agents):
        p = f"$.agents[{i}]"
        if profile_tenants:
            _profile_tenant_problems(p, a, tenants, out)
        if a.name is not None:
            if a.name in profiles:
                out.append(
                    f"{p}.name: duplicate agent profile name {a.name!r} "
                    f"(also $.agents[{profiles[a.name]}])"
                )
            profiles.setdefault(a.name, i)
        for ch, cap in a.capacity.items():
            _cap_problem(out, key_path(p + ".capacity", ch), ch, cap, channels)
        for qn in a.queues:
            if qn not in names:
                out.append(f"{key_path(p + '.queues', qn)}: unknown queue {qn!r}")
        if a.shift_end_s is not None and a.shift_end_s <= a.shift_start_s:
            out.append(f"{p}.shift_end_s: must be after shift_start_s")
        if a.shifts:
            out.extend(_shift_problems(p, a, names))
    for name, channel in channels.items():
        for other, most in channel.interrupts.items():
            at = key_path(key_path("$.channels", name) + ".interrupts", other)
            if other == name:
                out.append(f"{at}: a channel cannot interrupt itself")
            else:
                _cap_problem(out, at, other, most, channels)
    out.extend(clock_problems(cfg))
    if cfg.agents:
        out.extend(_coverage_problems(cfg))
    stats = cfg.statistics
    if all(math.isfinite(w) for w in [*stats.windows, stats.bucket_s]):  # else reported above
        out.extend(f"$.statistics.{p}" for p in window_problems(stats.windows, stats.bucket_s))
    out.extend(cfg.extra_problems())
    out.extend(backpressure_problems(cfg))
    return out


def profile_tenant_problems(cfg: RouterConfig) -> list[str]:
    """Only the documents' own check: each profile's (and shift's) tenant that no queue
    belongs to, one ``path: message`` line each (the durable log's edge runs it alone:
    ``router/durable/wire.py``)."""
    out: list[str] = []
    tenants = {q.tenant for q in cfg.queues if q.tenant is not None}
    for i, a in enumerate(cfg.agents):
        _profile_tenant_problems(f"$.agents[{i}]", a, tenants, out)
    return out


def _profile_tenant_problems(p: str, a: AgentProfile, tenants: set[str], out: list[str]) -> None:
    """A profile's tenants and its shifts' that no queue belongs to."""
    for j, t in enumerate(a.tenants):
        if t not in tenants:
            out.append(f"{p}.tenants[{j}]: {_unknown_tenant(t, tenants)}")
    for j, sh in enumerate(a.shifts):
        for t in sorted(sh.tenants or ()):
            if t not in tenants:
                out.append(f"{p}.shifts[{j}].tenants: {_unknown_tenant(t, tenants)}")


def _unknown_tenant(tenant: str, known: set[str]) -> str:
    """The line for a profile's tenant that no queue belongs to (a typo serves nothing)."""
    if not known:
        return f"unknown tenant {tenant!r}; no queue belongs to a tenant"
    return f"unknown tenant {tenant!r}; the queues' tenants: {', '.join(sorted(known))}"


def _shift_problems(p: str, a: AgentProfile, queues: dict[str, int]) -> list[str]:
    """A profile's schedule: in time order, not overlapping, only the last shift open."""
    out: list[str] = []
    if a.shift_start_s:
        out.append(f"{p}.shift_start_s: not with shifts (each shift has its own start_s)")
    if a.shift_end_s is not None:
        out.append(f"{p}.shift_end_s: not with shifts (the last shift's end_s ends the day)")
    prev_end: float | None = 0.0
    for j, sh in enumerate(a.shifts):
        sp = f"{p}.shifts[{j}]"
        if sh.start_s < 0:
            out.append(f"{sp}.start_s: must be >= 0, got {sh.start_s:g}")
        if sh.end_s is not None and not sh.end_s > sh.start_s:
            out.append(f"{sp}.end_s: must be after start_s ({sh.end_s:g} <= {sh.start_s:g})")
        if prev_end is None:
            out.append(f"{p}.shifts[{j - 1}].end_s: only the last shift may be open-ended")
        elif j and sh.start_s < prev_end:
            out.append(
                f"{sp}.start_s: {sh.start_s:g} is before the end of shifts[{j - 1}] "
                f"({prev_end:g}); shifts must be in time order and not overlap"
            )
        prev_end = sh.end_s
        for qn in sh.queues or {}:
            if qn not in queues:
                out.append(f"{key_path(sp + '.queues', qn)}: unknown queue {qn!r}")
    return out


def _on_duty(agents: list[AgentProfile]) -> list[AgentProfile]:
    """Profiles as they serve: one per shift of a schedule (its tenants and queues)."""
    out: list[AgentProfile] = []
    for a in agents:
        if not a.shifts:
            out.append(a)
            continue
        for sh in a.shifts:
            out.append(
                msgspec.structs.replace(
                    a,
                    tenants=sorted(sh.tenants) if sh.tenants is not None else a.tenants,
                    queues=sh.queues if sh.queues is not None else a.queues,
                    shifts=[],
                )
            )
    return out


def _cap_problem(
    out: list[str],
    at: str,
    channel: str,
    count: int,
    channels: dict[str, Channel],
    *,
    known: bool = True,
) -> None:
    """A per-channel count (a cap, a surge cap, an interrupt threshold) names a channel and
    stays within its hard maximum."""
    if channel not in channels:
        names = f"; known: {', '.join(sorted(channels))}" if known else ""
        out.append(f"{at}: unknown channel {channel!r}{names}")
    elif count > channels[channel].max_concurrency:
        out.append(
            f"{at}: {count} is above the channel's hard maximum {channels[channel].max_concurrency}"
        )


def window_problems(windows: tuple[float, ...] | list[float], bucket_s: float) -> list[str]:
    """What is wrong with sliding ``windows`` (seconds) over buckets of ``bucket_s``:
    ``field: message`` lines (``[statistics]`` in a config, ``Monitor`` arguments)."""
    if not (type(bucket_s) in (int, float) and math.isfinite(bucket_s) and bucket_s > 0):
        return [f"bucket_s: must be a positive number, got {bucket_s!r}"]
    out = []
    seen: set[str] = set()
    for i, w in enumerate(windows):
        if not (type(w) in (int, float) and math.isfinite(w) and w >= bucket_s):
            shown = f"{w:g}" if type(w) in (int, float) else repr(w)
            out.append(f"windows[{i}]: {shown} must be a number >= bucket_s ({bucket_s:g})")
            continue
        if w / bucket_s > MAX_WINDOW_SPAN:
            out.append(
                f"windows[{i}]: {w:g} s spans more than {MAX_WINDOW_SPAN:,} buckets "
                f"of {bucket_s:g} s (raise bucket_s)"
            )
        label = window_label(w)
        if label in seen:
            out.append(f"windows[{i}]: {w:g} repeats the window {label!r}")
        seen.add(label)
    return out


def _coverage_problems(cfg: RouterConfig) -> list[str]:
    """Queues that no configured agent profile could serve, and why (one line per queue).

    Queues alike in everything the answer depends on (tenant, channel, the
    profiles whose ``queues`` name them, requirements at every step) share one
    answer, so a config of many similar queues is checked in linear time.
    """
    out: list[str] = []
    staffed = _on_duty([a for a in cfg.agents if a.count > 0])
    listed: dict[str, list[int]] = {}  # queue name -> profiles whose ``queues`` name it
    for j, a in enumerate(staffed):
        for qn in a.queues:
            listed.setdefault(qn, []).append(j)
    memo: dict[Any, str | None] = {}
    for i, q in enumerate(cfg.queues):
        members = tuple(listed.get(q.name, ()))
        key = (
            q.tenant,
            q.channel,
            members,
            tuple(q.requires.items()),
            tuple(tuple(s.requires.items()) for s in q.steps),
            q.match,
        )
        if key in memo:
            line = memo[key]
        else:
            line = memo[key] = _queue_coverage(q, staffed, set(members))
        if line is not None:
            out.append(f"$.queues[{i}]{line}")
    return out


def _queue_coverage(q: QueueConfig, staffed: list[AgentProfile], members: set[int]) -> str | None:
    """Why no profile could serve ``q``, as a path relative to the queue; None if one can."""
    if q.tenant is not None and not any(q.tenant in a.tenants for a in staffed):
        return f".tenant: no agent profile serves tenant {q.tenant!r}"
    fit = [
        (j, a)
        for j, a in enumerate(staffed)
        if (q.tenant is None or q.tenant in a.tenants) and a.capacity.get(q.channel, 0) > 0
    ]
    if not fit:
        return f".channel: no agent profile serving it has capacity on {q.channel!r}"
    profiles = [a for j, a in fit if not a.queues or j in members]
    if not profiles:
        return ".name: every agent profile that could serve it leaves it out of queues"
    if q.match is not None:
        try:
            target = compile_target(q.match)
        except TargetError:
            return None  # reported with its column by semantic_problems
        if not target.inquiry_names:  # decidable without inquiries: some profile must match
            profiles = [a for a in profiles if target.admits(a.attributes, ())]
            if not profiles:
                return ".match: no agent profile that could serve the queue matches it"
    sets = [("requires", q.requires)]
    sets += [(f"steps[{j}].requires", s.requires) for j, s in enumerate(q.steps)]
    for where, req in sets:
        line = _requirement_problem(f".{where}", req, profiles)
        if line is not None:
            if where == "requires" and q.steps:
                line += " (every inquiry waits for the first step)"
            return line
    return None


def _requirement_problem(path: str, req: dict[str, int], fit: list[AgentProfile]) -> str | None:
    for skill, lvl in req.items():
        best = max((a.skills.get(skill, 0) for a in fit), default=0)
        if best < lvl:
            have = f"the best is {best}" if best else "no agent profile has it"
            return f"{key_path(path, skill)}: needs level {lvl}; {have}"
    if not any(all(a.skills.get(s, 0) >= lvl for s, lvl in req.items()) for a in fit):
        want = ", ".join(f"{s} >= {lvl}" for s, lvl in req.items())
        return f"{path}: no single agent profile has all of {want}"
    return None


_BOUNDED = ("reject_when_full", "shed_lowest_priority", "block")


def policy_names(bp: Backpressure) -> list[str]:
    return [bp.policy] if isinstance(bp.policy, str) else list(bp.policy)


def backpressure_problems(cfg: RouterConfig) -> list[str]:
    """Checks of ``[backpressure]`` against the rest of the config; one line per problem."""
    out: list[str] = []
    bp = cfg.backpressure
    names = policy_names(bp)
    queues = {q.name: q for q in cfg.queues}
    where = "$.backpressure.policy"
    for i, name in enumerate(names):
        at = where + (f"[{i}]" if not isinstance(bp.policy, str) else "")
        try:
            known = is_known(name)
        except PolicyLoadError as exc:  # a plug-in's entry point that fails to import
            out.append(f"{at}: {exc}")
            continue
        if not known:
            out.append(f"{at}: unknown policy {name!r}; known: {', '.join(known_policies())}")
        elif name in names[:i]:
            out.append(f"{at}: policy {name!r} appears twice")
        elif (
            name in _BOUNDED
            and bp.max_queue is None
            and not any(q.max_queue is not None for q in cfg.queues)
        ):
            out.append(
                f"{at}: {name} needs a bound: set $.backpressure.max_queue or max_queue on a queue"
            )

    def check_queues(path: str, items: Any) -> None:
        for qn in items:
            if qn not in queues:
                out.append(
                    f"{path}.{qn}: unknown queue {qn!r}"
                    if isinstance(items, dict)
                    else f"{path}: unknown queue {qn!r}"
                )

    check_queues("$.backpressure.deflect.queues", bp.deflect.queues)
    check_queues("$.backpressure.deflect.exempt", bp.deflect.exempt)
    check_queues("$.backpressure.callback.queues", bp.callback.queues)
    check_queues("$.backpressure.callback.exempt", bp.callback.exempt)
    check_queues("$.backpressure.codel.queues", bp.codel.queues)
    check_queues("$.backpressure.outbound.queues", bp.outbound.queues)
    check_queues("$.backpressure.outbound.protect", bp.outbound.protect)
    for qn in bp.outbound.deadline_s:
        if qn in queues and qn not in bp.outbound.queues:
            out.append(
                f"$.backpressure.outbound.deadline_s.{qn}: {qn!r} is not an outbound queue "
                "(backpressure.outbound.queues)"
            )
    check_queues("$.backpressure.outbound.deadline_s", bp.outbound.deadline_s)
    if bp.token_bucket.per == "queue":
        check_queues("$.backpressure.token_bucket.limits", bp.token_bucket.limits)
    for src, rule in bp.overflow.queues.items():
        p = f"$.backpressure.overflow.queues.{src}"
        if src not in queues:
            out.append(f"{p}: unknown queue {src!r}")
            continue
        if rule.to not in queues:
            out.append(f"{p}.to: unknown queue {rule.to!r}")
            continue
        if rule.to == src:
            out.append(f"{p}.to: a queue cannot overflow to itself")
        elif queues[src].channel != queues[rule.to].channel:
            out.append(
                f"{p}.to: queue {rule.to!r} is on channel {queues[rule.to].channel!r}, "
                f"{src!r} on {queues[src].channel!r}"
            )
        elif queues[src].tenant != queues[rule.to].tenant and queues[rule.to].tenant is not None:
            out.append(
                f"{p}.to: queue {rule.to!r} belongs to tenant {queues[rule.to].tenant!r}, "
                f"{src!r} to {queues[src].tenant!r}"
            )
        if rule.after_s is None and rule.max_queue is None:
            out.append(f"{p}: set after_s, max_queue or both")
        # cycles of timed moves would bounce an inquiry forever
        seen, q = {src}, rule.to
        while q in bp.overflow.queues:
            if q in seen:
                out.append(f"{p}.to: overflow rules form a cycle through {q!r}")
                break
            seen.add(q)
            q = bp.overflow.queues[q].to
    s = bp.surge
    if s is not None:
        p = "$.backpressure.surge"
        if s.enter_wait_s is None and s.enter_waiting is None:
            out.append(f"{p}: set enter_wait_s, enter_waiting or both")
        if (
            s.enter_wait_s is not None
            and s.exit_wait_s is not None
            and s.exit_wait_s > s.enter_wait_s
        ):
            out.append(
                f"{p}.exit_wait_s: {s.exit_wait_s:g} is above enter_wait_s {s.enter_wait_s:g}"
            )
        if (
            s.enter_waiting is not None
            and s.exit_waiting is not None
            and s.exit_waiting > s.enter_waiting
        ):
            out.append(
                f"{p}.exit_waiting: {s.exit_waiting} is above enter_waiting {s.enter_waiting}"
            )
        check_queues(f"{p}.queues", s.queues)
        channels = {**DEFAULT_CHANNELS, **cfg.channels}
        for ch, cap in s.caps.items():
            _cap_problem(out, f"{p}.caps.{ch}", ch, cap, channels, known=False)
    return out
