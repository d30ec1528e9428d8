"""A domain's streams in Redis: the owner's fenced log and the producers' side.

Theory of operation: :class:`DomainLog` is everything an owner writes or reads
to recover: acquire the lease (a new fencing token), commit (renew the lease,
append the outputs of the previous batch and the next batch, all in one fenced
script call queued on the caller's pipeline), snapshot, release. It never
retries a write on its own: a write whose reply was lost is *in doubt*, and the
only safe answer is to recover from the log again (the commit script also
refuses a batch when the log's head is not the one the caller expects, so even
a retried write cannot append twice).

:class:`Producer` is the backend's side: it adds requests to a domain. Inquiry
submissions go through a script that checks an idempotency key first, so a
producer that retries after a timeout cannot add an inquiry twice. Every other
input of the core (``router/inputs.py``, whatever the union holds) is a plain
append (:meth:`Producer.send`); the core refuses a repeated one (accepting an
offer twice, completing twice) as a caller mistake, visible in the outputs.
Submissions are bounded per domain (:class:`DomainFull`); outputs are read with
``XREAD`` or, so trimming waits for them, through consumer groups.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import msgspec
from redis.asyncio import Redis, RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, ResponseError

try:  # redis-py moved Retry between versions
    from redis.asyncio.retry import Retry
except ImportError:  # pragma: no cover
    from redis.retry import Retry  # type: ignore[assignment]

from router.durable import scripts
from router.durable.wire import (
    INPUT_TYPES,
    Batch,
    DeadLetter,
    DomainKeys,
    Output,
    OutputEntry,
    Request,
    decode_batch,
    decode_output,
    encode_request,
    encode_requests,
)
from router.inputs import (
    Accept,
    CallbackFailed,
    Complete,
    Decline,
    GoOnBreak,
    HandBack,
    Heartbeat,
    Input,
    Login,
    Logout,
    Reconfigure,
    ResetStatistics,
    SetAttributes,
    SetReady,
    Submit,
    Transfer,
    UpdateAgent,
    UpdateInquiry,
    Withdraw,
    check_id,
    check_inquiry,
)
from router.model import AgentSpec, Inquiry

__all__ = [
    "Calls",
    "DomainFull",
    "DomainLog",
    "Fenced",
    "LogMoved",
    "Observed",
    "Producer",
    "Script",
    "SnapshotRecord",
    "SubmitResult",
    "connect",
]


def connect(url: str, *, timeout_s: float = 2.0, cluster: bool = False) -> Any:
    """A client that never retries on its own (a lost reply means an in-doubt write).

    ``timeout_s`` bounds connecting and every command; it must exceed the
    longest ``XREAD`` block (0.5 s).
    """
    if cluster:
        return RedisCluster.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
        )
    return Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
    )


class Calls:
    """Commands sent together: one pipeline on a plain Redis, concurrent calls on a Cluster.

    redis-py refuses scripts inside cluster pipelines; each domain's commands
    target one slot anyway, and the ones sent together do not depend on each
    other's order. :meth:`execute` returns replies in order, errors as values.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pipe = None if isinstance(client, RedisCluster) else client.pipeline(transaction=False)
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __len__(self) -> int:
        return len(self.calls)

    def call(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))
        if self.pipe is not None:
            getattr(self.pipe, name)(*args, **kwargs)

    def evalsha(self, *args: Any) -> None:
        self.call("evalsha", *args)

    async def execute(self) -> list[Any]:
        if not self.calls:
            return []
        if self.pipe is not None:
            replies: list[Any] = await self.pipe.execute(raise_on_error=False)
            return replies
        coros = [getattr(self.client, n)(*a, **kw) for n, a, kw in self.calls]
        return list(await asyncio.gather(*coros, return_exceptions=True))


class Script:
    """A Lua script called by SHA, loaded again when the server lost its cache."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def load(self, client: Redis) -> None:
        await client.script_load(self.source)

    async def __call__(self, client: Redis, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:  # not executed: safe to load and run again
            await self.load(client)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


ACQUIRE = Script(scripts.ACQUIRE)
RENEW = Script(scripts.RENEW)
COMMIT = Script(scripts.COMMIT)
SNAPSHOT = Script(scripts.SNAPSHOT)
DEAD_LETTER = Script(scripts.DEAD_LETTER)
RELEASE = Script(scripts.RELEASE)
SUBMIT = Script(scripts.SUBMIT)
OWNER_SCRIPTS = (ACQUIRE, RENEW, COMMIT, SNAPSHOT, DEAD_LETTER, RELEASE)


class Fenced(Exception):
    """A write was refused by the fencing check: another owner took the domain."""

    def __init__(self, domain: str, token: int, current: str) -> None:
        self.domain = domain
        self.token = token
        self.current = current
        super().__init__(
            f"domain {domain!r}: write refused by fencing (our token {token}, "
            f"current token {current or 'none'})"
        )


class LogMoved(Exception):
    """The input log's head is not the one this owner last wrote (an in-doubt write)."""


class DomainFull(Exception):
    """A submission refused: the domain's unprocessed submissions are at its limit."""

    def __init__(self, domain: str, backlog: int, limit: int, waited_s: float) -> None:
        self.domain = domain
        self.backlog = backlog
        self.limit = limit
        self.waited_s = waited_s
        super().__init__(
            f"domain {domain!r} is full: {backlog} submissions not yet processed, "
            f"limit {limit} (waited {waited_s:.3f} s); nothing was added"
        )


class SnapshotRecord(msgspec.Struct, frozen=True):
    """The latest snapshot: core bytes after applying input ``input_id``."""

    input_id: str
    cur: str
    data: bytes
    token: int


class Observed(msgspec.Struct, frozen=True):
    """A domain's queues as Redis holds them (for metrics and health)."""

    backlog: int  # submissions added and not yet logged
    outputs_pending: dict[str, int]  # consumer group -> entries not yet acknowledged


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


#: A dead letter's ``items`` field: per input of the batch that crashes the core, its
#: index when its error is the record's ``err`` (the first crash's; the only form
#: before per-input errors), else ``[index, error]``.
_dead_items = msgspec.msgpack.Encoder()
_dead_items_dec = msgspec.msgpack.Decoder(list[int | tuple[int, str]])


def _flat(outputs: Sequence[Output]) -> list[Any]:
    args: list[Any] = [len(outputs)]
    for input_id, events, refusals in outputs:
        args += (input_id, events, refusals)
    return args


class DomainLog:
    """One owner's fenced view of a domain's streams."""

    def __init__(self, client: Redis, keys: DomainKeys, owner: str, lease_ms: int) -> None:
        self.client = client
        self.keys = keys
        self.owner = owner
        self.lease_ms = lease_ms
        self.token = 0

    async def load_scripts(self) -> None:
        for s in OWNER_SCRIPTS:
            await s.load(self.client)

    def _fenced(self, reply: Any) -> None:
        if int(reply[0]) == -1:
            raise Fenced(self.keys.domain, self.token, _s(reply[1]))

    async def acquire(self, limit: int = 0) -> int | None:
        """Take the lease if it is free (or ours); return the new token, or None.

        ``limit`` becomes the domain's bound on unprocessed submissions (0: none).
        """
        k = self.keys
        res = await ACQUIRE(
            self.client, [k.lease, k.fence, k.flow], [self.owner, self.lease_ms, limit]
        )
        token = int(res[0])
        if token <= 0:
            return None
        self.token = token
        return token

    async def renew(self) -> None:
        """Extend the lease (fenced); raises :class:`Fenced` when it was lost."""
        k = self.keys
        self._fenced(
            await RENEW(self.client, [k.lease, k.fence], [self.token, self.owner, self.lease_ms])
        )

    def queue_commit(
        self,
        pipe: Any,
        head: str,
        batch: bytes | None,
        outputs: Sequence[Output],
        taken: int = 0,
    ) -> None:
        """Queue one fenced commit on ``pipe``: renew, append ``outputs``, then ``batch``.

        ``taken``: the submissions the batch consumes (they leave the domain's backlog).
        """
        k = self.keys
        args: list[Any] = [
            k.lease,
            k.fence,
            k.input,
            k.output,
            k.flow,
            self.token,
            self.owner,
            self.lease_ms,
            head,
            batch if batch is not None else b"",
            taken,
            *_flat(outputs),
        ]
        pipe.evalsha(COMMIT.sha, 5, *args)

    def check_commit(self, reply: Any) -> str:
        """The new batch's id (``''`` if none) from a commit reply; raise if refused."""
        if isinstance(reply, BaseException):
            raise reply
        status = int(reply[0])
        if status == 1:
            return _s(reply[1])
        self._fenced(reply)
        raise LogMoved(
            f"domain {self.keys.domain!r}: input log head is {_s(reply[1])!r}, "
            "not the last batch this owner wrote"
        )

    async def snapshot(
        self,
        input_id: str,
        cur: str,
        data: bytes,
        now: float,
        *,
        trim: bool,
        outputs: Sequence[Output] = (),
        dedupe_window_ms: int = 600_000,
        output_retention_ms: int = -1,
    ) -> tuple[int, int]:
        """Publish ``outputs``, store the snapshot, trim (see ``scripts.SNAPSHOT``).

        Returns how many idempotency keys and output entries were trimmed.
        """
        k = self.keys
        res = await SNAPSHOT(
            self.client,
            [k.lease, k.fence, k.snapshot, k.input, k.requests, k.output, k.idem],
            [
                self.token,
                self.owner,
                self.lease_ms,
                input_id,
                cur,
                data,
                repr(now),
                "1" if trim else "0",
                dedupe_window_ms,
                output_retention_ms,
                *_flat(outputs),
            ],
        )
        self._fenced(res)
        return int(res[1]), int(res[2])

    async def dead_letter(
        self,
        batch_id: str,
        batch: bytes,
        message: str,
        items: Sequence[tuple[int, str]] | None,
        outputs: Sequence[Output],
    ) -> None:
        """Publish ``outputs``; record the dead batch in ``dead`` (``items``: its inputs
        that crash the core, (index, error) each, None for the whole batch; ``message``
        the first crash's error). Its own output entry comes from the replay that
        follows (see ``scripts.DEAD_LETTER``)."""
        k = self.keys
        packed = b""
        if items is not None:
            packed = _dead_items.encode([i if e == message else (i, e) for i, e in items])
        res = await DEAD_LETTER(
            self.client,
            [k.lease, k.fence, k.output, k.dead],
            [
                self.token,
                self.owner,
                self.lease_ms,
                batch_id,
                message,
                batch,
                packed,
                *_flat(outputs),
            ],
        )
        self._fenced(res)

    async def dead_letters(self) -> dict[str, DeadLetter]:
        """Dead-lettered batch id -> its record, for every batch still in the ``dead`` stream.

        An entry without ``items`` (written before isolation, or a batch dead whole)
        stands for the whole batch; an index alone in ``items`` (the only form
        before per-input errors) has the entry's error. A batch recorded more than
        once (its record crashed the core again in a replay, and it was isolated
        again: see ``DomainRunner._dead_letter``) has its *last* entry here: a newer
        entry supersedes the older ones.
        """
        rows: Any = await self.client.xrange(self.keys.dead, min="-", max="+")
        out: dict[str, DeadLetter] = {}
        for _, f in rows:  # oldest first: the last entry of a batch wins
            error = _s(f[b"err"])
            raw = f.get(b"items")
            if not raw:
                out[_s(f[b"in"])] = DeadLetter(error=error)
                continue
            pairs = [(x, error) if isinstance(x, int) else x for x in _dead_items_dec.decode(raw)]
            out[_s(f[b"in"])] = DeadLetter(
                error=error,
                items=tuple(i for i, _ in pairs),
                errors=tuple(e for _, e in pairs),
            )
        return out

    async def dead_letter_records(self, batch_id: str) -> int:
        """How many entries of the ``dead`` stream record batch ``batch_id``."""
        rows: Any = await self.client.xrange(self.keys.dead, min="-", max="+")
        return sum(1 for _, f in rows if _s(f[b"in"]) == batch_id)

    async def release(self) -> bool:
        k = self.keys
        res = await RELEASE(self.client, [k.lease, k.fence], [self.token, self.owner])
        return int(res) == 1

    async def read_snapshot(self) -> SnapshotRecord | None:
        h: Any = await self.client.hgetall(self.keys.snapshot)
        if not h:
            return None
        return SnapshotRecord(
            input_id=_s(h[b"in"]), cur=_s(h[b"cur"]), data=h[b"data"], token=int(h[b"tok"])
        )

    async def batches_after(
        self, start: str, chunk: int = 100
    ) -> AsyncIterator[list[tuple[str, int, Batch]]]:
        """Logged batches after id ``start`` (``''``: from the first), in chunks."""
        lo = f"({start}" if start else "-"
        while True:
            rows: Any = await self.client.xrange(self.keys.input, min=lo, max="+", count=chunk)
            if not rows:
                return
            out = [(_s(i), int(f[b"tok"]), decode_batch(f[b"b"])) for i, f in rows]
            yield out
            lo = f"({out[-1][0]}"

    async def last_output_input(self) -> str:
        """The input id the newest output entry came from (``''`` when none)."""
        rows: Any = await self.client.xrevrange(self.keys.output, max="+", min="-", count=1)
        return _s(rows[0][1][b"in"]) if rows else ""

    async def observe(self) -> Observed:
        """Unprocessed submissions and, per consumer group, output entries not acknowledged."""
        k = self.keys
        calls = Calls(self.client)
        calls.call("hmget", k.flow, ["added", "taken"])
        calls.call("xinfo_groups", k.output)
        flow, groups = await calls.execute()
        backlog = 0
        if not isinstance(flow, BaseException):
            backlog = max(0, int(flow[0] or 0) - int(flow[1] or 0))
        pending: dict[str, int] = {}
        if not isinstance(groups, BaseException):
            for g in groups:
                lag = g.get("lag")
                pending[_s(g["name"])] = int(g.get("pending") or 0) + int(lag or 0)
        return Observed(backlog=backlog, outputs_pending=pending)


def _request_id(v: bytes | str) -> str:
    """A request id from a SUBMIT reply: the id itself, or a duplicate's ``idem`` score."""
    text = _s(v)
    if "-" in text:
        return text
    score = int(float(text))
    return f"{score // 1024}-{score % 1024}"


class SubmitResult(msgspec.Struct, frozen=True):
    """Where a submission landed: its request id, and whether the key was seen before."""

    request_id: str
    duplicate: bool


#: The inputs :meth:`Producer.send` appends: every member of the union but ``Submit``.
_SENDABLE = frozenset(INPUT_TYPES) - {Submit}


class Producer:
    """The backend's side of a domain: add inputs, read outputs.

    Inputs are the core's own structs (``router/inputs.py``): :meth:`send`
    takes any of them, and the methods (``accept``, ``login``, ...) are the same
    inputs spelled as calls. Submissions are remembered by idempotency key for
    the domain's dedupe window (``serve --dedupe-window-s``): a retry within it
    adds nothing. They are bounded: when the domain's unprocessed submissions
    would pass its limit (``serve --max-unprocessed``; ``default_limit`` until an
    owner set one), :meth:`submit_many` raises :class:`DomainFull`, at once or
    after waiting up to ``wait_s`` for room: the producer chooses. Other inputs
    are never refused here: they are what drains a domain. ``producer`` (an id)
    travels with every request and comes back in its refusals.
    """

    def __init__(
        self,
        client: Redis,
        domain: str,
        *,
        prefix: str = "router",
        default_limit: int = 100_000,
        producer: str | None = None,
    ) -> None:
        self.client = client
        self.keys = DomainKeys(domain, prefix)
        self.default_limit = default_limit
        # echoed in every request: one the owner's decoding refuses would refuse them all
        self.producer = producer if producer is None else check_id(producer, "producer")

    async def submit(
        self, inquiry: Inquiry, key: str | None = None, *, wait_s: float = 0.0
    ) -> SubmitResult:
        """Add one inquiry; a key (default: the inquiry id) already added is a no-op."""
        return (await self.submit_many([(inquiry, key)], wait_s=wait_s))[0]

    async def submit_many(
        self,
        inquiries: Iterable[Inquiry | tuple[Inquiry, str | None]],
        *,
        wait_s: float = 0.0,
    ) -> list[SubmitResult]:
        """Add several inquiries in one atomic script call, each idempotent on its key.

        The new ones go into one request entry; a key seen before (or twice in
        this call) is a duplicate and adds nothing. Each inquiry's values are
        checked first, as the core checks them (:class:`~router.errors.InvalidInput`
        naming the field; nothing is added). When the domain is full, nothing is
        added: raises :class:`DomainFull` at once (``wait_s`` 0), or retries
        until there is room for all of them or ``wait_s`` has passed.
        """
        k = self.keys
        args: list[Any] = [self.default_limit]
        for entry in inquiries:
            inquiry, key = entry if isinstance(entry, tuple) else (entry, None)
            check_inquiry(inquiry)
            key = inquiry.id if key is None else check_id(key, "key")  # a Name, as the wire's
            request = Request(input=Submit(inquiry=inquiry), key=key, producer=self.producer)
            args += (key, encode_request(request))
        if len(args) == 1:
            return []
        t0 = time.monotonic()
        pause = 0.005
        while True:
            res = await SUBMIT(self.client, [k.requests, k.idem, k.flow], args)
            if _s(res[0]) != "full":
                return [
                    SubmitResult(request_id=_request_id(res[i + 1]), duplicate=_s(res[i]) == "dup")
                    for i in range(0, len(res), 2)
                ]
            waited = time.monotonic() - t0
            if waited >= wait_s:
                raise DomainFull(k.domain, int(res[1]), int(res[2]), waited)
            await asyncio.sleep(min(pause, wait_s - waited))  # never refuse before wait_s
            pause = min(pause * 2, 0.1)

    def _request(self, inp: Input) -> Request:
        if type(inp) not in _SENDABLE:
            if type(inp) is Submit:
                raise TypeError(
                    "submit inquiries with submit() or submit_many() (idempotent, bounded)"
                )
            raise TypeError(f"expected a router input (router/inputs.py), got {inp!r}")
        return Request(input=inp, producer=self.producer)

    async def send(self, inp: Input) -> str:
        """Append one input; returns its request id.

        Any input of ``router/inputs.py`` but ``Submit``, which goes through
        :meth:`submit` (idempotency key, backpressure). The owner checks its
        values at the core's edge; a mistake comes back as a refusal.
        """
        rid = await self.client.xadd(self.keys.requests, {"m": encode_request(self._request(inp))})
        return _s(rid)

    async def send_many(self, inputs: Iterable[Input]) -> str | None:
        """Append several inputs as one request entry; returns its id (None if no inputs)."""
        batch = [self._request(inp) for inp in inputs]
        if not batch:
            return None
        rid = await self.client.xadd(self.keys.requests, {"a": encode_requests(batch)})
        return _s(rid)

    async def withdraw(self, inquiry_id: str) -> str:
        return await self.send(Withdraw(inquiry_id=inquiry_id))

    async def login(self, agent: AgentSpec) -> str:
        return await self.send(Login(agent=agent))

    async def set_ready(self, agent_id: str) -> str:
        return await self.send(SetReady(agent_id=agent_id))

    async def go_on_break(self, agent_id: str, reason: str = "break") -> str:
        return await self.send(GoOnBreak(agent_id=agent_id, reason=reason))

    async def logout(self, agent_id: str) -> str:
        return await self.send(Logout(agent_id=agent_id))

    async def accept(self, inquiry_id: str, agent_id: str | None = None) -> str:
        return await self.send(Accept(inquiry_id=inquiry_id, agent_id=agent_id))

    async def decline(self, inquiry_id: str, agent_id: str | None = None) -> str:
        return await self.send(Decline(inquiry_id=inquiry_id, agent_id=agent_id))

    async def complete(self, inquiry_id: str) -> str:
        return await self.send(Complete(inquiry_id=inquiry_id))

    async def callback_failed(self, inquiry_id: str) -> str:
        return await self.send(CallbackFailed(inquiry_id=inquiry_id))

    async def set_attributes(self, agent_id: str, attributes: dict[str, Any]) -> str:
        return await self.send(SetAttributes(agent_id=agent_id, attributes=attributes))

    async def reconfigure(self, config: Any, hand_over: dict[str, str] | None = None) -> str:
        return await self.send(Reconfigure(config=config, hand_over=hand_over))

    async def update_inquiry(
        self,
        inquiry_id: str,
        *,
        priority: int | None = None,
        requires: dict[str, int] | None = None,
    ) -> str:
        return await self.send(
            UpdateInquiry(inquiry_id=inquiry_id, priority=priority, requires=requires)
        )

    async def transfer(
        self,
        inquiry_id: str,
        queue: str,
        *,
        agent_id: str | None = None,
        priority: int | None = None,
        requires: dict[str, int] | None = None,
    ) -> str:
        return await self.send(
            Transfer(
                inquiry_id=inquiry_id,
                queue=queue,
                agent_id=agent_id,
                priority=priority,
                requires=requires,
            )
        )

    async def hand_back(
        self, inquiry_id: str, agent_id: str | None = None, *, priority: int | None = None
    ) -> str:
        inp = HandBack(inquiry_id=inquiry_id, agent_id=agent_id, priority=priority)
        return await self.send(inp)

    async def update_agent(self, agent: AgentSpec) -> str:
        return await self.send(UpdateAgent(agent=agent))

    async def heartbeat(self, agent_id: str) -> str:
        """The agent's console is alive (``[routing] presence_timeout_s``): one logged request."""
        return await self.send(Heartbeat(agent_id=agent_id))

    async def reset_statistics(self) -> str:
        return await self.send(ResetStatistics())

    async def read_outputs(
        self, after: str = "0-0", count: int = 1000, block_ms: int | None = None
    ) -> list[OutputEntry]:
        """Output entries after id ``after`` (``XREAD``; blocks up to ``block_ms`` if given)."""
        res: Any = await self.client.xread(
            {self.keys.output: after}, count=count, block=block_ms if block_ms else None
        )
        if not res:
            return []
        return [decode_output(i, f) for i, f in res[0][1]]

    async def create_group(self, group: str, start: str = "0") -> bool:
        """Register consumer group ``group`` on the outputs (False if it exists).

        The owner trims the output stream only past what every registered group
        has acknowledged (:meth:`ack`), so a slow consumer loses nothing.
        """
        try:
            await self.client.xgroup_create(self.keys.output, group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    async def read_group(
        self,
        group: str,
        consumer: str,
        count: int = 1000,
        block_ms: int | None = None,
        pending: bool = False,
    ) -> list[OutputEntry]:
        """New output entries for ``consumer`` of ``group`` (``pending``: its unacknowledged)."""
        res: Any = await self.client.xreadgroup(
            group,
            consumer,
            {self.keys.output: "0" if pending else ">"},
            count=count,
            block=block_ms if block_ms else None,
        )
        if not res:
            return []
        return [decode_output(i, f) for i, f in res[0][1] if f]

    async def ack(self, group: str, ids: Sequence[str]) -> int:
        """Acknowledge output entries read through ``group``: they may now be trimmed."""
        if not ids:
            return 0
        n: int = await self.client.xack(self.keys.output, group, *ids)
        return n

    async def all_outputs(self, chunk: int = 5000) -> list[OutputEntry]:
        """Every output entry still in the stream, oldest first."""
        out: list[OutputEntry] = []
        lo = "-"
        while True:
            rows: Any = await self.client.xrange(self.keys.output, min=lo, max="+", count=chunk)
            if not rows:
                return out
            out += [decode_output(i, f) for i, f in rows]
            lo = f"({out[-1].id}"
