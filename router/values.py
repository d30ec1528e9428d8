"""The checks of the inputs' values, and the wire form of an expected wait: plain functions.

Theory of operation
-------------------
:mod:`router.inputs` and :mod:`router.events` define msgspec Structs with class
keywords, so they stay pure Python in the compiled build (docs/compiled.md); the
functions the core calls on every input (``check_now`` on every call,
``check_id``, ``check_inquiry`` on every arrival) and on every admission
(``wire_seconds``) live here instead, in a module that is compiled with the
core, so the core's calls to them are native calls rather than calls into the
interpreter. ``router.inputs`` and ``router.events`` re-export them: the rules
and the messages are theirs (see ``router/inputs.py`` for what is checked where).
"""

from __future__ import annotations

import math
from typing import Any, Final

import msgspec.structs

from router.errors import InvalidInput
from router.model import AgentSpec, Inquiry, Shift

__all__ = [
    "INQUIRY_FIELDS",
    "MAX_ATTR_LIST",
    "MAX_LEVEL",
    "MAX_NAME",
    "MAX_PREFERRED",
    "MAX_PRIORITY",
    "MIN_LEVEL",
    "MIN_PRIORITY",
    "NO_TAGS",
    "InquiryFields",
    "check_agent_spec",
    "check_attributes",
    "check_id",
    "check_inquiry",
    "check_now",
    "check_priority",
    "check_reason",
    "check_requires",
    "inquiry_fields",
    "query_id",
    "wire_seconds",
]

#: Longest id or name, as :data:`router.model.Name` says.
MAX_NAME: Final = 200
#: Priorities an inquiry may carry (as ``Inquiry.priority`` says).
MIN_PRIORITY: Final = -1000
MAX_PRIORITY: Final = 1000
#: Proficiency levels (as :data:`router.model.Level` says).
MIN_LEVEL: Final = 1
MAX_LEVEL: Final = 5
#: Most agents an inquiry may prefer (as ``Inquiry.preferred_agents`` says).
MAX_PREFERRED: Final = 20


def _finite(value: Any) -> bool:
    if type(value) is float:
        f: float = value  # compiled, unboxed: ``value - value`` on ``Any`` boxes a new float
        return f - f == 0.0
    return type(value) is int


def _positive(value: Any) -> bool:
    """``_finite(value) and value > 0``, a float compared unboxed (compiled)."""
    if type(value) is float:
        f: float = value
        return f - f == 0.0 and f > 0.0
    return type(value) is int and value > 0


def check_now(now: Any) -> float:
    """``now`` as a float; InvalidInput unless it is a finite number."""
    if type(now) is float:
        if now - now == 0.0:  # false for nan and +-inf
            return now
    elif type(now) is int:
        return float(now)
    raise InvalidInput("now", f"must be a finite number, got {now!r}")


def check_bound(value: Any, field: str) -> float:
    """``value`` as a float; InvalidInput unless it is a finite number or +inf."""
    if type(value) is float:
        if value - value == 0.0 or value == math.inf:
            return value
    elif type(value) is int:
        return float(value)
    raise InvalidInput(field, f"must be a finite number or inf, got {value!r}")


def check_id(value: Any, field: str) -> str:
    """A non-empty string of at most 200 characters."""
    if type(value) is not str or not value:
        raise InvalidInput(field, f"must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME:
        raise InvalidInput(field, f"must be at most {MAX_NAME} characters, got {len(value)}")
    return value


def query_id(value: Any, field: str) -> str:
    """An id a query was given: any str as it is (an unknown one, even empty, is the query's
    to answer: ``UnknownId`` or ``False``), anything else :class:`InvalidInput` naming
    ``field`` as :func:`check_id` refuses it. The queries take ``object`` so that the
    compiled build's wrapper lets a wrong type through to here (docs/compiled.md)."""
    if type(value) is not str:
        raise InvalidInput(field, f"must be a non-empty string, got {value!r}")
    return value


def check_reason(value: Any, field: str = "reason") -> str:
    """Why a caller stops an agent (``go_on_break``): a string of at most 200 characters
    with something besides whitespace in it. It is what ``AgentOnBreak`` and the
    ``Requeued`` of the agent's open offers say; an empty one would say nothing."""
    if type(value) is not str or len(value) > MAX_NAME:
        raise InvalidInput(field, f"must be a string of at most {MAX_NAME} characters")
    if not value or value.isspace():
        raise InvalidInput(field, f"must say why: not empty or only whitespace, got {value!r}")
    return value


def _check_names(values: Any, field: str) -> None:
    if not isinstance(values, frozenset | set | list | tuple):
        raise InvalidInput(field, f"must be a set of names, got {values!r}")
    for v in values:
        check_id(v, field)


def _check_skills(skills: Any, field: str) -> None:
    if type(skills) is not dict:
        raise InvalidInput(field, f"must be a mapping of skill to level, got {skills!r}")
    for skill, level in skills.items():
        check_id(skill, field)
        if type(level) is not int or not MIN_LEVEL <= level <= MAX_LEVEL:
            raise InvalidInput(
                f"{field}.{skill}", f"must be a level {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}"
            )


def _check_weights(queues: Any, field: str) -> None:
    if type(queues) is not dict:
        raise InvalidInput(field, f"must be a mapping of queue to weight, got {queues!r}")
    for qn, weight in queues.items():
        check_id(qn, field)
        if not _positive(weight):
            raise InvalidInput(f"{field}.{qn}", f"must be a finite number > 0, got {weight!r}")


def check_priority(p: Any, field: str = "priority") -> None:
    """``None`` or an integer priority -1000..1000."""
    if p is not None and (type(p) is not int or not MIN_PRIORITY <= p <= MAX_PRIORITY):
        raise InvalidInput(field, f"must be an integer {MIN_PRIORITY}..{MAX_PRIORITY}, got {p!r}")


def check_requires(requires: Any, field: str = "requires") -> None:
    """``None`` or a mapping of skill to level 1..5."""
    if requires is not None:
        _check_skills(requires, field)


#: Integers an attribute may hold: what MessagePack carries (signed 64 bits).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
#: Longest list an attribute may hold (as :data:`router.model.AttrValue` says).
MAX_ATTR_LIST: Final = 100


def _attr_scalar(v: Any, field: str) -> None:
    t = type(v)
    if t is bool:
        return
    if t is int:
        if not _INT_MIN <= v <= _INT_MAX:
            raise InvalidInput(field, f"an integer attribute must fit in 64 bits, got {v!r}")
        return
    if t is float:
        if v - v != 0.0:
            raise InvalidInput(field, f"must be a finite number, got {v!r}")
        return
    if t is str:
        if len(v) > MAX_NAME:
            raise InvalidInput(field, f"must be at most {MAX_NAME} characters, got {len(v)}")
        return
    raise InvalidInput(
        field, f"must be a string, number, boolean or a list of them, got {type(v).__name__}"
    )


def check_attributes(attrs: Any, field: str = "attributes") -> dict[str, Any]:
    """A mapping of names to strings, finite numbers, booleans, or lists of them."""
    if type(attrs) is not dict:
        raise InvalidInput(field, f"must be a mapping of name to value, got {attrs!r}")
    for name, value in attrs.items():
        check_id(name, field)
        where = f"{field}.{name}"
        if type(value) is list:
            if len(value) > MAX_ATTR_LIST:
                raise InvalidInput(
                    where,
                    f"a list attribute holds at most {MAX_ATTR_LIST} values, got {len(value)}",
                )
            for i, item in enumerate(value):
                _attr_scalar(item, f"{where}[{i}]")
        else:
            _attr_scalar(value, where)
    return attrs


#: An :class:`~router.model.Inquiry`'s fields in its declaration order, as
#: ``msgspec.structs.astuple`` returns them (:func:`inquiry_fields`): ``id``, ``queue``,
#: ``priority``, ``requires``, ``tenant``, ``patience_s``, ``tags``, ``cost``,
#: ``arrived_at``, ``attributes``, ``preferred_agents``. Typed ``Any`` each: they are
#: read before they are checked (compiled, a narrower type would be checked on the read
#: and raise mypyc's TypeError instead of the InvalidInput naming the field). A tuple of
#: any length to mypyc: it stays astuple's object, read in place (a fixed-length type
#: is copied out into a native record, 11 new references, and the tuple freed at once).
InquiryFields = tuple[Any, ...]
INQUIRY_FIELDS: Final = (
    "id",
    "queue",
    "priority",
    "requires",
    "tenant",
    "patience_s",
    "tags",
    "cost",
    "arrived_at",
    "attributes",
    "preferred_agents",
)
if Inquiry.__struct_fields__ != INQUIRY_FIELDS:  # pragma: no cover - a model change
    raise ImportError(f"router.values.INQUIRY_FIELDS is not Inquiry's {Inquiry.__struct_fields__}")
_astuple: Final = msgspec.structs.astuple
_Inquiry: Final = Inquiry  # compiled, a Final is read directly, an imported class per lookup
#: ``Inquiry.tags``' default, one shared empty frozenset: tags left at it pass on identity
#: (compiled, the truth test of a frozenset is a generic call, a ``in`` a set lookup)
NO_TAGS: Final = next(f.default for f in msgspec.structs.fields(Inquiry) if f.name == "tags")


def check_inquiry(value: Any) -> Inquiry:
    """Every value of an :class:`~router.model.Inquiry`, as the wire checks them."""
    inquiry_fields(value)
    return value  # type: ignore[no-any-return]


def inquiry_fields(value: Any) -> InquiryFields:
    """Check every value of an :class:`~router.model.Inquiry` (:func:`check_inquiry`) and
    return its fields (:data:`InquiryFields`): read once, as one tuple, instead of one
    generic attribute lookup per field and read (the core's ``submit`` reads them again)."""
    if type(value) is not _Inquiry:
        raise InvalidInput("inquiry", f"must be a router.Inquiry, got {type(value).__name__}")
    fields: InquiryFields = _astuple(value)
    iid, queue, priority, requires, tenant, w, tags, c, a, attributes, pref = fields
    # each field checked in order; a value of the common shape (a short id, a field left
    # at its default) is passed without a call, anything else goes to its full check
    if type(iid) is not str or not iid or len(iid) > MAX_NAME:
        check_id(iid, "id")
    if type(queue) is not str or not queue or len(queue) > MAX_NAME:
        check_id(queue, "queue")
    if priority is not None:
        check_priority(priority)
    if requires is not None:
        check_requires(requires)
    if tenant is not None:
        check_id(tenant, "tenant")
    if w is not None and not _positive(w):
        raise InvalidInput("patience_s", f"must be a finite number > 0, got {w!r}")
    if tags is not NO_TAGS and (type(tags) is not frozenset or tags):
        _check_names(tags, "tags")
    if c is not None and (type(c) is not int or c < 0):
        raise InvalidInput("cost", f"must be an integer >= 0, got {c!r}")
    if a is not None and not _finite(a):
        raise InvalidInput("arrived_at", f"must be a finite number, got {a!r}")
    if type(attributes) is not dict or attributes:
        check_attributes(attributes)
    if type(pref) is not list or pref:
        if type(pref) is not list or len(pref) > MAX_PREFERRED:
            raise InvalidInput(
                "preferred_agents", f"must be a list of at most {MAX_PREFERRED} agent ids"
            )
        for aid in pref:
            check_id(aid, "preferred_agents")
    return fields


def check_agent_spec(value: Any, max_concurrency: dict[str, int]) -> AgentSpec:
    """Every value of an :class:`~router.model.AgentSpec`; ``max_concurrency`` maps each
    known channel to its hard maximum."""
    spec: Any = value  # read as Any, as in check_inquiry
    if type(value) is not AgentSpec:
        raise InvalidInput("agent", f"must be a router.AgentSpec, got {type(value).__name__}")
    check_id(spec.id, "id")
    _check_skills(spec.skills, "skills")
    if type(spec.capacity) is not dict:
        raise InvalidInput(
            "capacity", f"must be a mapping of channel to cap, got {spec.capacity!r}"
        )
    for ch, cap in spec.capacity.items():
        check_id(ch, "capacity")
        field = f"capacity.{ch}"
        if ch not in max_concurrency:
            known = ", ".join(sorted(max_concurrency))
            raise InvalidInput(field, f"unknown channel {ch!r}; known: {known}")
        if type(cap) is not int or cap < 0:
            raise InvalidInput(field, f"must be an integer >= 0, got {cap!r}")
        if cap > max_concurrency[ch]:
            raise InvalidInput(
                field, f"{cap} is above the channel's hard maximum {max_concurrency[ch]}"
            )
    u = spec.units
    if u is not None and (type(u) is not int or u < 1):
        raise InvalidInput("units", f"must be an integer >= 1, got {u!r}")
    _check_names(spec.tenants, "tenants")
    _check_weights(spec.queues, "queues")
    w = spec.wrap_up_s
    if not (_finite(w) and w >= 0):
        raise InvalidInput("wrap_up_s", f"must be a finite number >= 0, got {w!r}")
    e = spec.shift_end
    if e is not None and not _finite(e):
        raise InvalidInput("shift_end", f"must be a finite number, got {e!r}")
    if spec.team is not None:
        check_id(spec.team, "team")
    _check_shifts(spec)
    if type(spec.attributes) is not dict or spec.attributes:
        check_attributes(spec.attributes)
    return value


def _check_shifts(spec: Any) -> None:
    """A schedule: shifts in time order, not overlapping, only the last one open-ended."""
    shifts = spec.shifts
    if type(shifts) is not list:
        raise InvalidInput("shifts", f"must be a list of router.Shift, got {shifts!r}")
    if shifts and spec.shift_end is not None:
        raise InvalidInput(
            "shift_end", "not with shifts: the last shift's end_s is the agent's shift end"
        )
    prev_end: Any = None
    for i, item in enumerate(shifts):
        sh: Any = item  # read as Any, as in check_inquiry
        p = f"shifts[{i}]"
        if type(item) is not Shift:
            raise InvalidInput(p, f"must be a router.Shift, got {type(item).__name__}")
        if not _finite(sh.start_s):
            raise InvalidInput(f"{p}.start_s", f"must be a finite number, got {sh.start_s!r}")
        end = sh.end_s
        if end is not None and not (_finite(end) and end > sh.start_s):
            raise InvalidInput(f"{p}.end_s", f"must be a finite number after start_s, got {end!r}")
        if i:
            if prev_end is None:
                raise InvalidInput(f"shifts[{i - 1}].end_s", "only the last shift may be open")
            if sh.start_s < prev_end:
                raise InvalidInput(
                    f"{p}.start_s",
                    f"{sh.start_s!r} is before the end of shifts[{i - 1}] ({prev_end!r})",
                )
        prev_end = end
        if sh.tenants is not None:
            _check_names(sh.tenants, f"{p}.tenants")
        if sh.queues is not None:
            _check_weights(sh.queues, f"{p}.queues")


def wire_seconds(seconds: float) -> float | None:
    """An expected wait for an event: ``None`` (unknown) instead of infinity, which JSON lacks."""
    # math.inf compiles to a constant (float("inf") parsed the string on every call)
    return seconds if seconds < math.inf else None
