"""The all-problems walker: every schema mistake of a parsed file, each with its path.

Theory of operation: msgspec stops at the first error and names a dict entry
``[...]``. :func:`structure_problems` converts the whole value first (the fast
path) and, only when that fails, descends into struct fields, list items and
dict entries separately, so independent mistakes are all reported and each path
names the offending key (``$.queues[1].requires.refund: Expected int >= 1``).
"""

from __future__ import annotations

import builtins
import json
import math
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import Struct

from router.config.schema import Weights

__all__ = ["format_validation_error", "key_path", "structure_problems"]

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
    if isinstance(key, str) and _IDENT_RE.fullmatch(key):  # `$` alone takes "a\n"
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key) if isinstance(key, str) else key}]"


def structure_problems(raw: Any, type: Any, path: str = "$", fmt: str | None = None) -> list[str]:
    """Every schema problem in ``raw`` (parsed TOML/JSON/YAML) against ``type``.

    ``fmt`` is the format ``raw`` was parsed from (``toml``, ``json``, ``yaml``; ``None``:
    a mapping from Python): a bool where a string belongs gets the YAML-boolean hint
    (:func:`_yaml_bool`) only from ``yaml``, where an unquoted ``yes`` is one.

    msgspec stops at the first error and names a dict entry ``[...]``; this
    converts the whole value first (the fast path) and, only when that fails,
    descends into struct fields, list items and dict entries separately, so
    independent mistakes are all reported and each path names the offending
    key (``$.queues[1].requires.refund``).
    """
    out: list[str] = []
    _walk(raw, type, path, out, fmt == "yaml")
    return out


def _walk(raw: Any, tp: Any, path: str, out: list[str], yaml: bool) -> None:
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
            _walk_struct(raw, inner, path, out, yaml)
        elif origin in (list, tuple, set, frozenset):
            args = get_args(inner)
            item = args[0] if args else Any
            for i, v in enumerate(raw):
                _walk(v, item, f"{path}[{i}]", out, yaml)
        elif origin is dict:
            kt, vt = get_args(inner) or (Any, Any)
            for k, v in raw.items():
                try:
                    msgspec.convert(k, kt)
                except msgspec.ValidationError as exc:
                    msg = format_validation_error(exc)[3:]
                    out.append(
                        f"{path}: invalid key {k!r}: " + (_yaml_bool(msg, k) if yaml else msg)
                    )
                    continue
                _walk(v, vt, key_path(path, k), out, yaml)
    if len(out) == before:
        choice = _choices(tp) if isinstance(raw, str) else None
        tagged = _tags(tp) if isinstance(raw, dict) else None
        if choice is not None:
            noun, names = choice
            known = ", ".join(sorted(names))
            out.append(f"{path}: unknown {noun} {raw!r}; known: {known}")
        elif tagged is not None and raw.get(tagged[0]) not in tagged[1]:
            tag, names = tagged  # a tagged union (``dist = "exponential"``) named no member
            known = ", ".join(sorted(names))
            if tag in raw:
                value = raw[tag]
                out.append(f"{key_path(path, tag)}: unknown value {value!r}; known: {known}")
            else:
                out.append(f"{path}: missing required field {tag!r}; known: {known}")
        else:
            line = format_validation_error(err, path)
            out.append(_yaml_bool(line, raw) if yaml else line)


#: msgspec's line for a bool where a string (maybe optional) belongs
_STR_GOT_BOOL = re.compile(r"Expected [^,]*\bstr\b[^,]*, got bool$")


def _yaml_bool(line: str, raw: Any) -> str:
    """``line`` with the likely cause added when ``raw`` is a bool where a string belongs:
    YAML 1.1 (PyYAML) reads an unquoted ``yes``/``no``/``on``/``off`` as a boolean."""
    if type(raw) is bool and _STR_GOT_BOOL.search(line):
        return (
            f"{line} ({str(raw).lower()}): an unquoted yes, no, on, off, true or false "
            "is a YAML boolean: quote the string"
        )
    return line


def _choices(tp: Any) -> tuple[str, tuple[str, ...]] | None:
    """The names a string may take in ``tp`` (a ``Literal``, maybe in an ``Annotated`` with a
    ``Meta(title=...)`` naming what they are, maybe in a union), or None."""
    noun = "value"
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        for meta in args[1:]:
            if isinstance(meta, msgspec.Meta) and meta.title:
                noun = meta.title
        tp = args[0]
    origin = get_origin(tp)
    if origin is Literal:
        names = tuple(a for a in get_args(tp) if isinstance(a, str))
        return (noun, names) if names else None
    if origin is Union or origin is types.UnionType:
        for member in get_args(tp):
            found = _choices(member)
            if found is not None:
                return found
    return None


def _tags(tp: Any) -> tuple[str, tuple[str, ...]] | None:
    """The tag field and the tags of a tagged struct union in ``tp`` (maybe ``Annotated`` or
    optional), or None."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    members = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)
    field, tags = None, []
    for m in members:
        if isinstance(m, builtins.type) and issubclass(m, Struct):
            conf = m.__struct_config__
            if conf.tag_field is not None and isinstance(conf.tag, str):
                field = conf.tag_field
                tags.append(conf.tag)
    return (field, tuple(tags)) if field is not None else None


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


def _walk_struct(
    raw: dict[str, Any], st: builtins.type[Struct], path: str, out: list[str], yaml: bool
) -> None:
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
            _walk(raw[f.encode_name], f.type, key_path(path, f.encode_name), out, yaml)
        elif f.required:
            out.append(f"{path}: missing required field {f.encode_name!r}")
