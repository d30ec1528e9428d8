"""Error family.

A caller's mistake raises a :class:`UsageError` subclass and leaves the router
unchanged. Domain outcomes (rejected, expired, abandoned) are events, never
exceptions. Anything else is a bug: the core marks itself broken and every later
call raises :class:`RouterBroken`.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateId",
    "ImpossibleRequirement",
    "InvalidInput",
    "InvalidState",
    "RouterBroken",
    "TimeWentBackwards",
    "UnknownId",
    "UsageError",
    "WouldBlock",
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
