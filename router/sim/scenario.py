"""Scenario files: a router config plus the arrivals, staffing and surges to simulate.

Theory of operation: :class:`Scenario` *is* a :class:`~router.config.RouterConfig`
(msgspec Struct inheritance, unknown fields forbidden) with three more tables,
``[simulation]``, ``[[arrivals]]`` and ``[[surges]]`` (docs/simulator.md); the agent
groups are the config's own ``[[agents]]``. Files are read with the config loader
(:func:`router.config.load_config` with ``type=Scenario``), so schema errors name
their JSON path exactly like config errors, and the config-level semantic checks
run too. :meth:`Scenario.extra_problems` adds the checks only a scenario needs
(arrivals naming unknown queues, surge windows out of order, an accept delay longer
than the offer timeout; NaN and infinities are caught by the config's own checks);
the config loader calls it, so ``python -m router check`` and ``simulate`` report
the same lines.

``[simulation]`` also holds the scenario's wall clock at t = 0 (``start``, a
weekday and a time: the charts' time axis) and the run-size guards
(``[simulation.limits]``, see ``router/sim/guard.py``).

Distributions are a tagged union on the ``dist`` field: ``exponential`` and
``constant`` take ``mean_s``; ``lognormal`` takes ``mean_s`` and ``sd_s`` (the mean
and standard deviation of the duration itself, not of its logarithm).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from router.config import (
    DEFAULT_CHANNELS,
    Level,
    Name,
    RouterConfig,
    convert_config,
    decode_config,
    detect_format,
    read_config_file,
)
from router.config.summary import config_given, is_scenario
from router.errors import ConfigError
from router.model import Attributes
from router.sim.clock import clock_offset_s, start_offset_s
from router.sim.daylog import read_day

__all__ = [
    "Arrival",
    "Constant",
    "Distribution",
    "Exponential",
    "Limits",
    "Lognormal",
    "Scenario",
    "Simulation",
    "Surge",
    "decode_scenario",
    "load_scenario",
    "router_config",
]

Seconds = Annotated[float, Meta(ge=0)]
PositiveSeconds = Annotated[float, Meta(gt=0)]


class _Base(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class _Dist(_Base, tag_field="dist"):
    pass


class Exponential(_Dist, tag="exponential"):
    """Exponentially distributed duration with mean ``mean_s``."""

    mean_s: PositiveSeconds


class Lognormal(_Dist, tag="lognormal"):
    """Log-normal duration with the given mean and standard deviation (seconds)."""

    mean_s: PositiveSeconds
    sd_s: Seconds


class Constant(_Dist, tag="constant"):
    """Always exactly ``mean_s`` seconds."""

    mean_s: PositiveSeconds


Distribution = Exponential | Lognormal | Constant


class Limits(_Base):
    """``[simulation.limits]``: run-size guards (see :mod:`router.sim.guard`).

    ``check`` and ``simulate`` estimate the run first and refuse one past a limit
    unless ``--force``: expected arrivals, agents, and simulation events.
    """

    arrivals: Annotated[int, Meta(ge=0)] = 2_000_000
    agents: Annotated[int, Meta(ge=0)] = 100_000
    events: Annotated[int, Meta(ge=0)] = 30_000_000


class Simulation(_Base):
    """The ``[simulation]`` table: how long, how to count, how to drive the core."""

    duration_s: PositiveSeconds = 3600.0
    warmup_s: Seconds = 0.0
    seed: int = 0
    drain: bool = True
    accept_delay_s: Seconds = 0.0
    #: with ``drain``, give up this long after ``duration_s`` (inquiries left open are
    #: reported as ``unresolved``)
    drain_limit_s: PositiveSeconds = 86400.0
    #: spacing of the queue-length timeline (report ``timeline`` and charts);
    #: default: ``duration_s / 240``
    sample_s: PositiveSeconds | None = None
    #: probability that the agent's call for a callback reaches the customer; a miss is
    #: reported to the core (``callback_failed``), which retries or gives up
    callback_reach: Annotated[float, Meta(ge=0, le=1)] = 1.0
    #: the wall clock at t = 0 (charts, summaries): a weekday and a time, "fri 18:00"
    start: str = "mon 00:00"
    limits: Limits = msgspec.field(default_factory=Limits)
    #: how long an agent takes to answer an offer, drawn per offer (instead of the fixed
    #: ``accept_delay_s``); with ``max_offers > 1`` the quickest of the agents wins
    answer_time: Distribution | None = None
    #: share of offers the agent never answers (they expire after ``offer_timeout_s``)
    no_answer_share: Annotated[float, Meta(ge=0, le=1)] = 0.0


class Arrival(_Base):
    """One Poisson arrival stream into a queue, or the queue's rows of a CSV file
    (``from_csv``, see ``router/sim/daylog.py``) replayed as they happened."""

    queue: Name
    rate_per_s: Annotated[float, Meta(ge=0)] | None = None
    handle_time: Distribution | None = None
    from_csv: str | None = None
    patience: Distribution | None = None
    priority: Annotated[int, Meta(ge=-1000, le=1000)] | None = None
    tags: list[Name] = msgspec.field(default_factory=list)
    requires: dict[Name, Level] | None = None
    tenant: Name | None = None
    name: Name | None = None
    #: every arrival of the stream carries these attributes (read by queues' ``match``)
    attributes: Attributes = msgspec.field(default_factory=dict)
    #: every arrival of the stream prefers these agents (the queue's ``preferred_wait_s``)
    preferred_agents: list[Name] = msgspec.field(default_factory=list)
    #: share of arrivals that are returning customers: each prefers the agent who served
    #: an earlier customer of this stream, drawn at random among those answered so far
    returning_share: Annotated[float, Meta(ge=0, le=1)] = 0.0


class Surge(_Base):
    """Multiply arrival rates by ``multiplier`` in ``[start_s, end_s)``.

    ``queues`` limits the surge to streams into those queues (default: every stream).
    Overlapping surges multiply.
    """

    start_s: Seconds
    end_s: PositiveSeconds
    multiplier: Annotated[float, Meta(ge=0)]
    queues: list[Name] = msgspec.field(default_factory=list)
    name: Name | None = None


class Scenario(RouterConfig):
    """A router config plus ``[simulation]``, ``[[arrivals]]`` and ``[[surges]]``."""

    simulation: Simulation = msgspec.field(default_factory=Simulation)
    arrivals: list[Arrival] = msgspec.field(default_factory=list)
    surges: list[Surge] = msgspec.field(default_factory=list)

    def extra_problems(self) -> list[str]:
        """Scenario checks beyond the config's; one ``path: message`` line each."""
        return scenario_problems(self)


def scenario_problems(sc: Scenario) -> list[str]:
    out: list[str] = []
    sim = sc.simulation
    try:
        clock_offset_s(sim.start)
    except ValueError as exc:
        out.append(f"$.simulation.start: {exc}")
    clock = sc.routing.clock
    if clock.unix or clock.start not in ("mon 00:00", sim.start):
        out.append(
            "$.routing.clock: a simulation's clock is [simulation] start "
            "(leave [routing.clock] out of a scenario)"
        )
    if sim.warmup_s >= sim.duration_s:
        out.append(
            f"$.simulation.warmup_s: {sim.warmup_s:g} leaves no measured time "
            f"before duration_s = {sim.duration_s:g}"
        )
    if sim.answer_time is not None and sim.accept_delay_s > 0:
        out.append(
            "$.simulation.answer_time: set answer_time or accept_delay_s, not both "
            "(answer_time draws each offer's delay)"
        )
    if sc.routing.mode == "immediate" and (sim.answer_time is not None or sim.no_answer_share > 0):
        out.append(
            "$.simulation.answer_time: immediate mode makes no offers to answer "
            '(answer_time and no_answer_share need routing.mode = "offer")'
        )
    if sc.routing.mode == "offer" and sim.accept_delay_s >= sc.routing.offer_timeout_s:
        out.append(
            f"$.simulation.accept_delay_s: {sim.accept_delay_s:g} is not below "
            f"routing.offer_timeout_s = {sc.routing.offer_timeout_s:g}; every offer would expire"
        )
    queues = {q.name: q for q in sc.queues}
    if not sc.arrivals:
        out.append("$.arrivals: a scenario needs at least one [[arrivals]] stream")
    if not any(a.count > 0 for a in sc.agents):
        out.append("$.agents: a scenario needs at least one [[agents]] group with count > 0")
    for i, a in enumerate(sc.arrivals):
        p = f"$.arrivals[{i}]"
        if a.from_csv is None:
            for name in ("rate_per_s", "handle_time"):
                if getattr(a, name) is None:
                    out.append(f"{p}: missing required field {name!r} (or from_csv)")
        elif a.rate_per_s is not None:
            out.append(f"{p}.rate_per_s: a stream replayed from_csv has no rate")
        q = queues.get(a.queue)
        if q is None:
            out.append(f"{p}.queue: unknown queue {a.queue!r}")
        elif a.tenant is not None and q.tenant is not None and a.tenant != q.tenant:
            out.append(f"{p}.tenant: {a.tenant!r} but queue {q.name!r} belongs to {q.tenant!r}")
        elif (a.returning_share > 0 or a.preferred_agents) and q.preferred_wait_s <= 0:
            out.append(
                f"{p}.returning_share: queue {q.name!r} has preferred_wait_s = 0, so "
                "preferred agents are never waited for (set preferred_wait_s on the queue)"
            )
    for i, s in enumerate(sc.surges):
        p = f"$.surges[{i}]"
        if s.end_s <= s.start_s:
            out.append(f"{p}.end_s: {s.end_s:g} must be after start_s = {s.start_s:g}")
        if s.start_s >= sim.duration_s:
            out.append(
                f"{p}.start_s: {s.start_s:g} is not before simulation.duration_s = "
                f"{sim.duration_s:g}; the surge would never apply"
            )
        for j, qn in enumerate(s.queues):
            if qn not in queues:
                out.append(f"{p}.queues[{j}]: unknown queue {qn!r}")
    channels = {**DEFAULT_CHANNELS, **sc.channels}
    for i, g in enumerate(sc.agents):
        # first on shift after the run (a roster's first shift, or the one shift): never works
        field, start = (
            ("shifts[0].start_s", g.shifts[0].start_s)
            if g.shifts
            else ("shift_start_s", g.shift_start_s)
        )
        if start >= sim.duration_s and g.count > 0 and not sim.drain:
            out.append(
                f"$.agents[{i}].{field}: {start:g} is after the run ends "
                f"(duration_s = {sim.duration_s:g}, drain off)"
            )
        if g.no_answer_share is not None and sc.routing.mode == "immediate":
            out.append(
                f"$.agents[{i}].no_answer_share: immediate mode makes no offers to answer "
                '(no_answer_share needs routing.mode = "offer")'
            )
        if g.decline_share > 0 and sc.routing.mode == "immediate":
            out.append(
                f"$.agents[{i}].decline_share: immediate mode makes no offers to decline "
                '(decline_share needs routing.mode = "offer")'
            )
        elif (
            g.decline_share >= 1
            and sc.routing.max_declines is None
            and sc.routing.decline_memory == "round"
        ):
            out.append(
                f"$.agents[{i}].decline_share: 1 declines every offer; with decline_memory = "
                '"round" and no routing.max_declines the same offers would ring for ever '
                "(set max_declines, or a share below 1)"
            )
        if g.decline_away_s is not None and sc.routing.max_declines is None:
            out.append(
                f"$.agents[{i}].decline_away_s: does nothing without routing.max_declines "
                "(no agent is set away for its declines)"
            )
        if g.no_answer_away_s is not None and sc.routing.mode == "immediate":
            out.append(
                f"$.agents[{i}].no_answer_away_s: immediate mode makes no offers to ring out "
                '(no_answer_away_s needs routing.mode = "offer")'
            )
        if g.console_back_s is not None:
            if g.console_drop_s is None:
                out.append(
                    f"$.agents[{i}].console_back_s: no console_drop_s (their consoles never "
                    "go silent, so they never come back)"
                )
            elif g.console_back_s <= g.console_drop_s:
                out.append(
                    f"$.agents[{i}].console_back_s: {g.console_back_s:g} is not after "
                    f"console_drop_s = {g.console_drop_s:g}"
                )
        if g.units is not None:
            for ch in g.capacity:
                if ch in channels and channels[ch].unit_cost > g.units:
                    out.append(
                        f"$.agents[{i}].units: {g.units} is below one {ch!r} inquiry's "
                        f"unit_cost {channels[ch].unit_cost}"
                    )
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (TOML, JSON or YAML); raises ConfigError.

    A plain router config (none of the three tables) is refused in one line saying so.
    ``from_csv`` paths are resolved against the file's directory and the CSV files
    checked (``router/sim/daylog.py``).
    """
    raw = read_config_file(path)
    if isinstance(raw, dict) and raw and not is_scenario(raw):
        raise ConfigError([config_given()])  # a router config where a scenario belongs
    sc = convert_config(raw, Scenario, fmt=detect_format(Path(path)))
    if not any(a.from_csv is not None for a in sc.arrivals):
        return sc
    sc, problems = _check_csv_arrivals(sc, Path(path).parent)
    if problems:
        raise ConfigError(problems)
    return sc


def _check_csv_arrivals(sc: Scenario, base: Path) -> tuple[Scenario, list[str]]:
    """Resolve every ``from_csv`` against ``base`` and check the files; returns the scenario
    with absolute paths and one problem line per bad file."""
    problems: list[str] = []
    offset = start_offset_s(sc)
    arrivals = list(sc.arrivals)
    queues = {q.name for q in sc.queues}
    replayed: dict[str, set[str]] = {}
    for i, a in enumerate(arrivals):
        if a.from_csv is None:
            continue
        path = Path(a.from_csv)
        if not path.is_absolute():
            path = base / path
        arrivals[i] = msgspec.structs.replace(a, from_csv=str(path))
        replayed.setdefault(str(path), set()).add(a.queue)
    for i, a in enumerate(arrivals):
        if a.from_csv is None:
            continue
        where = f"$.arrivals[{i}].from_csv"
        try:
            rows = read_day(a.from_csv, offset)
        except OSError as exc:
            problems.append(f"{where}: cannot read {a.from_csv}: {exc.strerror or exc}")
            continue
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        mine = [r for r in rows if r[1] in (None, a.queue)]
        if a.handle_time is None and any(r[2] is None for r in mine):
            problems.append(
                f"{where}: rows without handle_s need the entry's handle_time distribution"
            )
        for _, q, _, _ in rows:
            if q is not None and q not in replayed[a.from_csv]:
                what = "is not a queue of the config" if q not in queues else "has no entry"
                problems.append(
                    f"{where}: rows of queue {q!r} would not be replayed: {q!r} {what} "
                    f"([[arrivals]] queue = {q!r} with from_csv = the same file)"
                )
                break
    return msgspec.structs.replace(sc, arrivals=arrivals), problems


def decode_scenario(data: bytes | str, fmt: str = "toml") -> Scenario:
    """Decode and validate scenario text; raises ConfigError."""
    return decode_config(data, fmt, type=Scenario)


def router_config(sc: Scenario) -> RouterConfig:
    """The plain router config part of a scenario (what the core is given); its clock is the
    scenario's ``[simulation] start`` (``now = 0`` is that weekday and time)."""
    fields: dict[str, Any] = {name: getattr(sc, name) for name in RouterConfig.__struct_fields__}
    clock = msgspec.structs.replace(sc.routing.clock, start=sc.simulation.start)
    fields["routing"] = msgspec.structs.replace(sc.routing, clock=clock)
    return RouterConfig(**fields)
