"""Reload the router config when its file changes (for adapters and services).

Theory of operation: :class:`ConfigWatcher` is synchronous and loop-agnostic;
an adapter calls :meth:`ConfigWatcher.poll` every few seconds (from trio,
asyncio or a thread) or runs :func:`watch` with its loop's ``sleep``. A poll
costs one ``stat``. When the file's ``(inode, mtime_ns, size)`` changed, or
the last read was "racy" (the file was modified within ``racy_s`` of being
read, so a same-size rewrite in the same timestamp tick could hide), the file
is read and hashed; identical bytes are ignored.

Only a *complete, stable* file is considered: new bytes are applied when the
next poll finds the same bytes and the same ``stat`` (nobody is still writing),
or at once when the file was replaced atomically (renamed over the old one: a
new inode where the old file was). An editor caught mid-save, a truncated or
half-written file is therefore never applied; if it is still there on the
next poll it is judged like any file. Then the bytes are parsed and validated
exactly like ``python -m router check``; an empty file (no settings at all) is
refused; with ``waiting`` given, a file that drops a queue with inquiries
waiting is refused unless the queue in force says where they go
(``on_remove``). Only then does the config reach ``on_change`` (typically
``router.reconfigure``), and if that raises :class:`~router.errors.ConfigError`
(or any other :class:`~router.errors.UsageError`: the router refused it) the config
counts as rejected too. A rejected, unreadable or vanished file
changes nothing: the previous config stays in force, the problems go to
``on_error`` once per distinct content, and polling goes on, so the fix is
picked up on the next save. An accepted version's warnings (``router check``'s:
settings that do nothing, ``router/config/warnings.py``) never refuse it: they
are kept in ``warnings`` and go to ``on_warning``. This module imports no event loop.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from router.config import RouterConfig, config_warnings, convert_config, detect_format, parse_text
from router.errors import ConfigError, UsageError
from router.stats import QueueHolds

__all__ = ["ConfigWatcher", "watch"]

C = TypeVar("C", bound=RouterConfig)


class ConfigWatcher(Generic[C]):
    """Polls one config file; hands each new valid version to ``on_change``.

    ``on_change(config)`` is called with every new valid config, in order; it
    may raise :class:`ConfigError` (or any ``UsageError``) to refuse it. ``on_error(problems)`` is
    called with the problem lines of each rejected version (once per distinct
    file content). ``waiting(queue)`` (e.g. ``router.queue_holdings``: the line, callbacks
    between attempts, held outbound tasks, each named in the refusal; or any count, such
    as ``router.queue_holds``) lets the watcher refuse a file that would drop a queue
    while it holds work,
    unless that queue's ``on_remove`` (in the config in force) names a queue
    the new file keeps. ``config`` is the last accepted config, ``problems``
    the last rejection's lines (empty once a valid version is accepted).
    ``warnings`` are the accepted version's warning lines (settings that do nothing;
    they never refuse it), also given to ``on_warning(lines)`` when there are any.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        on_change: Callable[[C], object] | None = None,
        on_error: Callable[[list[str]], object] | None = None,
        on_warning: Callable[[list[str]], object] | None = None,
        waiting: Callable[[str], int | QueueHolds] | None = None,
        type: type[C] = RouterConfig,  # type: ignore[assignment]
        racy_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.on_change = on_change
        self.on_error = on_error
        self.on_warning = on_warning
        self.waiting = waiting
        self.type = type
        self.racy_s = racy_s
        self.clock = clock
        self.config: C | None = None
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.loads = 0  # accepted versions
        self.rejections = 0  # rejected versions
        self._stat: tuple[int, int, int] | None = None
        self._digest: bytes | None = None
        self._racy = True
        self._missing = False
        #: new bytes seen once, with the stat they had: applied if the next poll agrees
        self._pending: tuple[bytes, tuple[int, int, int]] | None = None

    def load(self) -> C:
        """Load the file now, strictly: raise ConfigError instead of reporting it.

        Use it once at start-up, before the router exists; it does not call
        ``on_change``.
        """
        stat = self._stat_now()
        data = self._read()
        cfg = self._validate(data)
        self._accept(stat, data, cfg)
        return cfg

    def poll(self) -> C | None:
        """Check the file once; returns the new config if one was accepted, else None.

        New bytes are applied on the poll after the one that first saw them if they are
        unchanged (same bytes, same stat), or at once if the file was replaced atomically.
        """
        try:
            stat = self._stat_now()
        except ConfigError as exc:
            self._pending = None
            if not self._missing:  # report a vanished file once, until it is back
                self._missing = True
                self._stat = None
                self._reject(exc.problems)
            return None
        self._missing = False
        if stat == self._stat and not self._racy and self._pending is None:
            return None
        try:
            data = self._read()
        except ConfigError as exc:
            # read again while racy (it may become readable without a new stat), but the
            # same unreadable file (same stat, same problems) is reported once
            again = stat == self._stat and exc.problems == self.problems
            self._stat = stat
            self._pending = None
            if not again:
                self._reject(exc.problems)
            return None
        # renamed over the file we knew (a new inode where it was): complete by construction
        atomic = self._stat is not None and stat[0] != self._stat[0]
        self._racy = stat[1] >= (self.clock() - self.racy_s) * 1e9
        self._stat = stat
        digest = hashlib.sha256(data).digest()
        if digest == self._digest:  # the version in force, or the last one refused
            self._pending = None
            return None
        if not atomic and self._pending != (digest, stat):
            self._pending = (digest, stat)  # maybe still being written: look again next poll
            return None
        self._pending = None
        self._digest = digest
        try:
            cfg = self._validate(data)
            problems = self._dropped_work(cfg)
            if problems:
                raise ConfigError(problems)
            if self.on_change is not None:
                self.on_change(cfg)
        except ConfigError as exc:
            self._reject(exc.problems)
            return None
        except UsageError as exc:  # refused otherwise (TimeWentBackwards: the caller's clock)
            self._reject([f"$: the router refused the new config: {exc}"])
            return None
        self._accept(stat, data, cfg)
        return cfg

    # ------------------------------------------------------------------ helpers

    def _stat_now(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise ConfigError([f"$: cannot read {self.path}: {exc.strerror or exc}"]) from None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise ConfigError([f"$: cannot read {self.path}: {exc.strerror or exc}"]) from None

    def _validate(self, data: bytes) -> C:
        raw: Any = _parse(self.path, data)
        if not raw:  # an empty file (or only comments) parses to nothing: never a config
            raise ConfigError([f"$: {self.path} is empty; the config in force stays"])
        return convert_config(raw, self.type, fmt=detect_format(self.path))

    def _dropped_work(self, cfg: C) -> list[str]:
        """Queues the new config drops while they hold work, with nowhere to go."""
        if self.waiting is None or self.config is None:
            return []
        keep = set(cfg.queue_names())
        out = []
        for q in self.config.queues:
            if q.name in keep or (q.on_remove is not None and q.on_remove in keep):
                continue
            held = self.waiting(q.name)
            if isinstance(held, QueueHolds):
                what = held.describe() if held.total > 0 else ""
            else:
                what = f"{held} {'inquiry' if held == 1 else 'inquiries'}" if held > 0 else ""
            if what:
                out.append(
                    f"$.queues: the new file drops queue {q.name!r} while it holds {what}; "
                    "keep it, or first give it on_remove = a queue the new file keeps"
                )
        return out

    def _accept(self, stat: tuple[int, int, int], data: bytes, cfg: C) -> None:
        self._stat = stat
        self._digest = hashlib.sha256(data).digest()
        self._racy = stat[1] >= (self.clock() - self.racy_s) * 1e9
        self.config = cfg
        self.problems = []
        self.loads += 1
        self.warnings = config_warnings(cfg)
        if self.warnings and self.on_warning is not None:
            self.on_warning(list(self.warnings))

    def _reject(self, problems: list[str]) -> None:
        self.problems = list(problems)
        self.rejections += 1
        if self.on_error is not None:
            self.on_error(self.problems)


def _parse(path: Path, data: bytes) -> Any:
    return parse_text(data, detect_format(path))


async def watch(
    watcher: ConfigWatcher[Any],
    sleep: Callable[[float], Awaitable[object]],
    interval_s: float = 2.0,
) -> None:
    """Poll forever, sleeping with the caller's loop: ``await watch(w, trio.sleep)``.

    Works under trio and asyncio alike (pass ``asyncio.sleep``); cancel the task
    to stop it. Errors are reported through ``on_error``, never raised.
    """
    while True:
        watcher.poll()
        await sleep(interval_s)
