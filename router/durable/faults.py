"""Fault injection: stop the serving process at a named point of a domain's cycle.

Theory of operation: the runner calls :func:`reached` at each crash point below.
It does nothing unless the environment variable ``ROUTER_DURABLE_FAULT`` is
``POINT:N`` (set by the tests on a ``python -m router serve`` process): then the
N-th *busy* time the process passes POINT (a batch with inputs, or outputs to
publish), it sends itself SIGSTOP. The test sees the process stopped (state
``T``) and either kills it (kill -9 at exactly that point) or lets its lease run
out, waits for another process to take the domain over, and resumes it (a pause
past the lease). An in-process hook (:func:`set_hook`) serves tests that drive a
runner by hand. ``ROUTER_DURABLE_POISON=ID`` (or :func:`set_poison`) makes the
submission of inquiry ``ID`` crash where it is applied, as a core bug would, to
exercise the dead-letter path (its batch is then half applied: isolation
starts again from the core as it was before the batch).
``TAG:ID`` poisons the input ``TAG`` (``accept``, ``complete``, ...) about inquiry
(or agent) ``ID`` instead; ``tick:ID`` makes the closing tick of a batch that
submits ``ID`` crash (the whole batch is dead then). Several specs may be
given, separated by commas.

Points, in the order a cycle passes them:

* ``recovering``: a new owner is part-way through replaying the log;
* ``after_read``: requests were read, nothing logged yet;
* ``commit_unacknowledged``: Redis ran the commit (outputs published, batch
  logged) but the owner has not read the reply (a lost reply, mid-pipeline);
* ``after_commit``: the batch is logged and acknowledged, not yet applied;
* ``after_apply``: the core applied the batch; its events are not published yet;
* ``after_snapshot``: a snapshot was stored (busy: it covered unpublished
  outputs); the next commit has not happened;
* ``after_isolation``: a batch crashed the core and the runner found the inputs
  that crash it (isolation computes, writes nothing); it has not recorded them;
* ``after_dead_letter``: a batch that crashed the core was dead-lettered, the
  core not yet rebuilt.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

__all__ = [
    "POINTS",
    "InjectedFault",
    "check_tick",
    "item_check",
    "reached",
    "set_hook",
    "set_poison",
]

POINTS = (
    "recovering",
    "after_read",
    "commit_unacknowledged",
    "after_commit",
    "after_apply",
    "after_snapshot",
    "after_isolation",
    "after_dead_letter",
)

_hook: Callable[[str], None] | None = None
_armed: tuple[str, int] | None = None
_hits = 0


def _parse(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    point, _, n = spec.partition(":")
    if point not in POINTS:
        raise ValueError(f"ROUTER_DURABLE_FAULT: unknown point {point!r} (one of {POINTS})")
    return point, int(n or 1)


_armed = _parse(os.environ.get("ROUTER_DURABLE_FAULT"))


class InjectedFault(RuntimeError):
    """The crash a poisoned input (or tick) raises in place of a bug in the core."""


def _parse_poison(spec: str | None) -> frozenset[tuple[str, str]]:
    """``ID`` / ``TAG:ID`` / ``tick:ID``, comma-separated, as (tag, id) pairs."""
    out: set[tuple[str, str]] = set()
    for part in (spec or "").split(","):
        if not part:
            continue
        tag, sep, ident = part.rpartition(":")
        out.add((tag if sep else "submit", ident))
    return frozenset(out)


_poison = _parse_poison(os.environ.get("ROUTER_DURABLE_POISON"))


def set_poison(spec: str | None) -> None:
    """Poison inputs as ``ROUTER_DURABLE_POISON`` does (None: no poison)."""
    global _poison
    _poison = _parse_poison(spec)


def _about(inp: Any) -> str | None:
    # wire.input_ref's lookup, repeated: wire imports this module (the layers form a DAG)
    for attr in ("inquiry_id", "agent_id"):
        value = getattr(inp, attr, None)
        if isinstance(value, str):
            return value
    for attr in ("inquiry", "agent"):
        value = getattr(getattr(inp, attr, None), "id", None)
        if isinstance(value, str):
            return value
    return None


def _check_item(request: Any) -> None:
    inp = request.input
    if (type(inp).__struct_config__.tag, _about(inp)) in _poison:
        raise InjectedFault(f"injected fault: {type(inp).__struct_config__.tag} {_about(inp)!r}")


def item_check() -> Callable[[Any], None] | None:
    """What :func:`~router.durable.wire.run_batch` calls before applying each request
    (raises :class:`InjectedFault` for a poisoned one); None when nothing is poisoned."""
    return _check_item if _poison else None


def check_tick(batch: Any) -> None:
    """Raise :class:`InjectedFault` at the tick of a batch that submits a ``tick:ID`` inquiry."""
    for request in batch.items:
        inquiry = getattr(request.input, "inquiry", None)
        if inquiry is not None and ("tick", inquiry.id) in _poison:
            raise InjectedFault(f"injected fault: the tick of a batch that submits {inquiry.id!r}")


def set_hook(hook: Callable[[str], None] | None) -> None:
    """Call ``hook(point)`` at every busy point (tests in the same process)."""
    global _hook
    _hook = hook


def reached(point: str, busy: bool = True) -> None:
    """Mark that the runner passed ``point``; stop here if the fault is armed for it."""
    global _hits, _armed
    if not busy:
        return
    if _hook is not None:
        _hook(point)
    if _armed is None or _armed[0] != point:
        return
    _hits += 1
    if _hits >= _armed[1]:
        _armed = None  # fire once: after SIGCONT the process carries on normally
        os.kill(os.getpid(), signal.SIGSTOP)
