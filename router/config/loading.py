"""Loading a config: read a file, parse TOML/JSON/YAML, convert, check, in one pass.

Theory of operation: a file is parsed to plain data (:func:`parse_text`), then
converted in one msgspec call (the fast path). Only when that fails does the
walker (``router/config/problems.py``) report every schema problem; once the
schema is satisfied the semantic checks (``router/config/checks.py``) run.
:func:`load_config` / :func:`decode_config` / :func:`convert_config` raise
:class:`~router.errors.ConfigError` carrying every problem, one ``path:
message`` line each.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from router.config.checks import semantic_problems
from router.config.problems import structure_problems
from router.config.schema import RouterConfig
from router.config.summary import is_scenario, scenario_given
from router.errors import ConfigError

__all__ = [
    "SUFFIXES",
    "convert_config",
    "decode_config",
    "detect_format",
    "empty_problems",
    "load_config",
    "parse_text",
    "read_config_file",
    "unknown_suffix",
]

C = TypeVar("C", bound=RouterConfig)


#: A config file's suffix (in any case) -> its format; ``.tml`` and ``.yml`` are short spellings.
SUFFIXES = {".toml": "toml", ".tml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_KNOWN = f"{', '.join(list(SUFFIXES)[:-1])} or {list(SUFFIXES)[-1]}"


def unknown_suffix(where: str, suffix: str) -> ConfigError:
    """The one line for a file name whose suffix is no config format's."""
    what = f"unknown file type {suffix!r}" if suffix else "the file name has no suffix"
    return ConfigError([f"{where}: {what}; use {_KNOWN}"])


def detect_format(path: Path) -> str:
    """The format of a config file, from its suffix (:data:`SUFFIXES`)."""
    suffix = path.suffix.lower()
    fmt = SUFFIXES.get(suffix)
    if fmt is None:
        raise unknown_suffix("$", suffix)
    return fmt


def parse_text(data: bytes | str, fmt: str = "toml") -> Any:
    """Parse TOML/JSON/YAML text into plain Python data; ConfigError (one line) if malformed.

    A leading UTF-8 byte order mark (Notepad's) is skipped, as YAML already does.
    """
    if isinstance(data, bytes):
        data = data.removeprefix(b"\xef\xbb\xbf")
    elif isinstance(data, str):
        data = data.removeprefix("\ufeff")
    else:
        raise ConfigError([f"$: expected the text of a config, got {type(data).__name__}"])
    try:
        if fmt == "toml":
            return msgspec.toml.decode(data)
        if fmt == "json":
            return msgspec.json.decode(data)
        if fmt == "yaml":
            try:
                import yaml  # noqa: F401  (msgspec.yaml needs PyYAML)
            except ImportError:
                hint = "pip install 'inquiry-router[yaml]'"
                raise ConfigError([f"$: YAML needs PyYAML: {hint}"]) from None
            return msgspec.yaml.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([_malformed(data, fmt, exc)]) from None
    except RecursionError:
        raise ConfigError([f"$: malformed {fmt.upper()}: nested too deeply"]) from None
    raise ConfigError([f"$: unknown format {fmt!r}"])


#: msgspec's JSON errors: "JSON is malformed: invalid character (byte 58)"
_JSON_AT = re.compile(r"^JSON is malformed: (.*) \(byte (\d+)\)$")


def _malformed(data: bytes | str, fmt: str, exc: Exception) -> str:
    """The one line for text that does not parse, said the way an editor would show it.

    Bytes that are not UTF-8 (a file saved as Latin-1 or GBK) are named as such
    whatever the format, and a JSON error's byte offset becomes a line and column.
    """
    if isinstance(data, bytes):
        try:
            data.decode()
        except UnicodeDecodeError as bad:
            at = bad.start
            where = _line_column(data, at)
            return (
                f"$: the file is not UTF-8 text: byte 0x{data[at]:02x} at {where}; save it as UTF-8"
            )
    msg = " ".join(str(exc).split())
    m = _JSON_AT.match(msg) if fmt == "json" else None
    if m is not None:
        raw = data.encode() if isinstance(data, str) else data
        msg = f"{m[1]} ({_line_column(raw, int(m[2]))})"
    return f"$: malformed {fmt.upper()}: {msg}"


def _line_column(data: bytes, offset: int) -> str:
    """``line L, column C`` (from 1; the column in characters) of a byte offset."""
    start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode(errors="replace")) + 1
    return f"line {line}, column {column}"


def empty_problems(raw: Any) -> list[str]:
    """An empty document (no table, no key) is an error, never a config of defaults."""
    if raw is None or raw == {}:
        return ["$: the config is empty: expected tables such as [routing] and [[queues]]"]
    return []


def read_config_file(path: str | Path) -> Any:
    """Read and parse a config file (format from its suffix); ConfigError on any failure."""
    if not isinstance(path, str | PathLike):
        raise ConfigError([f"$: expected a file path, got {type(path).__name__}"])
    p = Path(path)
    fmt = detect_format(p)  # first: a file of no known type is refused whether it exists or not
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"$: cannot read {p}: {exc.strerror or exc}"]) from None
    return parse_text(data, fmt)


def decode_config(data: bytes | str, fmt: str = "toml", type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Decode and validate config text; raise ConfigError listing every problem."""
    return convert_config(parse_text(data, fmt), type, fmt=fmt)


def convert_config(
    raw: Any,
    type: type[C] = RouterConfig,  # type: ignore[assignment]
    *,
    profile_tenants: bool = True,
    fmt: str | None = None,
) -> C:
    """Validate an already-parsed mapping into a config; raise ConfigError listing every problem.

    An empty document is refused first, then a scenario given for a plain router config
    (one line saying so); then schema problems (all of them); the semantic checks run
    once the schema is satisfied, with the documents' own (a profile's tenant no queue
    belongs to: ``router/config/checks.py``) unless ``profile_tenants`` is off (a durable
    log's entry, checked when it was logged: ``router/durable/wire.py``). Nesting too
    deep for the parsers or the walker is one line, never a RecursionError. ``fmt``: the
    format ``raw`` was parsed from, when it was (a YAML one's bool where a string belongs
    says it may be an unquoted ``yes``: :func:`~router.config.problems.structure_problems`).
    """
    problems = empty_problems(raw)
    if problems:
        raise ConfigError(problems)
    if type is RouterConfig and is_scenario(raw):  # a scenario where a router config belongs
        raise ConfigError([scenario_given(raw)])
    try:
        try:
            cfg = msgspec.convert(raw, type)
        except msgspec.ValidationError:
            raise ConfigError(structure_problems(raw, type, fmt=fmt)) from None
        problems = semantic_problems(cfg, profile_tenants=profile_tenants)
    except RecursionError:  # the parsers refuse deep nesting; this is the safety net
        raise ConfigError(["$: nested too deeply"]) from None
    if problems:
        raise ConfigError(problems)
    return cfg


def load_config(path: str | Path, type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Read a TOML, JSON or YAML file into a validated config."""
    raw = read_config_file(path)
    return convert_config(raw, type, fmt=detect_format(Path(path)))
