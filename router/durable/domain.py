"""One routing domain served from Redis: recovery, then the write-ahead loop.

Theory of operation: a :class:`DomainRunner` holds a lease token for its
domain and one core. ``recover`` loads the latest snapshot, replays every
logged batch after it through :func:`~router.durable.wire.run_batch` (the same
function the live loop uses, so the rebuilt core is exactly the one the
previous owner had) and queues for publication the outputs of batches the
previous owner logged but did not live to publish. ``run`` then repeats one
cycle, a single pipelined round trip:

1. stamp the requests read last cycle with ``now = max(last now, clock)`` into
   one :class:`~router.durable.wire.Batch` (a pure tick when only a deadline
   is due);
2. send ``[COMMIT(outputs of the previous batch, this batch), XREAD next
   requests]``: the commit renews the lease and is refused unless the fence
   still equals our token;
3. only after the commit is acknowledged, apply the batch to the core and keep
   its events for the next commit.

Nothing the core decides is visible before the batch that caused it is in the
log, and an output entry names the batch it came from, so a new owner knows
exactly which outputs are missing. When idle, the XREAD blocks until the next
core deadline or lease renewal. Any Redis error leaves the last write in doubt:
the runner stops and the server recovers the domain from the log again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import msgspec
from redis.asyncio import Redis

from router.config import RouterConfig
from router.core import Router
from router.durable.log import DomainLog
from router.durable.wire import (
    Batch,
    DomainKeys,
    Login,
    decode_request,
    encode_batch,
    encode_refusals,
    pack_events,
    run_batch,
    stream_id_key,
)
from router.model import AgentSpec

__all__ = ["DomainOptions", "DomainRunner", "DomainStats", "agents_from_config"]


class DomainOptions(msgspec.Struct, kw_only=True):
    """How a domain is served (``python -m router serve`` flags)."""

    lease_ms: int = 5000
    batch: int = 1000
    snapshot_every_s: float = 5.0
    snapshot_every_batches: int = 10_000
    keep_log: bool = False
    output_maxlen: int = 0
    agents_from_config: bool = False
    prefix: str = "router"


class DomainStats(msgspec.Struct, kw_only=True):
    """Counters of one domain in this process (reported in the health hash)."""

    token: int = 0
    batches: int = 0
    inputs: int = 0
    events: int = 0
    refusals: int = 0
    max_batch: int = 0
    snapshots: int = 0
    recovered_batches: int = 0
    republished: int = 0
    recovery_ms: float = 0.0
    acquired_at: float = 0.0
    now: float = 0.0
    waiting: int = 0
    offered: int = 0
    in_service: int = 0


def agents_from_config(config: RouterConfig, now: float) -> list[Login]:
    """Login inputs for every agent the config's ``[[agents]]`` profiles describe.

    Ids are ``<profile name or p<index>>-<n>``; ``shift_end_s`` counts from ``now``.
    """
    out: list[Login] = []
    for i, p in enumerate(config.agents):
        name = p.name or f"p{i}"
        for n in range(1, p.count + 1):
            spec = AgentSpec(
                id=f"{name}-{n}",
                skills=dict(p.skills),
                capacity=dict(p.capacity),
                units=p.units,
                tenants=frozenset(p.tenants),
                queues=dict(p.queues),
                wrap_up_s=p.wrap_up_s,
                shift_end=now + p.shift_end_s if p.shift_end_s is not None else None,
            )
            out.append(Login(agent=spec))
    return out


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
    ) -> None:
        self.client = client
        self.keys = DomainKeys(domain, options.prefix)
        self.domain = domain
        self.config = config
        self.options = options
        self.clock = clock
        self.log = DomainLog(
            client, self.keys, owner, options.lease_ms, output_maxlen=options.output_maxlen
        )
        self.stats = DomainStats()
        self.core: Router | None = None
        self.head = ""  # id of the last logged batch
        self.cur = "0-0"  # last request id the log has consumed
        self.last_now = 0.0
        self.pending_out: list[tuple[str, bytes, bytes]] = []
        self.stopping = False
        self._requests: list[Any] = []  # read, not yet logged
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
        token = await self.log.acquire()
        if token is None:
            return False
        self.adopt(token)
        return True

    def adopt(self, token: int) -> None:
        """Use a token acquired elsewhere (the server acquires many domains in one pipeline)."""
        self.log.token = token
        self._renew_at = time.monotonic() + self._renew_every
        self.stats.token = token
        self.stats.acquired_at = time.time()

    async def recover(self) -> int:
        """Rebuild the core from the snapshot and the log; return the batches replayed."""
        t0 = time.perf_counter()
        snap = await self.log.read_snapshot()
        core = Router.restore(snap.data) if snap is not None else None
        head = snap.input_id if snap is not None else ""
        cur = snap.cur if snap is not None else "0-0"
        published = stream_id_key(await self.log.last_output_input())
        pending: list[tuple[str, bytes, bytes]] = []
        n = 0
        async for chunk in self.log.batches_after(head):
            for bid, _tok, batch in chunk:
                core, events, refusals = run_batch(core, batch)
                if (events or refusals) and stream_id_key(bid) > published:
                    pending.append((bid, pack_events(events), encode_refusals(refusals)))
                head, cur = bid, batch.cur
                n += 1
        self.core = core
        self.head = head
        self.cur = cur
        self.last_now = core.now if core is not None else 0.0
        self.pending_out = pending
        self._requests = []
        self._read_cur = cur
        self._snap_at = time.monotonic() + self.options.snapshot_every_s
        s = self.stats
        s.recovered_batches = n
        s.republished = len(pending)
        s.recovery_ms = (time.perf_counter() - t0) * 1000.0
        self._update_gauges()
        return n

    def _update_gauges(self) -> None:
        if self.core is None:
            return
        st = self.core.statistics()
        s = self.stats
        s.now = st.now
        s.waiting = st.waiting
        s.offered = st.offered
        s.in_service = st.in_service

    def _next_batch(self, requests: list[Any], read_cur: str) -> Batch | None:
        clock_now = self.clock()
        if self.core is None:
            items: list[Any] = (
                list(agents_from_config(self.config, clock_now))
                if self.options.agents_from_config
                else []
            )
            return Batch(now=clock_now, cur=self.cur, items=items, init=self.config)
        due = self.core.next_deadline()
        if requests or (due is not None and due <= clock_now):
            return Batch(now=max(self.last_now, clock_now), cur=read_cur, items=requests)
        return None

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
        batch = self._next_batch(self._requests, self._read_cur)
        renew_due = time.monotonic() >= self._renew_at
        commit = batch is not None or bool(self.pending_out) or renew_due
        wait = self._block_ms() if block and batch is None else None
        pipe = self.client.pipeline(transaction=False)
        sent = time.monotonic()
        if commit:
            payload = encode_batch(batch) if batch is not None else None
            self.log.queue_commit(pipe, self.head, payload, self.pending_out)
        pipe.xread({self.keys.requests: self._read_cur}, count=self.options.batch, block=wait)
        replies = await pipe.execute(raise_on_error=False)
        if commit:
            new_id = self.log.check_commit(replies[0])
            self._renew_at = sent + self._renew_every
            self.pending_out = []
            if batch is not None:
                self._apply(new_id, batch)
                self._requests = []
        xr = replies[-1]
        if isinstance(xr, BaseException):
            raise xr
        if xr:
            rows = xr[0][1]
            requests = self._requests
            for rid, fields in rows:
                requests += decode_request(fields, rid.decode())
            self._read_cur = rows[-1][0].decode()
        if self._snapshot_due():
            await self.snapshot()
        return batch is not None or bool(xr)

    def _apply(self, batch_id: str, batch: Batch) -> None:
        self.core, events, refusals = run_batch(self.core, batch)
        self.head = batch_id
        self.cur = batch.cur
        self.last_now = batch.now
        if events or refusals:
            self.pending_out = [(batch_id, pack_events(events), encode_refusals(refusals))]
        s = self.stats
        n = len(batch.items)
        s.batches += 1
        s.inputs += n
        s.events += len(events)
        s.refusals += len(refusals)
        if n > s.max_batch:
            s.max_batch = n
        self._snap_batches += 1

    def _snapshot_due(self) -> bool:
        if self._snap_batches == 0:
            return False
        return (
            self._snap_batches >= self.options.snapshot_every_batches
            or time.monotonic() >= self._snap_at
        )

    async def snapshot(self) -> None:
        """Store the core's snapshot at the last logged batch (fenced); trims unless keep_log."""
        if self.core is None or not self.head:
            return
        data = self.core.snapshot()
        await self.log.snapshot(self.head, self.cur, data, self.last_now, not self.options.keep_log)
        self._snap_batches = 0
        self._snap_at = time.monotonic() + self.options.snapshot_every_s
        self.stats.snapshots += 1
        self._update_gauges()

    async def _flush(self) -> None:
        """Publish pending outputs (and renew) with a final fenced commit."""
        if self.pending_out:
            pipe = self.client.pipeline(transaction=False)
            self.log.queue_commit(pipe, self.head, None, self.pending_out)
            (reply,) = await pipe.execute(raise_on_error=False)
            self.log.check_commit(reply)
            self.pending_out = []

    async def hand_over(self) -> None:
        """After :meth:`run` returned: snapshot and release the lease for another process."""
        if self._snap_batches:
            await self.snapshot()
        await self.log.release()
