"""The deadline heap sheds the entries of offers that ended, and nothing else changes.

``Router._compact_deadlines`` drops the deadline entries that can never fire (an
accepted, declined, withdrawn or rescinded offer's expiry; any entry of an inquiry or
agent that left) once the spent offer entries outnumber the rest. These tests drive
two routers with the same seeded inputs, one compacted and one not, and require the
same events, the same ``next_deadline()``, the same live deadlines fired in the same
order and byte-identical snapshots, before and after a restore.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router, UsageError
from router.core import K_OFFER
from router.state import codec
from tests.helpers import config

CONFIG = """
[routing]
mode = "offer"
offer_timeout_s = 20
max_no_answer = 3
presence_timeout_s = 400
[[queues]]
name = "chat"
channel = "chat"
requires = { chat = 1 }
[[queues]]
name = "voice"
channel = "voice"
requires = { voice = 2 }
steps = [{ after_s = 15, requires = { voice = 1 } }]
"""

PURE = inspect.isfunction(Router._compact_deadlines)


def _agent(i: int, chat: int) -> AgentSpec:
    return AgentSpec(
        id=f"ag{i}",
        skills={"chat": 1, "voice": 1 + i % 2},
        capacity={"voice": 1, "chat": chat},
        wrap_up_s=float(i % 3) * 5.0,
    )


class Drive:
    """The same seeded inputs into several routers, in lockstep, each result compared.

    Offers are answered at once (most accepted, some declined, some left to expire),
    inquiries completed and withdrawn at random, agents send heartbeats or log out."""

    def __init__(self, routers: list[Router], seed: int) -> None:
        self.routers = routers
        self.rng = random.Random(seed)
        self.now = 0.0
        self.n = 0
        self.held: list[str] = []
        self.live: list[str] = []
        self.agents: list[str] = []

    def call(self, name: str, *args: Any) -> None:
        """``name(*args, now)`` on every router: the same result or the same refusal."""
        outcomes: list[str] = []
        for r in self.routers:
            try:
                getattr(r, name)(*args, self.now)
                outcomes.append("ok")
            except UsageError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
        assert outcomes.count(outcomes[0]) == len(outcomes), (name, args, outcomes)

    def tick(self) -> list[Any]:
        batches = [r.tick(self.now) for r in self.routers]
        for other in batches[1:]:
            assert other == batches[0], f"events differ at {self.now}"
        nexts = [r.next_deadline() for r in self.routers]
        assert nexts.count(nexts[0]) == len(nexts), f"next_deadline {nexts} at {self.now}"
        for e in batches[0]:
            kind = type(e).__name__
            if kind == "Offered":
                u = self.rng.random()
                if u < 0.8:
                    self.call("accept", e.inquiry_id)
                    self.held.append(e.inquiry_id)
                elif u < 0.9:
                    self.call("decline", e.inquiry_id)
            elif kind in ("Abandoned", "Withdrawn", "Completed") and e.inquiry_id in self.live:
                self.live.remove(e.inquiry_id)
        return batches[0]

    def login(self, k: int, chat: int = 3) -> None:
        for _ in range(k):
            spec = _agent(len(self.agents), chat)
            self.agents.append(spec.id)
            self.call("login", spec)

    def submit(self, k: int, queue: str | None = None) -> None:
        """``k`` arrivals; with a ``queue``, there and without patience."""
        for _ in range(k):
            self.n += 1
            iid = f"i{self.n}"
            if queue is None:
                patience = self.rng.choice([None, 25.0, 90.0, 600.0])
                iq = Inquiry(id=iid, queue=self.rng.choice(["chat", "voice"]), patience_s=patience)
            else:
                iq = Inquiry(id=iid, queue=queue)
            self.call("submit", iq)
            self.live.append(iid)

    def step(self) -> None:
        """One random input at a later time, then a tick."""
        self.now += self.rng.choice([0.0, 0.5, 2.0, 7.0, 19.0])
        u = self.rng.random()
        if u < 0.4:
            self.submit(1)
        elif u < 0.6 and self.held:
            self.call("complete", self.held.pop(self.rng.randrange(len(self.held))))
        elif u < 0.67 and self.live:
            self.call("withdraw", self.rng.choice(self.live))
        elif u < 0.78 and self.agents:
            self.call("heartbeat", self.rng.choice(self.agents))
        elif u < 0.85 and self.agents:
            self.call("set_ready", self.rng.choice(self.agents))  # back after no answers
        elif u < 0.88 and self.agents:
            self.call("logout", self.agents.pop(self.rng.randrange(len(self.agents))))
        elif u < 0.91:
            self.login(1)
        self.tick()


def _spent(r: Router) -> list[tuple[float, int, int, Any, int]]:
    return [e for e in r._deadline_entries() if r._deadline_spent(e[2], e[3], e[4], e[1])]


def test_compacting_at_any_step_changes_nothing() -> None:
    """A router compacted after every input against one left to itself: the same events,
    next deadlines and snapshot bytes; the compacted heap holds no spent entry."""
    cfg = config(CONFIG)
    plain, compacted = Router(cfg), Router(cfg)
    drive = Drive([plain, compacted], seed=5)
    drive.login(12)
    drive.submit(40)
    drive.tick()
    dropped = 0
    for i in range(600):
        drive.step()
        dropped += len(_spent(compacted))
        compacted._compact_deadlines()
        assert not _spent(compacted)
        assert compacted._offer_entries == compacted._n_offered
        if i % 50 == 0:
            assert plain.snapshot() == compacted.snapshot()
    assert dropped > 150, "the drive ended too few offers to test compaction"
    assert plain.snapshot() == compacted.snapshot()


Fired = Callable[[Router], list[tuple[float, int, str, int]]]


@contextlib.contextmanager
def recording_fires() -> Iterator[Fired]:
    """Records the live deadlines each router fires, in order (pure build only)."""
    log: dict[int, list[tuple[float, int, str, int]]] = {}
    fire = Router._fire

    def recording(self: Router, kind: int, obj: Any, arg: int, seq: int) -> None:
        if self._deadline_live(kind, obj, arg, self._now, seq):
            log.setdefault(id(self), []).append((self._now, kind, self._entry_id(kind, obj), arg))
        fire(self, kind, obj, arg, seq)

    mp = pytest.MonkeyPatch()
    mp.setattr(Router, "_fire", recording)
    try:
        yield lambda r: log.get(id(r), [])
    finally:
        mp.undo()


def _uncompacted(cfg: Any) -> Router:
    """A router whose heap is never compacted: the reference (a subclass, pure build)."""

    class Reference(Router):
        def _compact_offer_line(self) -> bool:
            return True  # (nothing dropped, and the heap's half not called either)

        def _compact_deadlines(self) -> None:
            pass

    return Reference(cfg)


@pytest.mark.skipif(not PURE, reason="the reference subclasses Router: the compiled one is final")
def test_accepted_offers_do_not_bloat_the_heap_and_deadlines_fire_alike() -> None:
    """A burst of accepted offers (each leaves a spent expiry behind) against a heap
    never compacted: the compacted one stays within twice its other entries plus 64,
    and both fire the same live deadlines in the same order, through a restore."""
    with recording_fires() as fired:
        _bloat_and_compare(fired)


def _bloat_and_compare(fired: Fired) -> None:
    cfg = config(CONFIG)
    ref, r = _uncompacted(cfg), Router(cfg)
    drive = Drive([ref, r], seed=11)
    drive.login(60, chat=20)
    # 40 voice inquiries for the 30 agents at level 2: 10 wait for their relaxation step,
    # a live deadline ahead of the offers' expiries (else next_deadline() pops those)
    drive.submit(40, queue="voice")
    drive.submit(1200, queue="chat")
    # from here on, 19 offers in 20 are accepted, the 20th left to expire...
    drive.rng.random = itertools.cycle([0.0] * 19 + [0.95]).__next__
    drive.tick()
    assert len(drive.held) == 1230 - 1230 // 20
    assert len(_spent(ref)) == ref._offer_entries - ref._n_offered == len(drive.held)
    assert ref._n_offered == r._n_offered == 1230 // 20  # pending through the compaction
    assert ref.next_deadline() == 15.0
    drive.rng = random.Random(3)  # ...then answers at random again
    drive.now += 1.0
    drive.tick()  # the next input compacts
    assert len(ref._deadline_entries()) > 1200 > 300 > len(r._deadline_entries())
    assert len(r._deadline_entries()) <= 2 * (len(r._deadline_entries()) - len(_spent(r))) + 64
    assert ref.snapshot() == r.snapshot()
    for _ in range(400):
        drive.step()
        n = len(r._deadline_entries())
        spent = r._offer_entries - r._n_offered
        assert n <= 2 * (n - spent) + 64 + 8, f"{n} entries, {spent} of them spent offers"
    assert len(fired(r)) > 300
    assert fired(r) == fired(ref)
    snap = r.snapshot()
    assert snap == ref.snapshot()
    # restored, both go on alike (the restored router starts from the snapshot's live entries)
    back = Router.restore(snap)
    assert back.snapshot() == snap
    assert back._offer_entries == back._n_offered
    before = len(fired(ref))
    drive.routers = [ref, r, back]
    for _ in range(300):
        drive.step()
    assert fired(back) == fired(ref)[before:] == fired(r)[len(fired(r)) - len(fired(back)) :]
    assert back.snapshot() == ref.snapshot() == r.snapshot()


def test_a_snapshot_with_spent_offer_entries_restores_and_counts_them() -> None:
    """Snapshots written before compaction existed hold the spent offers' entries: a
    restore counts them as spent, and the next snapshot leaves them out."""
    cfg = config(CONFIG)
    r = Router(cfg)
    drive = Drive([r], seed=2)
    drive.rng.random = lambda: 0.0
    drive.login(3)
    drive.submit(3, queue="chat")
    drive.tick()
    assert len(drive.held) == 3 and r._n_offered == 0
    clean = r.snapshot()
    snap = codec.decode(clean)
    assert not [d for d in snap.deadlines if d[2] == K_OFFER]
    old = [(r._now + 20.0, 1000 + k, K_OFFER, iid, 1) for k, iid in enumerate(drive.held)]
    data = codec.encode(msgspec.structs.replace(snap, deadlines=sorted(snap.deadlines + old)))
    back = Router.restore(data)
    assert back._offer_entries == 3 and back._n_offered == 0
    assert len(_spent(back)) == 3
    assert back.snapshot() == clean
    assert back.tick(r._now + 30.0) == r.tick(r._now + 30.0)


@pytest.mark.skipif(not PURE, reason="bench.deadline_heap counts pops in the pure core only")
def test_the_heap_probe_counts_no_spent_offer_pops_after_a_fill(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``python -m bench.deadline_heap``: the fill's accepted offers leave (nearly) nothing
    behind, and the figures it prints add up."""
    from bench.deadline_heap import main

    assert main(["--agents", "200", "--warmup", "0", "--n", "300"]) == 0
    out = capsys.readouterr().out
    fill = int(out.split("after the fill: ")[1].split(" entries")[0].replace(",", ""))
    busy = int(out.split(" agents, ")[1].split(" busy")[0].replace(",", ""))
    assert busy > 500 and fill < 70, out  # no more than 64 spent entries past the live ones
    assert "deadline entries popped per lifecycle: " in out


def test_a_shorter_offer_timeout_after_a_reconfigure_expires_in_time_order() -> None:
    """Offer expiries go to a line in time order beside the heap; one earlier than the
    line's last (the timeout shortened by a reconfigure) goes to the heap, and the two
    merge by ``(when, seq)``: each offer expires at its own time, through a snapshot."""
    cfg = config(CONFIG)
    r = Router(cfg)
    for i in range(3):
        r.login(_agent(i, 1), 0.0)
    r.submit(Inquiry(id="a", queue="chat"), 0.0)
    r.tick(0.0)  # a's offer expires at 20
    short = msgspec.structs.replace(
        cfg, routing=msgspec.structs.replace(cfg.routing, offer_timeout_s=5.0)
    )
    r.reconfigure(short, 1.0)
    r.submit(Inquiry(id="b", queue="chat"), 2.0)
    r.tick(2.0)  # b's at 7, before a's: to the heap
    r.submit(Inquiry(id="c", queue="chat"), 7.0)  # c's at 12 (b's fired first, at 7)
    assert len(r._deadlines) >= 1 and r._line_entries()
    back = Router.restore(r.snapshot())
    runs = []
    for router in (r, back):
        expired: list[tuple[float, str]] = []
        while (at := router.next_deadline()) is not None and at <= 30.0:
            events = router.tick(at)
            expired += [(e.at, e.inquiry_id) for e in events if type(e).__name__ == "OfferExpired"]
        runs.append(expired)
    expired = runs[0]
    assert runs[1] == expired
    assert [at for at, _ in expired] == sorted(at for at, _ in expired), expired
    first = {iid: at for at, iid in reversed(expired)}
    assert first == {"b": 7.0, "c": 12.0, "a": 20.0}, expired


def _margin(r: Router) -> int:
    """The compaction rule's margin (``Router._enter``: below 0, the input compacts)."""
    spent = r._offer_entries - r._n_offered
    return len(r._deadlines) + len(r._line_entries()) + 64 - 2 * spent


class _Checked(Drive):
    """A drive that checks ``_spent_room`` after every input and counts the compactions
    (an input after which the spent offer entries are fewer by more than 32)."""

    compactions = 0

    def _check(self, spent: list[int]) -> None:
        for r, before in zip(self.routers, spent):
            assert r._spent_room <= _margin(r), (r._spent_room, _margin(r))
            if r._offer_entries - r._n_offered < before - 32:
                self.compactions += 1

    def _spent(self) -> list[int]:
        return [r._offer_entries - r._n_offered for r in self.routers]

    def call(self, name: str, *args: Any) -> None:
        spent = self._spent()
        super().call(name, *args)
        self._check(spent)

    def tick(self) -> list[Any]:
        spent = self._spent()
        events = super().tick()  # (its accepts and declines are checked as calls)
        self._check(spent)
        return events


def test_the_spent_room_is_a_lower_bound_of_the_margin() -> None:
    """``Router._spent_room`` stands for the compaction rule, counted only once it ran out:
    after every input (offers accepted, declined and expired, completions, withdrawals,
    logouts, ``next_deadline`` drops, compactions, a restore) it is at most the margin, so
    the inputs that compact are those that would with the rule counted every time."""
    cfg = config(CONFIG)
    r = Router(cfg)
    drive = _Checked([r], seed=7)
    drive.login(40, chat=20)
    for i in range(1200):
        if i % 150 == 0:  # a burst of offers, 19 in 20 accepted: spent entries pile up
            drive.submit(300, queue="chat")
            random_ = drive.rng.random
            drive.rng.random = itertools.cycle([0.0] * 19 + [0.95]).__next__
            drive.tick()
            drive.rng.random = random_
        drive.step()
        if i == 700:
            r = Router.restore(r.snapshot())
            drive.routers = [r]
            drive._check([0])
    assert drive.compactions >= 4
