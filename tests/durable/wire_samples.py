"""A valid sample of any input struct, built from its msgspec type information.

The durable wire must carry every member of ``router.inputs.Input``, including
the ones added after these tests were written, so the samples are derived from
the structs' own declared types and constraints (``msgspec.inspect``), never
from a list of inputs. Every optional field is filled too, so each field is
encoded and decoded at least once.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import inspect as mi

__all__ = ["sample", "sample_data"]

#: rules across fields, by field names present: a shift ends after it starts; an agent
#: with a schedule has no separate ``shift_end`` (the last shift's end is its shift end)
_ACROSS_FIELDS: list[tuple[set[str], Any]] = [
    ({"start_s", "end_s"}, lambda d: d.update(end_s=d["start_s"] + 1.0)),
    ({"shifts", "shift_end"}, lambda d: d.pop("shift_end")),
]


def _int(t: mi.IntType) -> int:
    lo = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else 1)
    hi = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
    return min(lo, hi) if hi is not None else lo


def _float(t: mi.FloatType) -> float:
    lo = t.ge if t.ge is not None else (t.gt + 0.5 if t.gt is not None else 1.5)
    hi = t.le if t.le is not None else (t.lt - 0.5 if t.lt is not None else None)
    return float(min(max(lo, 1.5), hi) if hi is not None else max(lo, 1.5))


def _str(t: mi.StrType) -> str:
    n = max(t.min_length or 0, 2)
    if t.max_length is not None:
        n = min(n, t.max_length)
    return "a1"[:n] + "a" * max(0, n - 2)


def sample_data(t: mi.Type) -> Any:
    """Plain data (as decoded from JSON) that converts to a valid value of type ``t``."""
    if isinstance(t, mi.Metadata):  # a description or schema extras around the type
        return sample_data(t.type)
    if isinstance(t, mi.StructType):
        out: dict[str, Any] = {}
        if t.tag_field is not None:
            out[t.tag_field] = t.tag
        for f in t.fields:
            out[f.encode_name] = sample_data(f.type)
        for names, fix in _ACROSS_FIELDS:
            if names <= out.keys():
                fix(out)
        return out
    if isinstance(t, mi.UnionType):
        return sample_data(next(x for x in t.types if not isinstance(x, mi.NoneType)))
    if isinstance(t, mi.StrType):
        return _str(t)
    if isinstance(t, mi.BoolType):
        return True
    if isinstance(t, mi.IntType):
        return _int(t)
    if isinstance(t, mi.FloatType):
        return _float(t)
    if isinstance(t, mi.NoneType):
        return None
    if isinstance(t, mi.LiteralType):
        return t.values[0]
    if isinstance(t, mi.EnumType):
        return next(iter(t.cls)).value
    if isinstance(t, mi.DictType):
        return {sample_data(t.key_type): sample_data(t.value_type)}
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return [sample_data(t.item_type)]
    if isinstance(t, mi.TupleType):
        return [sample_data(x) for x in t.item_types]
    if isinstance(t, mi.AnyType):
        return {"a1": [1, "a1", None, 1.5]}
    raise NotImplementedError(f"no sample for {t!r}: extend tests/durable/wire_samples.py")


def sample(cls: type) -> Any:
    """A valid instance of struct ``cls`` with every field set."""
    return msgspec.convert(sample_data(mi.type_info(cls)), cls)
