"""What travels through Redis: input items, logged batches, output entries, key names.

Theory of operation: a producer appends one *request* per input to a domain's
``requests`` stream (field ``a``: a MessagePack array of :data:`Item`, with
``n`` the submissions among them; ``m``: one MessagePack item; ``j``: one JSON
item). The domain's owner reads requests in order, stamps a batch of them with
its router time ``now`` and the id of the last request it consumed (``cur``),
and appends that :class:`Batch` to the ``input`` stream (the write-ahead log)
before the core sees it. :func:`run_batch` then applies the batch to the core
and ticks once at ``now``: this one function serves both the live path and
replay, so a replay of the input log reproduces the same events, byte for
byte. A caller's mistake (accepting an offer that already expired, logging in
twice) is a :class:`Refusal`, deterministic like everything else. A batch that
crashed the core (a bug) is *dead-lettered*: replay skips it
(:func:`replay_batch`) and its output entry refuses each of its inputs with
``DeadLettered`` and the error.

A domain's first batch carries the config (``init``); a new core starts from it.
Events go to the ``output`` stream as MessagePack lists of the core's tagged
events (MessagePack, not JSON, because an expected wait may be infinite).
All keys of a domain share the hash tag ``{domain}`` so every Lua script stays
on one Redis Cluster slot. Items are one struct per input kind, so they can
later carry the core's own input structs unchanged.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from router.config import Name, RouterConfig
from router.core import Router
from router.errors import UsageError
from router.events import Event
from router.model import AgentSpec, Inquiry

__all__ = [
    "Accept",
    "Batch",
    "Break",
    "Complete",
    "Decline",
    "DomainKeys",
    "Invalid",
    "Item",
    "Login",
    "Logout",
    "Output",
    "OutputEntry",
    "Ready",
    "Reconfigure",
    "Refusal",
    "Submit",
    "Withdraw",
    "batch_output",
    "check_domain_name",
    "dead_letter_refusals",
    "decode_batch",
    "decode_output",
    "decode_request",
    "encode_batch",
    "encode_item",
    "encode_items",
    "encode_refusals",
    "item_ref",
    "pack_events",
    "replay_batch",
    "run_batch",
    "stream_id_key",
    "submissions",
]


class _Item(
    Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    forbid_unknown_fields=True,
    tag_field="type",
):
    pass


class Submit(_Item, tag="submit", frozen=True):
    """A new inquiry. ``key`` is the idempotency key (the producer defaults it to the id)."""

    inquiry: Inquiry
    key: str | None = None


class Withdraw(_Item, tag="withdraw", frozen=True):
    inquiry_id: Name


class Login(_Item, tag="login", frozen=True):
    agent: AgentSpec


class Ready(_Item, tag="ready", frozen=True):
    agent_id: Name


class Break(_Item, tag="break", frozen=True):
    agent_id: Name
    reason: Annotated[str, Meta(max_length=200)] = "break"


class Logout(_Item, tag="logout", frozen=True):
    agent_id: Name


class Accept(_Item, tag="accept", frozen=True):
    inquiry_id: Name
    agent_id: Name | None = None


class Decline(_Item, tag="decline", frozen=True):
    inquiry_id: Name
    agent_id: Name | None = None


class Complete(_Item, tag="complete", frozen=True):
    inquiry_id: Name


class Reconfigure(_Item, tag="reconfigure", frozen=True):
    config: RouterConfig
    hand_over: dict[str, str] | None = None


class Invalid(_Item, tag="invalid", frozen=True):
    """A request the owner could not decode, logged so replay refuses it identically."""

    ref: str
    message: str


Item = (
    Submit
    | Withdraw
    | Login
    | Ready
    | Break
    | Logout
    | Accept
    | Decline
    | Complete
    | Reconfigure
    | Invalid
)


class Batch(Struct, array_like=True):
    """One write-ahead log entry: inputs applied together at router time ``now``."""

    now: float
    cur: str
    items: list[Item]
    init: RouterConfig | None = None


class Refusal(Struct, frozen=True, kw_only=True):
    """An input the core refused (a caller's mistake); nothing changed."""

    at: float
    input: str
    ref: str
    error: str
    message: str


class OutputEntry(Struct, frozen=True, kw_only=True):
    """One decoded ``output`` stream entry: what one logged batch produced."""

    id: str
    token: int
    input_id: str
    events: list[Any]
    refusals: list[Refusal]


_msgpack = msgspec.msgpack.Encoder(order="deterministic")
_item_mp: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(Item)
_item_js: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Item)
_raw_list = msgspec.msgpack.Decoder(list[msgspec.Raw])
_batch_dec = msgspec.msgpack.Decoder(Batch)
_events_dec: msgspec.msgpack.Decoder[list[Any]] = msgspec.msgpack.Decoder(list[Event])
_refusals_dec = msgspec.msgpack.Decoder(list[Refusal])


def encode_item(item: Any) -> bytes:
    """MessagePack bytes of an input item, as a producer writes them."""
    return _msgpack.encode(item)


def submissions(fields: dict[bytes, bytes]) -> int:
    """How many submissions a ``requests`` entry counts against the domain's limit."""
    n = fields.get(b"n")
    return int(n) if n else 0


def decode_request(fields: dict[bytes, bytes], ref: str) -> list[Any]:
    """The items of one ``requests`` entry; an undecodable one becomes :class:`Invalid`.

    Field ``a`` holds a MessagePack array of items (what :class:`Producer`
    writes), ``m`` one MessagePack item, ``j`` one JSON item.
    """
    try:
        raw = fields.get(b"a")
        if raw is not None:
            out: list[Any] = []
            for i, one in enumerate(_raw_list.decode(raw)):
                try:
                    out.append(_item_mp.decode(one))
                except msgspec.MsgspecError as exc:
                    out.append(Invalid(ref=f"{ref}[{i}]", message=str(exc)))
            return out
        raw = fields.get(b"m")
        if raw is not None:
            return [_item_mp.decode(raw)]
        raw = fields.get(b"j")
        if raw is not None:
            return [_item_js.decode(raw)]
        message = "request has no 'a', 'm' (MessagePack) or 'j' (JSON) field"
        return [Invalid(ref=ref, message=message)]
    except msgspec.MsgspecError as exc:
        return [Invalid(ref=ref, message=str(exc))]


def encode_items(items: list[Any]) -> bytes:
    """MessagePack array of input items (the ``a`` field of a request entry)."""
    return _msgpack.encode(items)


def encode_batch(batch: Batch) -> bytes:
    return _msgpack.encode(batch)


def decode_batch(data: bytes) -> Batch:
    return _batch_dec.decode(data)


def pack_events(events: list[Any]) -> bytes:
    """MessagePack bytes of core events (the ``ev`` field of an output entry)."""
    return _msgpack.encode(events)


def encode_refusals(refusals: list[Refusal]) -> bytes:
    return _msgpack.encode(refusals) if refusals else b""


def decode_output(entry_id: bytes | str, fields: dict[bytes, bytes]) -> OutputEntry:
    """Decode one raw ``output`` stream entry."""
    err = fields.get(b"err")
    return OutputEntry(
        id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        token=int(fields[b"tok"]),
        input_id=fields[b"in"].decode(),
        events=_events_dec.decode(fields[b"ev"]),
        refusals=_refusals_dec.decode(err) if err else [],
    )


def item_ref(item: Any) -> str:
    """The id an item is about: the inquiry's, the agent's, or ``config``."""
    if isinstance(item, Submit):
        return item.inquiry.id
    if isinstance(item, Login):
        return item.agent.id
    if isinstance(item, Reconfigure):
        return "config"
    if isinstance(item, Invalid):
        return item.ref
    ref: str = getattr(item, "inquiry_id", None) or item.agent_id
    return ref


def _apply(r: Router, item: Any, now: float) -> None:
    if isinstance(item, Submit):
        r.submit(item.inquiry, now)
    elif isinstance(item, Accept):
        r.accept(item.inquiry_id, now, item.agent_id)
    elif isinstance(item, Complete):
        r.complete(item.inquiry_id, now)
    elif isinstance(item, Decline):
        r.decline(item.inquiry_id, now, item.agent_id)
    elif isinstance(item, Withdraw):
        r.withdraw(item.inquiry_id, now)
    elif isinstance(item, Login):
        r.login(item.agent, now)
    elif isinstance(item, Ready):
        r.set_ready(item.agent_id, now)
    elif isinstance(item, Break):
        r.go_on_break(item.agent_id, now, item.reason)
    elif isinstance(item, Logout):
        r.logout(item.agent_id, now)
    elif isinstance(item, Reconfigure):
        r.reconfigure(item.config, now, hand_over=item.hand_over)
    else:
        raise _Refused(item.message)


class _Refused(UsageError):
    """An :class:`Invalid` request, refused like any other caller mistake."""


def run_batch(router: Router | None, batch: Batch) -> tuple[Router, list[Any], list[Refusal]]:
    """Apply one logged batch and tick once at its ``now``: the only path to the core.

    ``router`` is ``None`` for a domain's first batch, which must carry ``init``.
    """
    now = batch.now
    if router is None:
        if batch.init is None:
            raise ValueError("the first batch of a domain must carry its config (init)")
        router = Router(batch.init, now=now)
    refusals: list[Refusal] = []
    for item in batch.items:
        try:
            _apply(router, item, now)
        except UsageError as exc:
            message = str(exc)
            refusals.append(
                Refusal(
                    at=now,
                    input=type(item).__struct_config__.tag,  # type: ignore[arg-type]
                    ref=item_ref(item),
                    error="InvalidRequest" if isinstance(exc, _Refused) else type(exc).__name__,
                    message=message,
                )
            )
    events = router.tick(now)
    return router, events, refusals


def dead_letter_refusals(batch: Batch, message: str) -> list[Refusal]:
    """What a dead-lettered batch tells its producers: each input refused, with the error."""
    return [
        Refusal(
            at=batch.now,
            input=type(item).__struct_config__.tag,  # type: ignore[arg-type]
            ref=item_ref(item),
            error="DeadLettered",
            message=message,
        )
        for item in batch.items
    ]


Output = tuple[str, bytes, bytes]  # (input batch id, packed events, packed refusals)


def batch_output(
    batch_id: str, events: list[Any], refusals: list[Refusal], dead: bool
) -> Output | None:
    """The output entry a logged batch publishes, if any (a dead-lettered one always has one)."""
    if events or refusals or dead:
        return (batch_id, pack_events(events), encode_refusals(refusals))
    return None


def replay_batch(
    router: Router | None, batch: Batch, dead: str | None
) -> tuple[Router | None, list[Any], list[Refusal]]:
    """:func:`run_batch`, or for a dead-lettered batch (``dead`` = its error) its refusals."""
    if dead is not None:
        return router, [], dead_letter_refusals(batch, dead)
    return run_batch(router, batch)


_DOMAIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_domain_name(name: str) -> str:
    """Return ``name`` if it is a valid domain name, else raise ValueError."""
    if not _DOMAIN_RE.match(name):
        raise ValueError(
            f"domain name {name!r}: use 1-100 letters, digits, '_', '.', '-' "
            "(starting with a letter or digit)"
        )
    return name


class DomainKeys:
    """Redis key names of one domain; all share the Cluster hash tag ``{domain}``."""

    __slots__ = (
        "dead",
        "domain",
        "fence",
        "flow",
        "idem",
        "input",
        "lease",
        "output",
        "prefix",
        "requests",
        "snapshot",
    )

    def __init__(self, domain: str, prefix: str = "router") -> None:
        check_domain_name(domain)
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"key prefix {prefix!r} must not contain braces")
        self.domain = domain
        self.prefix = prefix
        base = f"{prefix}:{{{domain}}}"
        self.lease = f"{base}:lease"
        self.fence = f"{base}:fence"
        self.requests = f"{base}:requests"
        self.input = f"{base}:input"
        self.output = f"{base}:output"
        self.snapshot = f"{base}:snapshot"
        self.idem = f"{base}:idem"  # sorted set: idempotency key -> request id score
        self.flow = f"{base}:flow"  # hash: added, taken (submissions), limit
        self.dead = f"{base}:dead"  # stream: dead-lettered batches and their errors


def stream_id_key(entry_id: str | bytes) -> tuple[int, int]:
    """A stream id ``ms-seq`` as a sortable pair (``''`` sorts first)."""
    if isinstance(entry_id, bytes):
        entry_id = entry_id.decode()
    if not entry_id:
        return (-1, -1)
    ms, _, seq = entry_id.partition("-")
    return (int(ms), int(seq or 0))
