"""Router configuration: the operators' file, validated at the edge.

Theory of operation: the schema is a tree of msgspec Structs with ``Meta``
constraints and ``forbid_unknown_fields``. A TOML/JSON/YAML file is parsed to
plain data (:func:`parse_text`), then converted in one msgspec call (the fast
path). Only when that fails does :func:`structure_problems` walk the data
against the schema, converting each struct field, list item and dict entry on
its own, so every independent mistake is reported with a path naming the key
(``$.queues[1].requires.refund: Expected int >= 1``; msgspec alone stops at the
first and says ``requires[...]``). Once the schema is satisfied,
:func:`semantic_problems` runs the checks a schema cannot express (NaN/inf,
duplicate names, unknown channels and queues, caps above a channel's hard
maximum, skills, levels or tenants no agent profile has) and the backpressure
chain is built once. Every problem is one ``path: message`` line;
:func:`load_config` / :func:`decode_config` / :func:`convert_config` raise
:class:`~router.errors.ConfigError` carrying them all. The core re-runs
:func:`semantic_problems` on every reconfigure, so an invalid config never
changes a running router.
"""

from __future__ import annotations

import builtins
import json
import math
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec
from msgspec import Meta, Struct

from router.errors import ConfigError

__all__ = [
    "DEFAULT_CHANNELS",
    "FEATURES",
    "AgentProfile",
    "Backpressure",
    "BucketLimit",
    "CallbackPolicy",
    "Channel",
    "CodelPolicy",
    "DeflectPolicy",
    "EstimateConfig",
    "OutboundConfig",
    "OverflowPolicy",
    "OverflowRule",
    "QueueConfig",
    "RouterConfig",
    "Routing",
    "Step",
    "SurgeConfig",
    "TokenBucketPolicy",
    "Weights",
    "Wellbeing",
    "convert_config",
    "decode_config",
    "format_validation_error",
    "load_config",
    "parse_text",
    "read_config_file",
    "semantic_problems",
    "structure_problems",
]

Level = Annotated[int, Meta(ge=1, le=5, description="proficiency level 1..5")]
Seconds = Annotated[float, Meta(ge=0)]
PositiveSeconds = Annotated[float, Meta(gt=0)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Skills = dict[Name, Level]
Weight = Annotated[float, Meta(ge=0)]

#: Agent-scoring features, in the order the explanation reports them.
FEATURES: tuple[str, ...] = (
    "proficiency",
    "idle_time",
    "load",
    "recent_work",
    "recent_count",
    "heavy_streak",
)


class _Base(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class Weights(_Base):
    """Weights of the agent-scoring features (higher score wins). See docs/tuning.md."""

    proficiency: Weight = 1.0
    idle_time: Weight = 1.0
    load: Weight = 1.0
    recent_work: Weight = 0.0
    recent_count: Weight = 0.0
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


class DeflectPolicy(_Base):
    """``deflect``: send an arrival to self-service when its expected wait is above a threshold."""

    max_wait_s: PositiveSeconds = 300.0
    queues: dict[Name, PositiveSeconds] = msgspec.field(default_factory=dict)
    exempt: list[Name] = msgspec.field(default_factory=list)


class CallbackPolicy(_Base):
    """``callback``: above ``min_wait_s`` of expected wait the customer hangs up and keeps the
    place; when it comes up an agent calls back (``max_attempts`` tries, ``retry_s`` apart)."""

    min_wait_s: PositiveSeconds = 120.0
    queues: dict[Name, PositiveSeconds] = msgspec.field(default_factory=dict)
    exempt: list[Name] = msgspec.field(default_factory=list)
    retry_s: PositiveSeconds = 300.0
    max_attempts: Annotated[int, Meta(ge=1, le=100)] = 3


class OverflowRule(_Base):
    """Move a waiting inquiry to ``to`` after ``after_s`` of waiting, or at arrival when the
    queue already holds ``max_queue``; the original arrival time is kept."""

    to: Name
    after_s: PositiveSeconds | None = None
    max_queue: Annotated[int, Meta(ge=0)] | None = None


class OverflowPolicy(_Base):
    """``overflow``: one rule per source queue."""

    queues: dict[Name, OverflowRule] = msgspec.field(default_factory=dict)


class CodelPolicy(_Base):
    """``codel``: shed from the head once the head's wait stayed above ``target_s`` for
    ``interval_s``; the next sheds come ``interval_s / sqrt(count)`` apart (RFC 8289)."""

    target_s: PositiveSeconds = 30.0
    interval_s: PositiveSeconds = 120.0
    queues: list[Name] = msgspec.field(default_factory=list)
    action: Literal["reject", "deflect"] = "reject"


class BucketLimit(_Base):
    rate_per_s: Annotated[float, Meta(gt=0)]
    burst: Annotated[float, Meta(ge=1)]


class TokenBucketPolicy(_Base):
    """``token_bucket``: at most ``rate_per_s`` arrivals per second per tenant (or queue), with
    bursts up to ``burst``; ``limits`` overrides the rate for named tenants (or queues)."""

    per: Literal["tenant", "queue"] = "queue"
    rate_per_s: Annotated[float, Meta(gt=0)] = 10.0
    burst: Annotated[float, Meta(ge=1)] = 20.0
    limits: dict[Name, BucketLimit] = msgspec.field(default_factory=dict)
    action: Literal["reject", "deflect"] = "reject"


class SurgeConfig(_Base):
    """Surge mode with hysteresis: enter when the expected wait of a watched queue or the number
    waiting stays above an ``enter_*`` threshold for ``enter_after_s``; leave once both stay
    below the ``exit_*`` ones (default: half the ``enter_*`` ones, rounded up) for
    ``exit_after_s``.
    While in surge, apply the bundle."""

    enter_wait_s: PositiveSeconds | None = None
    exit_wait_s: PositiveSeconds | None = None
    enter_waiting: Annotated[int, Meta(ge=1)] | None = None
    exit_waiting: Annotated[int, Meta(ge=0)] | None = None
    enter_after_s: Seconds = 60.0
    exit_after_s: Seconds = 300.0
    queues: list[Name] = msgspec.field(default_factory=list)
    # the bundle
    caps: dict[Name, Annotated[int, Meta(ge=1)]] = msgspec.field(default_factory=dict)
    wrap_up_s: Seconds | None = None
    relax_steps: bool = False
    pause_outbound: bool = True
    callbacks: bool = False


class OutboundConfig(_Base):
    """Proactive outbound task queues: tasks start only on idle capacity, leaving
    ``reserve_idle`` agents free and enough agents for the ``protect``ed inbound queues to
    meet ``service_level`` within their answer target (Erlang C on measured load); paused
    in surge."""

    queues: list[Name] = msgspec.field(default_factory=list)
    reserve_idle: Annotated[int, Meta(ge=0)] = 1
    protect: list[Name] = msgspec.field(default_factory=list)
    service_level: Annotated[float, Meta(gt=0, lt=1)] = 0.8


class EstimateConfig(_Base):
    """Expected-wait estimator smoothing (see router/estimate.py)."""

    alpha: Annotated[float, Meta(gt=0, le=1)] = 0.05
    prior_handle_s: PositiveSeconds = 180.0


class Backpressure(_Base):
    """Admission control; the policy names are documented in docs/backpressure.md."""

    policy: Name | list[Name] = "admit_all"
    max_queue: Annotated[int, Meta(ge=0)] | None = None
    deflect: DeflectPolicy = msgspec.field(default_factory=DeflectPolicy)
    callback: CallbackPolicy = msgspec.field(default_factory=CallbackPolicy)
    overflow: OverflowPolicy = msgspec.field(default_factory=OverflowPolicy)
    codel: CodelPolicy = msgspec.field(default_factory=CodelPolicy)
    token_bucket: TokenBucketPolicy = msgspec.field(default_factory=TokenBucketPolicy)
    surge: SurgeConfig | None = None
    outbound: OutboundConfig = msgspec.field(default_factory=OutboundConfig)
    estimate: EstimateConfig = msgspec.field(default_factory=EstimateConfig)


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

    def extra_problems(self) -> list[str]:
        """Hook for subclasses (a scenario): checks of their own tables, run by
        :func:`semantic_problems` after the config's. One ``path: message`` line each."""
        return []


C = TypeVar("C", bound=RouterConfig)

_PATH_RE = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_validation_error(exc: msgspec.MsgspecError, at: str = "$") -> str:
    """``Expected int >= 1 - at `$.a``` -> ``$.a: Expected int >= 1`` (backticks dropped).

    ``at`` is the path of the value that was converted; msgspec's own path (which
    starts at ``$``) is appended to it.
    """
    m = _PATH_RE.match(str(exc))
    assert m is not None
    msg = " ".join(m.group("msg").replace("`", "").split())
    inner = m.group("path") or "$"
    return f"{at}{inner[1:]}: {msg}"


def key_path(path: str, key: object) -> str:
    """``$.a`` + ``b`` -> ``$.a.b``; keys that are not identifiers are quoted."""
    if isinstance(key, str) and _IDENT_RE.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key) if isinstance(key, str) else key}]"


def structure_problems(raw: Any, type: Any, path: str = "$") -> list[str]:
    """Every schema problem in ``raw`` (parsed TOML/JSON/YAML) against ``type``.

    msgspec stops at the first error and names a dict entry ``[...]``; this
    converts the whole value first (the fast path) and, only when that fails,
    descends into struct fields, list items and dict entries separately, so
    independent mistakes are all reported and each path names the offending
    key (``$.queues[1].requires.refund``).
    """
    out: list[str] = []
    _walk(raw, type, path, out)
    return out


def _walk(raw: Any, tp: Any, path: str, out: list[str]) -> None:
    if isinstance(raw, float) and not math.isfinite(raw):
        out.append(f"{path}: must be a finite number, got {raw}")
        return
    try:
        msgspec.convert(raw, tp)
    except msgspec.ValidationError as exc:
        err = exc
    else:
        _raw_nonfinite(raw, path, out)  # a sibling failed, so semantic checks won't run
        return
    before = len(out)
    inner = _container_type(tp, raw)
    if inner is not None:
        origin = get_origin(inner)
        if isinstance(inner, builtins.type) and issubclass(inner, Struct):
            _walk_struct(raw, inner, path, out)
        elif origin in (list, tuple, set, frozenset):
            args = get_args(inner)
            item = args[0] if args else Any
            for i, v in enumerate(raw):
                _walk(v, item, f"{path}[{i}]", out)
        elif origin is dict:
            kt, vt = get_args(inner) or (Any, Any)
            for k, v in raw.items():
                try:
                    msgspec.convert(k, kt)
                except msgspec.ValidationError as exc:
                    out.append(f"{path}: invalid key {k!r}: " + format_validation_error(exc)[3:])
                    continue
                _walk(v, vt, key_path(path, k), out)
    if len(out) == before:
        out.append(format_validation_error(err, path))


def _raw_nonfinite(raw: Any, path: str, out: list[str]) -> None:
    if isinstance(raw, float):
        if not math.isfinite(raw):
            out.append(f"{path}: must be a finite number, got {raw}")
    elif isinstance(raw, dict):
        for k, v in raw.items():
            _raw_nonfinite(v, key_path(path, k), out)
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            _raw_nonfinite(v, f"{path}[{i}]", out)


def _container_type(tp: Any, raw: Any) -> Any:
    """The struct/list/dict type in ``tp`` (unwrapping Annotated and unions) fit for ``raw``."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        for member in get_args(tp):
            found = _container_type(member, raw)
            if found is not None:
                return found
        return None
    if isinstance(raw, dict):
        if isinstance(tp, builtins.type) and issubclass(tp, Struct):
            conf = tp.__struct_config__
            if conf.tag_field is None or raw.get(conf.tag_field) == conf.tag:
                return tp  # untagged, or the member of a tagged union named by the data
            return None
        if origin is dict:
            return tp
    elif isinstance(raw, list):
        if origin in (list, set, frozenset):
            return tp
        if origin is tuple and get_args(tp)[-1:] == (...,):
            return tp
    return None


def _walk_struct(raw: dict[str, Any], st: builtins.type[Struct], path: str, out: list[str]) -> None:
    fields = msgspec.structs.fields(st)
    by_key = {f.encode_name: f for f in fields}
    conf = st.__struct_config__
    if conf.forbid_unknown_fields:
        known = ", ".join(by_key)
        for key in raw:
            if key not in by_key and key != conf.tag_field:
                what = "feature" if st is Weights else "field"
                out.append(f"{path}: unknown {what} {key!r}; known: {known}")
    for f in fields:
        if f.encode_name in raw:
            _walk(raw[f.encode_name], f.type, key_path(path, f.encode_name), out)
        elif f.required:
            out.append(f"{path}: missing required field {f.encode_name!r}")


def _detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".toml", ".tml"):
        return "toml"
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise ConfigError([f"$: unknown file type {suffix!r}; use .toml, .json or .yaml"])


def parse_text(data: bytes | str, fmt: str = "toml") -> Any:
    """Parse TOML/JSON/YAML text into plain Python data; ConfigError (one line) if malformed."""
    try:
        if fmt == "toml":
            return msgspec.toml.decode(data)
        if fmt == "json":
            return msgspec.json.decode(data)
        if fmt == "yaml":
            try:
                import yaml  # noqa: F401  (msgspec.yaml needs PyYAML)
            except ImportError:
                raise ConfigError(["$: YAML needs PyYAML: pip install 'router[yaml]'"]) from None
            return msgspec.yaml.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        msg = " ".join(str(exc).split())
        raise ConfigError([f"$: malformed {fmt.upper()}: {msg}"]) from None
    raise ConfigError([f"$: unknown format {fmt!r}"])


def read_config_file(path: str | Path) -> Any:
    """Read and parse a config file (format from its suffix); ConfigError on any failure."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"$: cannot read {p}: {exc.strerror or exc}"]) from None
    return parse_text(data, _detect_format(p))


def decode_config(data: bytes | str, fmt: str = "toml", type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Decode and validate config text; raise ConfigError listing every problem."""
    return convert_config(parse_text(data, fmt), type)


def convert_config(raw: Any, type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Validate an already-parsed mapping into a config; raise ConfigError listing every problem.

    Schema problems come first (all of them); the semantic checks run once the
    schema is satisfied, and the backpressure chain is built once to check it.
    """
    try:
        cfg = msgspec.convert(raw, type)
    except msgspec.ValidationError:
        raise ConfigError(structure_problems(raw, type)) from None
    problems = semantic_problems(cfg)
    from router.admission import build_policies  # admission imports this module

    try:
        build_policies(cfg)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return cfg


def load_config(path: str | Path, type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Read a TOML, JSON or YAML file into a validated config."""
    return convert_config(read_config_file(path), type)


def _nonfinite_problems(obj: Any, path: str, out: list[str]) -> None:
    """Every float in a decoded config that is NaN or infinite (TOML allows ``nan``/``inf``)."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            out.append(f"{path}: must be a finite number, got {obj}")
    elif isinstance(obj, Struct):
        for f in msgspec.structs.fields(obj):
            _nonfinite_problems(getattr(obj, f.name), key_path(path, f.encode_name), out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _nonfinite_problems(v, key_path(path, k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _nonfinite_problems(v, f"{path}[{i}]", out)


def semantic_problems(cfg: RouterConfig) -> list[str]:
    """Checks beyond the schema; returns one ``path: message`` line per problem."""
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
    seen_surge: set[str] = set()
    for j, g in enumerate(cfg.wellbeing.suspend_in_surge):
        if g in seen_surge:
            out.append(f"$.wellbeing.suspend_in_surge[{j}]: {g!r} is listed twice")
        seen_surge.add(g)
    profiles: dict[str, int] = {}
    for i, a in enumerate(cfg.agents):
        p = f"$.agents[{i}]"
        if a.name is not None:
            if a.name in profiles:
                out.append(
                    f"{p}.name: duplicate agent profile name {a.name!r} "
                    f"(also $.agents[{profiles[a.name]}])"
                )
            profiles.setdefault(a.name, i)
        for ch, cap in a.capacity.items():
            if ch not in channels:
                out.append(
                    f"{key_path(p + '.capacity', ch)}: unknown channel {ch!r}; "
                    f"known: {', '.join(sorted(channels))}"
                )
            elif cap > channels[ch].max_concurrency:
                out.append(
                    f"{key_path(p + '.capacity', ch)}: {cap} is above the channel's hard maximum "
                    f"{channels[ch].max_concurrency}"
                )
        for qn in a.queues:
            if qn not in names:
                out.append(f"{key_path(p + '.queues', qn)}: unknown queue {qn!r}")
        if a.shift_end_s is not None and a.shift_end_s <= a.shift_start_s:
            out.append(f"{p}.shift_end_s: must be after shift_start_s")
    if cfg.agents:
        out.extend(_coverage_problems(cfg))
    out.extend(cfg.extra_problems())
    return out


def _coverage_problems(cfg: RouterConfig) -> list[str]:
    """Queues that no configured agent profile could serve, and why (one line per queue)."""
    out: list[str] = []
    staffed = [a for a in cfg.agents if a.count > 0]
    for i, q in enumerate(cfg.queues):
        p = f"$.queues[{i}]"
        if q.tenant is not None and not any(q.tenant in a.tenants for a in staffed):
            out.append(f"{p}.tenant: no agent profile serves tenant {q.tenant!r}")
            continue
        fit = [a for a in staffed if q.tenant is None or q.tenant in a.tenants]
        fit = [a for a in fit if a.capacity.get(q.channel, 0) > 0]
        if not fit:
            out.append(f"{p}.channel: no agent profile serving it has capacity on {q.channel!r}")
            continue
        fit = [a for a in fit if not a.queues or q.name in a.queues]
        if not fit:
            out.append(f"{p}.name: every agent profile that could serve it leaves it out of queues")
            continue
        sets = [("requires", q.requires)]
        sets += [(f"steps[{j}].requires", s.requires) for j, s in enumerate(q.steps)]
        for where, req in sets:
            line = _requirement_problem(f"{p}.{where}", req, fit)
            if line is not None:
                if where == "requires" and q.steps:
                    line += " (every inquiry waits for the first step)"
                out.append(line)
                break
    return out


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
