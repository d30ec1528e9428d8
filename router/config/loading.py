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

from pathlib import Path
from typing import Any, TypeVar

import msgspec

from router.config.checks import semantic_problems
from router.config.problems import structure_problems
from router.config.schema import RouterConfig
from router.errors import ConfigError

__all__ = [
    "convert_config",
    "decode_config",
    "detect_format",
    "empty_problems",
    "load_config",
    "parse_text",
    "read_config_file",
]

C = TypeVar("C", bound=RouterConfig)


def detect_format(path: Path) -> str:
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
                hint = "pip install 'inquiry-router[yaml]'"
                raise ConfigError([f"$: YAML needs PyYAML: {hint}"]) from None
            return msgspec.yaml.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        msg = " ".join(str(exc).split())
        raise ConfigError([f"$: malformed {fmt.upper()}: {msg}"]) from None
    except RecursionError:
        raise ConfigError([f"$: malformed {fmt.upper()}: nested too deeply"]) from None
    raise ConfigError([f"$: unknown format {fmt!r}"])


def empty_problems(raw: Any) -> list[str]:
    """An empty document (no table, no key) is an error, never a config of defaults."""
    if raw is None or raw == {}:
        return ["$: the config is empty: expected tables such as [routing] and [[queues]]"]
    return []


def read_config_file(path: str | Path) -> Any:
    """Read and parse a config file (format from its suffix); ConfigError on any failure."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"$: cannot read {p}: {exc.strerror or exc}"]) from None
    return parse_text(data, detect_format(p))


def decode_config(data: bytes | str, fmt: str = "toml", type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Decode and validate config text; raise ConfigError listing every problem."""
    return convert_config(parse_text(data, fmt), type)


def convert_config(raw: Any, type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Validate an already-parsed mapping into a config; raise ConfigError listing every problem.

    An empty document is refused first; then schema problems (all of them); the
    semantic checks run once the schema is satisfied. Nesting too deep for the
    parsers or the walker is one line, never a RecursionError.
    """
    problems = empty_problems(raw)
    if problems:
        raise ConfigError(problems)
    try:
        try:
            cfg = msgspec.convert(raw, type)
        except msgspec.ValidationError:
            raise ConfigError(structure_problems(raw, type)) from None
        problems = semantic_problems(cfg)
    except RecursionError:  # the parsers refuse deep nesting; this is the safety net
        raise ConfigError(["$: nested too deeply"]) from None
    if problems:
        raise ConfigError(problems)
    return cfg


def load_config(path: str | Path, type: type[C] = RouterConfig) -> C:  # type: ignore[assignment]
    """Read a TOML, JSON or YAML file into a validated config."""
    return convert_config(read_config_file(path), type)
