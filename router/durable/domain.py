"""One routing domain served from Redis: recovery, then the write-ahead loop.

Theory of operation: a :class:`DomainRunner` holds a lease token for its
domain and one core. ``recover`` loads the latest snapshot, replays every
logged batch after it through :func:`~router.durable.wire.replay_batch` (the
same function the live loop uses, so the rebuilt core is exactly the one the
previous owner had), renewing the lease as it goes, and queues for publication
the outputs of batches the previous owner logged but did not live to publish.
``run`` then repeats one cycle, a single pipelined round trip:

1. take the requests read so far, whole entries up to ``batch_items`` inputs,
   and stamp them with ``now = max(last now, clock)`` into one
   :class:`~router.durable.wire.Batch` (a pure tick when only a deadline is due);
2. send ``[COMMIT(outputs of the previous batch, this batch), XREAD next
   requests]``: the commit renews the lease and is refused unless the fence
   still equals our token;
3. only after the commit is acknowledged, apply the batch to the core and keep
   its events for the next commit.

Nothing the core decides is visible before the batch that caused it is in the
log, and an output entry names the batch it came from, so a new owner knows
exactly which outputs are missing. A snapshot publishes the pending outputs in
the same script that stores it, so no snapshot ever covers an unpublished
batch. When idle, the XREAD blocks until the next core deadline or lease
renewal. Any Redis error leaves the last write in doubt: the runner stops and
the server recovers the domain from the log again.

A batch that crashes the core (a bug: anything but a caller's mistake) is
*dead-lettered*, live or met during recovery: the runner rebuilds the core as
it was before the batch (snapshot plus replay, stopping there), finds the
inputs that crash it (:func:`~router.durable.wire.isolate_steps`: one by one,
one restore per crashing input, the lease renewed between steps as in the
replay) and records their indices and errors in the ``dead`` stream
(fenced; the whole batch when its tick crashes or it is the domain's first).
It then rebuilds the core from the log again: the replay runs the dead batch
without its crashing inputs, and queues its output entry (the served inputs'
events, the refusals, ``DeadLettered`` for the crashing ones) like any output
not yet published, so the live owner, a successor and the audit publish
byte-identical entries. One poison input costs only itself; the domain carries
on. A recorded batch whose replay crashes again (a crash that is not
reproducible, a core a deploy changed) is isolated again, the new entry
superseding the old; after two such records it is recorded whole, so recovery
never loops on it. The crash points of this cycle are named in
:mod:`router.durable.faults`.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from typing import Any

import msgspec
from redis.asyncio import Redis

from router.config import RouterConfig
from router.config.profiles import profile_agent
from router.core import Router
from router.durable import faults
from router.durable.log import Calls, DomainLog
from router.durable.wire import (
    Batch,
    DomainKeys,
    Invalid,
    Isolation,
    Output,
    Request,
    batch_output,
    decode_request,
    encode_batch,
    isolate_steps,
    replay_batch,
    run_batch,
    stream_id_key,
    submissions,
)
from router.inputs import Login
from router.stats import RouterStatistics

__all__ = ["BATCH_BUCKETS", "DomainOptions", "DomainRunner", "DomainStats", "agents_from_config"]

#: Upper bounds of the batch-size histogram (inputs per logged batch).
BATCH_BUCKETS = (0, 1, 10, 100, 1000, 5000, 20000)


class DomainOptions(msgspec.Struct, kw_only=True):
    """How a domain is served (``python -m router serve`` flags)."""

    lease_ms: int = 5000
    batch: int = 1000  # request entries per XREAD
    batch_items: int = 5000  # inputs per logged batch (whole entries; one big entry goes alone)
    snapshot_every_s: float = 5.0
    snapshot_every_batches: int = 10_000
    keep_log: bool = False
    dedupe_window_s: float = 600.0
    output_retention_s: float = 600.0  # without consumer groups; < 0 keeps every entry
    max_unprocessed: int = 100_000  # submissions not yet logged; 0 = no bound
    agents_from_config: bool = False
    prefix: str = "router"


class DomainStats(msgspec.Struct, kw_only=True):
    """Counters of one domain in this process (reported in the health hash and /metrics)."""

    token: int = 0
    batches: int = 0
    inputs: int = 0
    events: int = 0
    refusals: int = 0
    max_batch: int = 0
    batch_hist: list[int] = msgspec.field(default_factory=lambda: [0] * (len(BATCH_BUCKETS) + 1))
    snapshots: int = 0
    recovered_batches: int = 0
    recovery_renewals: int = 0
    isolation_renewals: int = 0  # lease renewals during dead-letter isolation walks
    republished: int = 0
    recovery_ms: float = 0.0
    dead_letters: int = 0  # dead batches
    dead_inputs: int = 0  # their inputs refused DeadLettered (all of a whole dead batch's)
    idem_trimmed: int = 0
    outputs_trimmed: int = 0
    acquired_at: float = 0.0
    now: float = 0.0
    lag_s: float = 0.0
    backlog: int = 0
    outputs_pending: dict[str, int] = {}
    waiting: int = 0
    offered: int = 0
    in_service: int = 0


def agents_from_config(config: RouterConfig, now: float) -> list[Request]:
    """Login requests for every agent the config's ``[[agents]]`` profiles describe.

    Ids are ``<profile name or p<index>>-<n>``, the team the profile name; ``shift_end_s``
    and shifts count from ``now``.
    """
    out: list[Request] = []
    for i, p in enumerate(config.agents):
        name = p.name or f"p{i}"
        for n in range(1, p.count + 1):
            out.append(Request(input=Login(agent=profile_agent(p, f"{name}-{n}", name, now))))
    return out


#: Records of one batch found by isolation; a batch that crashes again after that many
#: is recorded whole (see ``DomainRunner._dead_letter``).
_MAX_ISOLATIONS = 2


class _Poisoned(Exception):
    """A logged batch crashed the core during replay."""

    def __init__(self, batch_id: str, batch: Batch) -> None:
        self.batch_id = batch_id
        self.batch = batch


def _error(exc: BaseException) -> str:
    """A crash as a dead letter records it (and a ``DeadLettered`` refusal's message)."""
    return f"{type(exc).__name__}: {exc}"[:1000]


def _inputs(requests: list[tuple[str, list[Request], list[Invalid], int]]) -> int:
    return sum(len(good) + len(bad) for _, good, bad, _ in requests)


def _bucket(n: int) -> int:
    for i, bound in enumerate(BATCH_BUCKETS):
        if n <= bound:
            return i
    return len(BATCH_BUCKETS)


class DomainRunner:
    """Serve one domain while its lease token stays current. See the module docstring."""

    def __init__(
        self,
        client: Redis,
        domain: str,
        owner: str,
        config: RouterConfig,
        options: DomainOptions,
        *,
        clock: Callable[[], float] = time.time,
        on_dead_letter: Callable[[str, str, int, int], None] | None = None,
    ) -> None:
        self.client = client
        self.keys = DomainKeys(domain, options.prefix)
        self.domain = domain
        self.config = config
        self.options = options
        self.clock = clock
        self.on_dead_letter = on_dead_letter
        self.log = DomainLog(client, self.keys, owner, options.lease_ms)
        self.stats = DomainStats()
        self.core: Router | None = None
        self.head = ""  # id of the last logged batch
        self.cur = "0-0"  # last request id the log has consumed
        self.last_now = 0.0
        self.pending_out: list[Output] = []
        self.stopping = False
        self.renewed_at = 0.0  # monotonic time of the last acknowledged renewal
        # read, not yet logged: (request id, requests, undecodable ones, submissions)
        self._requests: list[tuple[str, list[Request], list[Invalid], int]] = []
        self._buffered = 0  # inputs in _requests
        self._read_cur = self.cur
        self._renew_every = options.lease_ms / 3000.0
        self._renew_at = 0.0
        self._snap_at = 0.0
        self._snap_batches = 0

    @property
    def token(self) -> int:
        return self.log.token

    async def acquire(self) -> bool:
        """Take the lease (a new fencing token) if it is free; load the scripts."""
        await self.log.load_scripts()
        token = await self.log.acquire(self.options.max_unprocessed)
        if token is None:
            return False
        self.adopt(token)
        return True

    def adopt(self, token: int) -> None:
        """Use a token acquired elsewhere (the server acquires many domains in one pipeline)."""
        self.log.token = token
        self.renewed_at = time.monotonic()
        self._renew_at = self.renewed_at + self._renew_every
        self.stats.token = token
        self.stats.acquired_at = time.time()

    def statistics(self) -> RouterStatistics | None:
        """The domain's core's ``statistics()`` now (``None`` before its first batch)."""
        return self.core.statistics() if self.core is not None else None

    def lag_s(self) -> float:
        """Age of the oldest request read and not yet logged (0 when caught up)."""
        if not self._requests:
            return 0.0
        ms = stream_id_key(self._requests[0][0])[0]
        return max(0.0, self.clock() - ms / 1000.0)

    # ------------------------------------------------------------------ recovery

    async def recover(self) -> int:
        """Rebuild the core from the snapshot and the log; return the batches replayed.

        The lease is renewed along the way; a batch that crashes the core is
        dead-lettered (its crashing inputs isolated) and the replay starts over
        through the record.
        """
        t0 = time.perf_counter()
        while True:
            try:
                n = await self._replay()
                break
            except _Poisoned as p:
                await self._dead_letter(p.batch_id, p.batch, p.__cause__)
        s = self.stats
        s.recovered_batches = n
        s.republished = len(self.pending_out)
        s.recovery_ms = (time.perf_counter() - t0) * 1000.0
        self._update_gauges()
        return n

    async def _replay(self, until: str | None = None) -> int:
        """Rebuild the core from the snapshot and every logged batch after it (``until``:
        stop before that batch); set the runner's state from it."""
        snap = await self.log.read_snapshot()
        dead = await self.log.dead_letters()
        core = Router.restore(snap.data) if snap is not None else None
        head = snap.input_id if snap is not None else ""
        cur = snap.cur if snap is not None else "0-0"
        published = stream_id_key(await self.log.last_output_input())
        pending: list[Output] = []
        n = 0
        reached_until = False
        async for chunk in self.log.batches_after(head):
            for bid, _tok, batch in chunk:
                if bid == until:
                    reached_until = True
                    break
                why = dead.get(bid)
                try:
                    core, events, refusals = replay_batch(core, batch, why)
                except Exception as exc:
                    raise _Poisoned(bid, batch) from exc
                out = batch_output(bid, events, refusals, why is not None)
                if out is not None and stream_id_key(bid) > published:
                    pending.append(out)
                head, cur = bid, batch.cur
                n += 1
                faults.reached("recovering", busy=bool(batch.items or batch.invalid))
                if time.monotonic() >= self._renew_at:
                    await self._renew()
                    self.stats.recovery_renewals += 1
            if reached_until:
                break
        self.core = core
        self.head = head
        self.cur = cur
        self.last_now = core.now if core is not None else 0.0
        self.pending_out = pending
        self._requests = []
        self._buffered = 0
        self._read_cur = cur
        self._snap_at = time.monotonic() + self.options.snapshot_every_s
        return n

    async def _renew(self) -> None:
        sent = time.monotonic()
        await self.log.renew()
        self.renewed_at = sent
        self._renew_at = sent + self._renew_every

    async def _dead_letter(self, batch_id: str, batch: Batch, exc: BaseException | None) -> None:
        """Find the inputs of a logged batch that crash the core and record them (fenced).

        The core is rebuilt as it was before the batch; :func:`isolate_steps` walks
        the batch; the record goes out with the outputs still pending before the
        batch. The caller then rebuilds the core from the log (:meth:`recover`),
        which applies the record and queues the batch's output entry.

        A batch already recorded crashes again when its record no longer holds (a
        crash that is not reproducible, or a core a deploy changed): it is isolated
        again and the new entry supersedes the old (``DomainLog.dead_letters`` keeps
        the last per batch). Bounded: a batch recorded twice already is recorded
        whole, without a walk (a whole dead batch changes nothing, so it cannot
        crash again), so recovery never loops on it.
        """
        records = await self.log.dead_letter_records(batch_id)
        await self._replay(until=batch_id)
        if records >= _MAX_ISOLATIONS:
            crashes, first = None, None  # the whole batch, refused with the last crash's error
        else:
            crashes, first = await self._isolate(batch)
        self.core = None  # used up by the walk: recover() rebuilds it
        cause = first if first is not None else exc
        message = _error(cause) if cause is not None else "unknown error"
        items = [(i, _error(e)) for i, e in crashes] if crashes is not None else None
        faults.reached("after_isolation")
        await self.log.dead_letter(batch_id, encode_batch(batch), message, items, self.pending_out)
        self.pending_out = []
        refused = len(items) if items is not None else len(batch.items)
        s = self.stats
        s.dead_letters += 1
        s.dead_inputs += refused
        if self.on_dead_letter is not None:
            detail = "".join(traceback.format_exception(cause)) if cause is not None else message
            self.on_dead_letter(batch_id, detail, refused, len(batch.items) + len(batch.invalid))
        faults.reached("after_dead_letter")

    async def _isolate(self, batch: Batch) -> Isolation:
        """:func:`~router.durable.wire.isolate_steps` on the core, renewing the lease
        between its steps as the replay does: a walk of a large batch on a large state
        (a restore per crashing input) may outlast the lease, and an owner that lost it
        would have its record refused and the next owner walk the batch again."""
        walk = isolate_steps(self.core, batch)
        while True:
            try:
                next(walk)
            except StopIteration as stop:
                result: Isolation = stop.value
                return result
            if time.monotonic() >= self._renew_at:
                await self._renew()
                self.stats.isolation_renewals += 1

    def _update_gauges(self) -> None:
        if self.core is None:
            return
        st = self.core.statistics()
        s = self.stats
        s.now = st.now
        s.waiting = st.waiting
        s.offered = st.offered
        s.in_service = st.in_service

    # ------------------------------------------------------------------ the live loop

    def _next_batch(self) -> tuple[Batch | None, int, int]:
        """The next batch, the submissions it takes, and the request entries it consumes."""
        clock_now = self.clock()
        if self.core is None:
            items = (
                agents_from_config(self.config, clock_now)
                if self.options.agents_from_config
                else []
            )
            return Batch(now=clock_now, cur=self.cur, items=items, init=self.config), 0, 0
        limit = self.options.batch_items
        taken = 0
        entries = 0
        items = []
        invalid: list[Invalid] = []
        cur = self.cur
        for rid, good, bad, n in self._requests:
            if entries and len(items) + len(invalid) + len(good) + len(bad) > limit:
                break
            items += good
            if bad:
                invalid += bad
            taken += n
            entries += 1
            cur = rid
        due = self.core.next_deadline()
        if entries or (due is not None and due <= clock_now):
            now = max(self.last_now, clock_now)
            return Batch(now=now, cur=cur, items=items, invalid=invalid), taken, entries
        return None, 0, 0

    def _block_ms(self) -> int | None:
        """How long the next XREAD may block: until a deadline or renewal, at most 0.5 s."""
        wait = min(self._renew_at - time.monotonic(), 0.5)
        if self.core is not None:
            due = self.core.next_deadline()
            if due is not None:
                wait = min(wait, due - self.clock())
        ms = math.ceil(wait * 1000.0)
        return ms if ms >= 1 else None

    async def run(self) -> None:
        """Serve until :attr:`stopping` is set; raises when the domain is lost.

        Requests read but not yet logged when it stops stay in the stream, after
        the log's cursor, for the next owner.
        """
        while not self.stopping:
            await self.cycle()
        await self._flush()

    async def cycle(self, *, block: bool = True) -> bool:
        """One round trip (see the module docstring); returns whether it did any work.

        With ``block=False`` the XREAD never waits (tests drive cycles by hand).
        """
        batch, taken, entries = self._next_batch()
        busy = batch is not None and bool(batch.items or batch.invalid)
        renew_due = time.monotonic() >= self._renew_at
        commit = batch is not None or bool(self.pending_out) or renew_due
        read = self._buffered - _inputs(self._requests[:entries]) < self.options.batch_items
        wait = self._block_ms() if block and batch is None else None
        calls = Calls(self.client)
        sent = time.monotonic()
        if commit:
            payload = encode_batch(batch) if batch is not None else None
            self.log.queue_commit(calls, self.head, payload, self.pending_out, taken)
        if read:
            calls.call(
                "xread", {self.keys.requests: self._read_cur}, count=self.options.batch, block=wait
            )
        replies = await calls.execute()
        faults.reached("commit_unacknowledged", busy=busy)
        if commit:
            new_id = self.log.check_commit(replies[0])
            self.renewed_at = sent
            self._renew_at = sent + self._renew_every
            self.pending_out = []
            if batch is not None:
                consumed = self._requests[:entries]
                del self._requests[:entries]
                self._buffered -= _inputs(consumed)
                faults.reached("after_commit", busy=busy)
                if not await self._apply(new_id, batch):
                    return True  # rebuilt without a dead batch: re-read from the log's cursor
                faults.reached("after_apply", busy=busy)
        rows: Any = []
        if read:
            xr = replies[-1]
            if isinstance(xr, BaseException):
                raise xr
            if xr:
                rows = xr[0][1]
                for rid, fields in rows:
                    ref = rid.decode()
                    good, bad = decode_request(fields, ref)
                    self._requests.append((ref, good, bad, submissions(fields)))
                    self._buffered += len(good) + len(bad)
                self._read_cur = rows[-1][0].decode()
                faults.reached("after_read")
        if self._snapshot_due():
            busy_snap = bool(self.pending_out)  # the window where outputs were once lost
            await self.snapshot()
            faults.reached("after_snapshot", busy=busy_snap)
        return batch is not None or bool(rows)

    async def _apply(self, batch_id: str, batch: Batch) -> bool:
        """Apply a logged batch; False when it was dead-lettered and the core rebuilt."""
        try:
            self.core, events, refusals = run_batch(self.core, batch)
        except Exception as exc:
            # a bug in the core: the batch is logged, so every owner would fail on it again
            await self._dead_letter(batch_id, batch, exc)
            # the core may be half-changed: rebuild it through the record (the batch's
            # served inputs applied, its output entry queued)
            await self.recover()
            return False
        self.head = batch_id
        self.cur = batch.cur
        self.last_now = batch.now
        out = batch_output(batch_id, events, refusals, False)
        if out is not None:
            self.pending_out = [out]
        s = self.stats
        n = len(batch.items) + len(batch.invalid)
        s.batches += 1
        s.inputs += n
        s.events += len(events)
        s.refusals += len(refusals)
        s.batch_hist[_bucket(n)] += 1
        if n > s.max_batch:
            s.max_batch = n
        self._snap_batches += 1
        return True

    def _snapshot_due(self) -> bool:
        """After a batch, once ``snapshot_every_s`` is over or ``snapshot_every_batches``
        batches are logged. The period bounds what a successor replays to what this owner
        applied live in that time; no rule counts inputs (a batch holds at most
        ``batch_items`` of them)."""
        if self._snap_batches == 0:
            return False
        return (
            self._snap_batches >= self.options.snapshot_every_batches
            or time.monotonic() >= self._snap_at
        )

    async def snapshot(self) -> None:
        """Publish pending outputs and store the core's snapshot at the last logged batch.

        One fenced script: it also trims the logs (unless ``keep_log``), the
        idempotency keys older than the dedupe window and the outputs every
        consumer group acknowledged.
        """
        if self.core is None or not self.head:
            return
        o = self.options
        data = self.core.snapshot()
        sent = time.monotonic()
        idem, outs = await self.log.snapshot(
            self.head,
            self.cur,
            data,
            self.last_now,
            trim=not o.keep_log,
            outputs=self.pending_out,
            dedupe_window_ms=int(o.dedupe_window_s * 1000),
            output_retention_ms=-1 if o.keep_log else int(o.output_retention_s * 1000),
        )
        self.pending_out = []
        self.renewed_at = sent
        self._renew_at = sent + self._renew_every
        self._snap_batches = 0
        self._snap_at = time.monotonic() + o.snapshot_every_s
        s = self.stats
        s.snapshots += 1
        s.idem_trimmed += idem
        s.outputs_trimmed += outs
        self._update_gauges()

    async def _flush(self) -> None:
        """Publish pending outputs (and renew) with a final fenced commit."""
        if self.pending_out:
            calls = Calls(self.client)
            self.log.queue_commit(calls, self.head, None, self.pending_out)
            (reply,) = await calls.execute()
            self.log.check_commit(reply)
            self.pending_out = []

    async def hand_over(self) -> None:
        """After :meth:`run` returned: snapshot and release the lease for another process."""
        if self._snap_batches:
            await self.snapshot()
        await self.log.release()
