"""The file-watching reload helper: only valid configs reach the router."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
import trio

from router import AgentSpec, ConfigError, Inquiry, Router, RouterConfig
from router.reload import ConfigWatcher, watch

V1 = '[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\n'
V2 = V1 + '[[queues]]\nname = "b"\nchannel = "chat"\n'


class Recorder:
    def __init__(self) -> None:
        self.errors: list[list[str]] = []

    def __call__(self, problems: list[str]) -> None:
        self.errors.append(problems)


def setup(
    tmp_path: Path, text: str = V1, *, guard: bool = False
) -> tuple[Path, Router, ConfigWatcher, Recorder]:
    """A router reconfigured by a watcher; ``guard``: the watcher knows what waits."""
    path = tmp_path / "router.toml"
    path.write_text(text)
    errors = Recorder()
    router: list[Router] = []
    w: ConfigWatcher = ConfigWatcher(
        path,
        on_change=lambda cfg: router[0].reconfigure(cfg, router[0].now),
        on_error=errors,
        waiting=(lambda q: router[0].queue_length(q)) if guard else None,
        clock=lambda: 1e12,  # far after any mtime: no read is racy
    )
    router.append(Router(w.load()))
    return path, router[0], w, errors


def rewrite(path: Path, text: str) -> None:
    """Write new content in place with a new mtime (as an editor saving the file would)."""
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def replace_atomically(path: Path, text: str) -> None:
    """Write a temporary file and rename it over ``path`` (a new inode, complete at once)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def settle(w: ConfigWatcher) -> object:
    """Two polls: the first sees new bytes, the second finds them unchanged and acts."""
    assert w.poll() is None
    return w.poll()


def test_load_is_strict(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    path.write_text("[routing]\nweights = { load = -1 }")
    with pytest.raises(ConfigError, match=r"^\$\.routing\.weights\.load: Expected float >= 0\.0$"):
        ConfigWatcher(path).load()


def test_unchanged_file_is_not_reread(tmp_path: Path) -> None:
    _, r, w, errors = setup(tmp_path)
    assert w.poll() is None
    assert w.poll() is None
    assert (w.loads, r.version, errors.errors) == (1, 1, [])


def test_valid_change_reconfigures_the_router(tmp_path: Path) -> None:
    path, r, w, _ = setup(tmp_path)
    rewrite(path, V2)
    assert w.poll() is None and r.version == 1  # seen once: maybe still being written
    cfg = w.poll()
    assert cfg is not None and cfg.queue_names() == ["a", "b"]
    assert r.version == 2
    assert w.config is cfg and w.loads == 2
    assert w.poll() is None  # nothing new


def test_same_bytes_with_a_new_mtime_are_ignored(tmp_path: Path) -> None:
    path, r, w, _ = setup(tmp_path)
    rewrite(path, V1)
    assert w.poll() is None
    assert r.version == 1


def test_invalid_change_changes_nothing_and_is_reported_once(tmp_path: Path) -> None:
    path, r, w, errors = setup(tmp_path)
    r.login(AgentSpec(id="x"), 0)
    r.submit(Inquiry(id="i1", queue="a"), 0)
    r.tick(0)
    before = r.snapshot()
    rewrite(path, V1 + 'name = "dup"\n')
    assert settle(w) is None
    assert w.poll() is None
    assert len(errors.errors) == 1 and len(errors.errors[0]) == 1
    assert re.match(
        r"^\$: malformed TOML: Cannot overwrite a value \(at line 5, column \d+\)$",
        errors.errors[0][0],
    )
    assert w.problems == errors.errors[0]
    assert r.snapshot() == before
    assert w.config is not None and w.config.queue_names() == ["a"]
    rewrite(path, V1 + '[[queues]]\nname = "a"\n')
    assert settle(w) is None
    assert errors.errors[1] == ["$.queues[1].name: duplicate queue name 'a' (also $.queues[0])"]
    assert r.snapshot() == before
    rewrite(path, V2)  # the fix is picked up on the next save
    assert settle(w) is not None
    assert (r.version, w.problems, w.rejections) == (2, [], 2)


def test_router_refusal_counts_as_rejection(tmp_path: Path) -> None:
    sms = V1 + "[channels.sms]\nmax_concurrency = 2\n"
    path, r, w, errors = setup(tmp_path, sms)
    r.login(AgentSpec(id="x", capacity={"sms": 2}), 0)
    r.tick(0)
    before = r.snapshot()
    rewrite(path, V1)  # valid on its own, but agent x still uses the sms channel
    assert settle(w) is None
    assert errors.errors == [
        ["$.channels: agent 'x' uses channel 'sms', which the new config drops"]
    ]
    assert r.snapshot() == before
    assert w.config is not None and "sms" in w.config.channels


def test_hand_over_problem_from_the_router_is_reported(tmp_path: Path) -> None:
    text = V2.replace('name = "b"', 'name = "b"\non_remove = "a"')
    path, r, w, errors = setup(tmp_path, text)
    before = r.snapshot()
    # removing "a" and "b" at once: b's hand-over target a is gone
    rewrite(path, '[routing]\nmode = "immediate"\n[[queues]]\nname = "c"\n')
    assert settle(w) is None
    assert errors.errors == [["hand_over.b: target queue 'a' is not in the new config"]]
    assert r.snapshot() == before


def test_vanished_file_keeps_the_config_and_is_reported_once(tmp_path: Path) -> None:
    path, r, w, errors = setup(tmp_path)
    path.unlink()
    assert w.poll() is None
    assert w.poll() is None
    assert len(errors.errors) == 1
    assert errors.errors[0][0].startswith("$: cannot read ")
    assert errors.errors[0][0].endswith("router.toml: No such file or directory")
    path.write_text(V2)
    assert settle(w) is not None and r.version == 2


def test_racy_rewrite_with_same_size_and_mtime_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    path.write_text(V1)
    st = path.stat()
    now = [st.st_mtime_ns / 1e9]  # the clock says: this file was written just now
    w: ConfigWatcher = ConfigWatcher(path, clock=lambda: now[0])
    w.load()
    path.write_text(V1.replace('"a"', '"z"'))  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    cfg = settle(w)
    assert isinstance(cfg, RouterConfig) and cfg.queue_names() == ["z"]


def test_watch_under_asyncio_and_trio(tmp_path: Path) -> None:
    path, r, w, _ = setup(tmp_path)
    polls: list[int] = []
    rewrite(path, V2)  # seen by the first poll, applied by the second

    async def asleep(_: float) -> None:
        polls.append(1)
        if len(polls) == 2:
            rewrite(path, V1)
        if len(polls) == 4:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(watch(w, asleep, 0.01))
    assert r.version == 3

    replace_atomically(path, V2)  # applied by the first poll

    async def tsleep(_: float) -> None:
        await trio.lowlevel.checkpoint()
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match=r"^stop$"):
        trio.run(watch, w, tsleep, 0.01)
    assert r.version == 4


# ---------------------------------------------------------------- incomplete files


def waiting_router(tmp_path: Path, text: str) -> tuple[Path, Router, ConfigWatcher, Recorder]:
    """A guarding watcher and a router with five inquiries waiting in queue 'a' (no agent)."""
    path, r, w, errors = setup(tmp_path, text, guard=True)
    for i in range(5):
        r.submit(Inquiry(id=f"i{i}", queue="a"), 0)
    events = r.tick(0)
    assert [type(e).__name__ for e in events] == ["Queued"] * 5
    return path, r, w, errors


def test_half_written_file_is_never_applied(tmp_path: Path) -> None:
    full = V2 + '[[queues]]\nname = "c"\n'
    path, r, w, errors = waiting_router(tmp_path, full)
    before = r.snapshot()
    cut = full[: full.index("[[queues]]")]  # the editor has written [routing] only, so far
    rewrite(path, cut)
    assert w.poll() is None  # seen once
    rewrite(path, full + "# saved\n")  # the save completes before the next poll
    assert w.poll() is None and w.poll() is not None
    assert errors.errors == []  # the half-written state was never judged
    assert r.queue_length("a") == 5 and r.version == 2
    assert r.snapshot() != before  # the complete file was applied


def test_truncated_file_that_stays_is_refused_while_work_waits(tmp_path: Path) -> None:
    path, r, w, errors = waiting_router(tmp_path, V2)
    before = r.snapshot()
    rewrite(path, '[routing]\nmode = "immediate"\n')  # valid TOML, but every queue gone
    assert settle(w) is None
    assert errors.errors == [
        [
            "$.queues: the new file drops queue 'a' while it holds 5 inquiries; keep it, or "
            "first give it on_remove = a queue the new file keeps"
        ]
    ]
    assert r.snapshot() == before  # nobody rejected with queue_removed
    assert w.config is not None and w.config.queue_names() == ["a", "b"]


def test_a_queue_with_on_remove_may_be_dropped(tmp_path: Path) -> None:
    text = V2.replace('name = "a"', 'name = "a"\non_remove = "b"')
    path, r, w, errors = waiting_router(tmp_path, text)
    rewrite(path, '[routing]\nmode = "immediate"\n[[queues]]\nname = "b"\nchannel = "chat"\n')
    assert settle(w) is not None
    assert errors.errors == [] and r.queue_length("b") == 5


def test_empty_file_changes_nothing(tmp_path: Path) -> None:
    path, r, w, errors = waiting_router(tmp_path, V2)
    before = r.snapshot()
    for text in ("", "\n  \n", "# all commented out\n"):
        rewrite(path, text)
        assert settle(w) is None
    assert [len(e) for e in errors.errors] == [1, 1, 1]
    assert all(
        e[0].endswith("router.toml is empty; the config in force stays") for e in errors.errors
    )
    assert r.snapshot() == before and w.config is not None


def test_vanished_then_rewritten_in_place_waits_for_a_stable_file(tmp_path: Path) -> None:
    path, r, w, errors = waiting_router(tmp_path, V2)
    path.unlink()
    assert w.poll() is None and len(errors.errors) == 1
    path.write_text(V1)  # back, but a new file written in place: not atomic
    assert w.poll() is None and r.version == 1
    assert w.poll() is not None and r.version == 2  # same bytes on the next poll
    assert r.queue_length("a") == 5


def test_atomic_replace_applies_on_the_first_poll(tmp_path: Path) -> None:
    path, r, w, errors = waiting_router(tmp_path, V1)
    replace_atomically(path, V2)
    cfg = w.poll()
    assert cfg is not None and cfg.queue_names() == ["a", "b"] and r.version == 2
    replace_atomically(path, "")  # an atomic empty file is still refused
    assert w.poll() is None and r.version == 2 and len(errors.errors) == 1


class _Stop(Exception):
    """Ends a ``watch`` loop from its ``sleep``."""


def test_any_refusal_by_the_router_counts_as_rejection_and_watch_goes_on(tmp_path: Path) -> None:
    """``on_change`` refusing a valid file with another UsageError than ConfigError (here the
    caller's clock is behind the router's: TimeWentBackwards) is a rejection like any other:
    reported once, the config in force stays, and ``watch`` keeps polling (it raised out of
    ``poll`` and ended ``watch``, whose promise is never to raise)."""
    path = tmp_path / "router.toml"
    path.write_text(V1)
    errors = Recorder()
    r = Router(ConfigWatcher(path).load(), now=10.0)
    clock = [5.0]  # the caller's clock, behind the router's
    w: ConfigWatcher = ConfigWatcher(
        path,
        on_change=lambda cfg: r.reconfigure(cfg, clock[0]),
        on_error=errors,
        clock=lambda: 1e12,
    )
    w.load()
    before = r.snapshot()
    rewrite(path, V2)
    polls = 0

    async def sleep(_: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 3:
            clock[0] = 20.0  # the clock caught up: the next save is applied
            rewrite(path, V2 + "\n# saved again\n")
        if polls == 5:
            raise _Stop

    with pytest.raises(_Stop):
        asyncio.run(watch(w, sleep))
    assert errors.errors == [
        ["$: the router refused the new config: now=5.0 is earlier than the router's time 10.0"]
    ]
    assert w.rejections == 1 and w.loads == 2 and r.version == 2
    assert r.snapshot() != before and w.problems == []
