"""Router configuration: the operators' file, validated at the edge.

Theory of operation: the schema is a tree of msgspec Structs with ``Meta``
constraints and ``forbid_unknown_fields``, so decoding a TOML/JSON/YAML file
either yields a fully typed :class:`RouterConfig` or a single precise error
naming the JSON path (``$.queues[1].requires.refund``). After decoding,
:func:`semantic_problems` runs the checks a schema cannot express (duplicate
names, skills nobody has, caps above a channel's hard maximum, NaN weights) and
returns every problem at once, one ``path: message`` line each.
:func:`load_config` / :func:`decode_config` raise :class:`~router.errors.ConfigError`
carrying those lines; the core re-runs :func:`semantic_problems` on every
reconfigure, so an invalid config never changes a running router.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from router.errors import ConfigError

__all__ = [
    "DEFAULT_CHANNELS",
    "FEATURES",
    "AgentProfile",
    "Backpressure",
    "Channel",
    "QueueConfig",
    "RouterConfig",
    "Routing",
    "Step",
    "Weights",
    "Wellbeing",
    "decode_config",
    "load_config",
    "semantic_problems",
]

Level = Annotated[int, Meta(ge=1, le=5, description="proficiency level 1..5")]
Seconds = Annotated[float, Meta(ge=0)]
PositiveSeconds = Annotated[float, Meta(gt=0)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Skills = dict[Name, Level]
Weight = Annotated[float, Meta(ge=0)]

#: Agent-scoring features, in the order the explanation reports them.
FEATURES: tuple[str, ...] = ("proficiency", "idle_time", "load", "recent_work", "heavy_streak")


class _Base(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class Weights(_Base):
    """Weights of the agent-scoring features (higher score wins). See docs/tuning.md."""

    proficiency: Weight = 1.0
    idle_time: Weight = 1.0
    load: Weight = 1.0
    recent_work: Weight = 0.0
    heavy_streak: Weight = 0.0


class Routing(_Base):
    """How decisions are made."""

    weights: Weights = msgspec.field(default_factory=Weights)
    priority_seconds: Seconds = 60.0
    mode: Literal["offer", "immediate"] = "offer"
    offer_timeout_s: PositiveSeconds = 30.0
    max_no_answer: Annotated[int, Meta(ge=1)] = 3
    idle_scale_s: PositiveSeconds = 60.0
    recent_window_s: PositiveSeconds = 1800.0
    trace: bool = False
    strict: bool = False


class Channel(_Base):
    """A channel's hard maximum concurrency per agent and its capacity-unit cost."""

    max_concurrency: Annotated[int, Meta(ge=1, le=1000)] = 1
    unit_cost: Annotated[int, Meta(ge=0)] = 0


DEFAULT_CHANNELS: dict[str, Channel] = {
    "voice": Channel(max_concurrency=1, unit_cost=100),
    "chat": Channel(max_concurrency=30, unit_cost=20),
    "email": Channel(max_concurrency=20, unit_cost=10),
    "task": Channel(max_concurrency=5, unit_cost=20),
}


class Step(_Base):
    """A skill-relaxation step: after waiting ``after_s``, require only ``requires``."""

    after_s: PositiveSeconds
    requires: Skills = msgspec.field(default_factory=dict)


class QueueConfig(_Base):
    name: Name
    channel: Name = "voice"
    requires: Skills = msgspec.field(default_factory=dict)
    priority: Annotated[int, Meta(ge=-1000, le=1000)] = 0
    tenant: Name | None = None
    answer_target_s: PositiveSeconds = 20.0
    steps: list[Step] = msgspec.field(default_factory=list)
    weights: Weights | None = None
    heavy: bool = False
    on_remove: Name | None = None
    max_queue: Annotated[int, Meta(ge=0)] | None = None


class Wellbeing(_Base):
    """Guardrails on a person's day. ``None`` switches a guardrail off."""

    max_continuous_work_s: PositiveSeconds | None = None
    break_s: PositiveSeconds = 900.0
    max_consecutive_heavy: Annotated[int, Meta(ge=1)] | None = None
    heavy_recovery_s: Seconds = 120.0
    max_overtime_s: Seconds = 0.0
    suspend_in_surge: list[Literal["continuous_work", "shift", "heavy"]] = msgspec.field(
        default_factory=list
    )


class AgentProfile(_Base):
    """A group of identical agents (config: for checks; scenario: who is staffed)."""

    count: Annotated[int, Meta(ge=0)] = 1
    name: Name | None = None
    skills: Skills = msgspec.field(default_factory=dict)
    capacity: dict[Name, Annotated[int, Meta(ge=0)]] = msgspec.field(
        default_factory=lambda: {"voice": 1}
    )
    units: Annotated[int, Meta(ge=1)] | None = None
    tenants: list[Name] = msgspec.field(default_factory=list)
    queues: dict[Name, Annotated[float, Meta(gt=0)]] = msgspec.field(default_factory=dict)
    wrap_up_s: Seconds = 0.0
    shift_start_s: Seconds = 0.0
    shift_end_s: Seconds | None = None


class Backpressure(_Base):
    """Admission control; the policy names are documented in docs/backpressure.md."""

    policy: Name | list[Name] = "admit_all"
    max_queue: Annotated[int, Meta(ge=0)] | None = None


class RouterConfig(_Base):
    """The whole router config (scenario.md §1)."""

    routing: Routing = msgspec.field(default_factory=Routing)
    channels: dict[Name, Channel] = msgspec.field(default_factory=dict)
    queues: list[QueueConfig] = msgspec.field(default_factory=list)
    wellbeing: Wellbeing = msgspec.field(default_factory=Wellbeing)
    backpressure: Backpressure = msgspec.field(default_factory=Backpressure)
    agents: list[AgentProfile] = msgspec.field(default_factory=list)

    def channel(self, name: str) -> Channel:
        """The channel's settings, falling back to the built-in defaults."""
        found = self.channels.get(name) or DEFAULT_CHANNELS.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues]


C = TypeVar("C", bound=RouterConfig)

_PATH_RE = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)


def format_validation_error(exc: msgspec.MsgspecError) -> str:
    """``Expected int >= 1 - at `$.a`` -> ``$.a: Expected int >= 1`` (backticks dropped)."""
    m = _PATH_RE.match(str(exc))
    assert m is not None
    msg = m.group("msg").replace("`", "")
    return f"{m.group('path') or '$'}: {msg}"


def _detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".toml", ".tml"):
        return "toml"
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise ConfigError([f"$: unknown file type {suffix!r}; use .toml, .json or .yaml"])


def decode_config(data: bytes | str, fmt: str = "toml", type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Decode and validate config text; raise ConfigError listing every problem."""
    try:
        if fmt == "toml":
            raw: Any = msgspec.toml.decode(data)
        elif fmt == "json":
            raw = msgspec.json.decode(data)
        elif fmt == "yaml":
            try:
                import yaml  # noqa: F401  (msgspec.yaml needs PyYAML)
            except ImportError:
                raise ConfigError(["$: YAML needs PyYAML: pip install 'router[yaml]'"]) from None
            raw = msgspec.yaml.decode(data)
        else:
            raise ConfigError([f"$: unknown format {fmt!r}"])
    except msgspec.DecodeError as exc:
        raise ConfigError([f"$: malformed {fmt.upper()}: {exc}"]) from None
    cfg = convert_config(raw, type)
    return cfg


def convert_config(raw: Any, type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Validate an already-parsed mapping into a config; raise ConfigError."""
    try:
        cfg = msgspec.convert(raw, type)
    except msgspec.ValidationError as exc:
        raise ConfigError([format_validation_error(exc)]) from None
    problems = semantic_problems(cfg)
    if problems:
        raise ConfigError(problems)
    return cfg


def load_config(path: str | Path, type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Read a TOML, JSON or YAML file into a validated config."""
    p = Path(path)
    fmt = _detect_format(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"$: cannot read {p}: {exc.strerror}"]) from None
    return decode_config(data, fmt, type)


def _check_weights(w: Weights, path: str, out: list[str]) -> None:
    for name in FEATURES:
        v = getattr(w, name)
        if not math.isfinite(v):
            out.append(f"{path}.{name}: weight must be a finite number, got {v}")


def semantic_problems(cfg: RouterConfig) -> list[str]:
    """Checks beyond the schema; returns one ``path: message`` line per problem."""
    out: list[str] = []
    _check_weights(cfg.routing.weights, "$.routing.weights", out)
    for attr in ("priority_seconds", "offer_timeout_s", "idle_scale_s", "recent_window_s"):
        v = getattr(cfg.routing, attr)
        if not math.isfinite(v):
            out.append(f"$.routing.{attr}: must be a finite number, got {v}")
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
        if q.weights is not None:
            _check_weights(q.weights, f"{p}.weights", out)
        if not math.isfinite(q.answer_target_s):
            out.append(f"{p}.answer_target_s: must be a finite number")
        last = 0.0
        for j, st in enumerate(q.steps):
            if st.after_s <= last:
                out.append(f"{p}.steps[{j}].after_s: steps must have increasing after_s")
            last = st.after_s
    for i, q in enumerate(cfg.queues):
        if q.on_remove is not None and q.on_remove not in names:
            out.append(f"$.queues[{i}].on_remove: unknown queue {q.on_remove!r}")
        if q.on_remove == q.name:
            out.append(f"$.queues[{i}].on_remove: a queue cannot hand over to itself")
    for i, a in enumerate(cfg.agents):
        p = f"$.agents[{i}]"
        for ch, cap in a.capacity.items():
            if ch not in channels:
                out.append(f"{p}.capacity.{ch}: unknown channel {ch!r}")
            elif cap > channels[ch].max_concurrency:
                out.append(
                    f"{p}.capacity.{ch}: {cap} is above the channel's hard maximum "
                    f"{channels[ch].max_concurrency}"
                )
        for qn in a.queues:
            if qn not in names:
                out.append(f"{p}.queues.{qn}: unknown queue {qn!r}")
        if a.shift_end_s is not None and a.shift_end_s <= a.shift_start_s:
            out.append(f"{p}.shift_end_s: must be after shift_start_s")
    if cfg.agents:
        out.extend(_coverage_problems(cfg, channels))
    return out


def _coverage_problems(cfg: RouterConfig, channels: dict[str, Channel]) -> list[str]:
    """Queues that no configured agent profile could ever serve."""
    out: list[str] = []
    staffed = [a for a in cfg.agents if a.count > 0]
    all_tenants = {t for a in staffed for t in a.tenants}
    for i, q in enumerate(cfg.queues):
        p = f"$.queues[{i}]"
        if q.tenant is not None and q.tenant not in all_tenants:
            out.append(f"{p}.tenant: no agent profile serves tenant {q.tenant!r}")
            continue
        reqs = [q.requires] + [s.requires for s in q.steps]
        final = reqs[-1]
        ok = False
        for a in staffed:
            if q.tenant is not None and q.tenant not in a.tenants:
                continue
            if a.queues and q.name not in a.queues:
                continue
            if a.capacity.get(q.channel, 0) <= 0:
                continue
            if all(a.skills.get(s, 0) >= lvl for s, lvl in final.items()):
                ok = True
                break
        if not ok:
            for skill, lvl in sorted(final.items()):
                best = max((a.skills.get(skill, 0) for a in staffed), default=0)
                if best < lvl:
                    where = "requires" if not q.steps else f"steps[{len(q.steps) - 1}].requires"
                    have = f"the best is {best}" if best else "no agent profile has it"
                    out.append(f"{p}.{where}.{skill}: needs level {lvl}; {have}")
                    break
            else:
                out.append(
                    f"{p}: no agent profile can serve this queue "
                    f"(channel {q.channel!r}, tenant {q.tenant!r}, skills {dict(final)})"
                )
    return out
