"""Error family.

A caller's mistake raises a :class:`UsageError` subclass and leaves the router
unchanged. Domain outcomes (rejected, expired, abandoned) are events, never
exceptions. Anything else is a bug: the core marks itself broken and every later
call raises :class:`RouterBroken`.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

T = TypeVar("T")

__all__ = [
    "ConfigError",
    "DuplicateId",
    "ImpossibleRequirement",
    "InvalidInput",
    "InvalidMessage",
    "InvalidSnapshot",
    "InvalidState",
    "RouterBroken",
    "TimeWentBackwards",
    "UnknownId",
    "UsageError",
    "WouldBlock",
    "read_message",
]


class UsageError(Exception):
    """The caller asked for something invalid; nothing was changed."""


class UnknownId(UsageError, KeyError):
    """An inquiry, agent or queue id the router does not know."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DuplicateId(UsageError):
    """An id that is already in use."""


class TimeWentBackwards(UsageError):
    """An input carried a ``now`` earlier than one already seen."""


class InvalidState(UsageError):
    """The input does not fit the current state (e.g. accepting an inquiry never offered)."""


class InvalidInput(UsageError):
    """A malformed input value. ``field`` names it (``patience_s``, ``capacity.chat``);
    the message is ``field: problem``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class InvalidMessage(InvalidInput, msgspec.ValidationError):
    """A message ``decode_input`` (or ``decode_events``) cannot read: ``field`` is msgspec's
    path (``$.inquiry.patience_s``), or ``data`` when it is not bytes or str. Also a
    ``msgspec.ValidationError`` (a ``ValueError``), which these decoders raised before."""

    @classmethod
    def of(cls, exc: msgspec.MsgspecError) -> InvalidMessage:
        """msgspec's ``Expected `int` - at `$.a``` as field ``$.a``, problem ``Expected int``
        (a dict's key: ``$.requires``, ``Expected str of length >= 1 (a key)``)."""
        text = str(exc)
        problem, at, path = text.rpartition(" - at `")
        path = path[:-1] if at else "$"
        inner, key, path = path.rpartition("` in `")  # a dict's key: "key` in `$.requires"
        problem = " ".join((problem if at else text).replace("`", "").split())
        return cls(path, f"{problem} (a {inner})" if key else problem)


def read_message(decoder: msgspec.json.Decoder[T], data: object) -> T:
    """``decoder.decode(data)`` for ``decode_input`` and ``decode_events``: data that is not
    bytes or str, or that the decoder cannot read, raises :class:`InvalidMessage`."""
    if not isinstance(data, bytes | bytearray | memoryview | str):
        raise InvalidMessage("data", f"must be bytes or str, got {type(data).__name__}")
    try:
        return decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise InvalidMessage.of(exc) from None


class InvalidSnapshot(UsageError, ValueError):
    """Bytes :meth:`Router.restore` cannot rebuild a router from: not bytes, truncated, not
    a snapshot, another format, a config or a record that does not hold. The message says
    which, with msgspec's path where there is one. A ``ValueError`` as msgspec's errors,
    which ``restore`` raised before, are."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"snapshot: {problem}")
        self.problem = problem


class ImpossibleRequirement(UsageError):
    """Strict mode: no logged-in or configured agent could ever serve this inquiry."""


class ConfigError(UsageError):
    """A config that fails validation. ``problems`` holds one ``path: message`` line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class WouldBlock(Exception):
    """``*_nowait`` could not proceed without waiting (trio's naming)."""


class RouterBroken(Exception):
    """An internal invariant failed earlier; the instance refuses further inputs."""
