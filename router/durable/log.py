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
producer that retries after a timeout cannot add an inquiry twice. Agent and
offer inputs are plain appends; the core refuses a repeated one (accepting an
offer twice, completing twice) as a caller mistake, visible in the outputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from router.durable import scripts
from router.durable.wire import (
    Accept,
    Batch,
    Break,
    Complete,
    Decline,
    DomainKeys,
    Login,
    Logout,
    OutputEntry,
    Ready,
    Reconfigure,
    Submit,
    Withdraw,
    decode_batch,
    decode_output,
    encode_item,
    encode_items,
)
from router.model import AgentSpec, Inquiry

__all__ = [
    "DomainLog",
    "Fenced",
    "LogMoved",
    "Producer",
    "Script",
    "SnapshotRecord",
    "SubmitResult",
]


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
COMMIT = Script(scripts.COMMIT)
SNAPSHOT = Script(scripts.SNAPSHOT)
RELEASE = Script(scripts.RELEASE)
SUBMIT = Script(scripts.SUBMIT)


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


class SnapshotRecord(msgspec.Struct, frozen=True):
    """The latest snapshot: core bytes after applying input ``input_id``."""

    input_id: str
    cur: str
    data: bytes
    token: int


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class DomainLog:
    """One owner's fenced view of a domain's streams."""

    def __init__(
        self,
        client: Redis,
        keys: DomainKeys,
        owner: str,
        lease_ms: int,
        *,
        output_maxlen: int = 0,
    ) -> None:
        self.client = client
        self.keys = keys
        self.owner = owner
        self.lease_ms = lease_ms
        self.output_maxlen = output_maxlen
        self.token = 0

    async def load_scripts(self) -> None:
        for s in (ACQUIRE, COMMIT, SNAPSHOT, RELEASE):
            await s.load(self.client)

    async def acquire(self) -> int | None:
        """Take the lease if it is free (or ours); return the new token, or None."""
        k = self.keys
        res = await ACQUIRE(self.client, [k.lease, k.fence], [self.owner, self.lease_ms])
        token = int(res[0])
        if token <= 0:
            return None
        self.token = token
        return token

    def queue_commit(
        self,
        pipe: Any,
        head: str,
        batch: bytes | None,
        outputs: Sequence[tuple[str, bytes, bytes]],
    ) -> None:
        """Queue one fenced commit on ``pipe``: renew, append ``outputs``, then ``batch``."""
        k = self.keys
        args: list[Any] = [
            k.lease,
            k.fence,
            k.input,
            k.output,
            self.token,
            self.owner,
            self.lease_ms,
            head,
            batch if batch is not None else b"",
            self.output_maxlen,
            len(outputs),
        ]
        for input_id, events, refusals in outputs:
            args += (input_id, events, refusals)
        pipe.evalsha(COMMIT.sha, 4, *args)

    def check_commit(self, reply: Any) -> str:
        """The new batch's id (``''`` if none) from a commit reply; raise if refused."""
        if isinstance(reply, NoScriptError):
            raise reply
        if isinstance(reply, BaseException):
            raise reply
        status = int(reply[0])
        if status == 1:
            return _s(reply[1])
        if status == -1:
            raise Fenced(self.keys.domain, self.token, _s(reply[1]))
        raise LogMoved(
            f"domain {self.keys.domain!r}: input log head is {_s(reply[1])!r}, "
            "not the last batch this owner wrote"
        )

    async def snapshot(self, input_id: str, cur: str, data: bytes, now: float, trim: bool) -> None:
        k = self.keys
        res = await SNAPSHOT(
            self.client,
            [k.fence, k.snapshot, k.input, k.requests],
            [self.token, input_id, cur, data, "1" if trim else "0", repr(now)],
        )
        if int(res) != 1:
            current = await self.client.get(k.fence)
            raise Fenced(k.domain, self.token, _s(current or b""))

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
        self, start: str, chunk: int = 2000
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


class SubmitResult(msgspec.Struct, frozen=True):
    """Where a submission landed: its request id, and whether the key was seen before."""

    request_id: str
    duplicate: bool


class Producer:
    """The backend's side of a domain: add inputs, read outputs.

    ``idempotency_ttl_s`` is how long an inquiry's key is remembered: a retry
    later than that adds the inquiry again.
    """

    def __init__(
        self,
        client: Redis,
        domain: str,
        *,
        prefix: str = "router",
        idempotency_ttl_s: float = 86400.0,
    ) -> None:
        self.client = client
        self.keys = DomainKeys(domain, prefix)
        self.ttl_ms = int(idempotency_ttl_s * 1000)

    async def submit(self, inquiry: Inquiry, key: str | None = None) -> SubmitResult:
        """Add one inquiry; a key (default: the inquiry id) already added is a no-op."""
        return (await self.submit_many([(inquiry, key)]))[0]

    async def submit_many(
        self, inquiries: Iterable[Inquiry | tuple[Inquiry, str | None]]
    ) -> list[SubmitResult]:
        """Add several inquiries in one atomic script call, each idempotent on its key.

        The new ones go into one request entry; a key seen before (or twice in
        this call) is a duplicate and adds nothing.
        """
        keys = [self.keys.requests]
        args: list[Any] = [self.ttl_ms]
        for entry in inquiries:
            inquiry, key = entry if isinstance(entry, tuple) else (entry, None)
            key = key if key is not None else inquiry.id
            keys.append(self.keys.idem(key))
            args.append(encode_item(Submit(inquiry=inquiry, key=key)))
        if len(keys) == 1:
            return []
        res = await SUBMIT(self.client, keys, args)
        return [
            SubmitResult(request_id=_s(res[i + 1]), duplicate=_s(res[i]) == "dup")
            for i in range(0, len(res), 2)
        ]

    async def send(self, item: Any) -> str:
        """Append one non-submit input (accept, complete, login, ...); returns its request id."""
        rid = await self.client.xadd(self.keys.requests, {"m": encode_item(item)})
        return _s(rid)

    async def send_many(self, items: Iterable[Any]) -> str | None:
        """Append several inputs as one request entry; returns its id (None if no items)."""
        batch = list(items)
        if not batch:
            return None
        rid = await self.client.xadd(self.keys.requests, {"a": encode_items(batch)})
        return _s(rid)

    async def login(self, agent: AgentSpec) -> str:
        return await self.send(Login(agent=agent))

    async def set_ready(self, agent_id: str) -> str:
        return await self.send(Ready(agent_id=agent_id))

    async def go_on_break(self, agent_id: str, reason: str = "break") -> str:
        return await self.send(Break(agent_id=agent_id, reason=reason))

    async def logout(self, agent_id: str) -> str:
        return await self.send(Logout(agent_id=agent_id))

    async def accept(self, inquiry_id: str, agent_id: str | None = None) -> str:
        return await self.send(Accept(inquiry_id=inquiry_id, agent_id=agent_id))

    async def decline(self, inquiry_id: str, agent_id: str | None = None) -> str:
        return await self.send(Decline(inquiry_id=inquiry_id, agent_id=agent_id))

    async def complete(self, inquiry_id: str) -> str:
        return await self.send(Complete(inquiry_id=inquiry_id))

    async def withdraw(self, inquiry_id: str) -> str:
        return await self.send(Withdraw(inquiry_id=inquiry_id))

    async def reconfigure(self, config: Any, hand_over: dict[str, str] | None = None) -> str:
        return await self.send(Reconfigure(config=config, hand_over=hand_over))

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
