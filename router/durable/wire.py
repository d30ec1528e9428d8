"""What travels through Redis: requests, logged batches, output entries, key names.

Theory of operation: the wire carries the core's own inputs (``router/inputs.py``)
and defines none. A *request* is a :class:`Request` envelope around one
:data:`router.inputs.Input` (any member of the tagged union, present or future)
plus the wire's own metadata: the idempotency key of a submission and the
producer's id, echoed in refusals. A producer appends one request entry to a
domain's ``requests`` stream (field ``a``: a MessagePack array of requests,
with ``n`` the submissions among them; ``m``: one MessagePack request; ``j``:
one JSON request). Every request is decoded by one msgspec decoder per format,
built once, which validates the input against the core's own struct
constraints; a request it cannot decode becomes an :class:`Invalid` naming the
field (``$.input.inquiry.id: Expected str, got int``), never an error that
reaches the batch. So does a reconfigure whose document fails a check newer than
some logs (a profile's tenant no queue belongs to): refused there, before the log,
it is not checked again when a logged entry is applied, so a log an earlier
release wrote replays to the state that release reached.

The domain's owner reads requests in order, stamps a batch of them with its
router time ``now`` and the id of the last request it consumed (``cur``), and
appends that :class:`Batch` to the ``input`` stream (the write-ahead log)
before the core sees it. :func:`run_batch` then hands each input to
``Router.handle`` (which checks every value at the core's edge, whoever sent
it) and ticks once at ``now``: this one function serves both the live path and
replay, so a replay of the input log reproduces the same events, byte for
byte. A caller's mistake (a NaN from the wire, accepting an offer that already
expired, logging in twice) is a :class:`Refusal` naming the field,
deterministic like everything else. A batch that crashed the core (a bug) is
*dead-lettered*: :func:`isolate_steps` (or :func:`isolate`, the same walk at
once) finds, from the core as it was before the batch, the inputs that crash it,
and the :class:`DeadLetter` record names them with their errors (or the whole
batch, when its tick crashes, it is a domain's first, the record predates
isolation, or the batch crashed the core again after two records).
:func:`replay_batch`, again the one function of the live path (after the
record, the owner rebuilds its core through it) and of replay, runs such a
batch as :func:`run_batch` skipping those inputs, each refused with
``DeadLettered`` and its error, the others served; a whole dead batch changes
nothing and every input in it is refused so.

A domain's first batch carries the config (``init``); a new core starts from it.
Events go to the ``output`` stream as MessagePack lists of the core's tagged
events (MessagePack, not JSON, because an expected wait may be infinite).
All keys of a domain share the hash tag ``{domain}`` so every Lua script stays
on one Redis Cluster slot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator
from typing import Any, get_args

import msgspec
from msgspec import Struct

from router.config import (
    Name,
    RouterConfig,
    convert_config,
    format_validation_error,
    profile_tenant_problems,
)
from router.core import Router
from router.durable import faults
from router.errors import UsageError
from router.events import Event
from router.inputs import GoOnBreak, Input, Reconfigure, wire_problem

#: the durable owner's logger (``router/durable/serve.py``'s): what replay applied otherwise
_log = logging.getLogger("router.durable")

__all__ = [
    "INPUT_TYPES",
    "MAX_UNTYPED_DEPTH",
    "Batch",
    "DeadLetter",
    "DomainKeys",
    "Invalid",
    "Isolation",
    "Output",
    "OutputEntry",
    "Refusal",
    "Request",
    "batch_output",
    "check_domain_name",
    "dead_letter_refusals",
    "decode_batch",
    "decode_output",
    "decode_request",
    "encode_batch",
    "encode_refusals",
    "encode_request",
    "encode_requests",
    "input_ref",
    "input_tag",
    "isolate",
    "isolate_steps",
    "pack_events",
    "replay_batch",
    "run_batch",
    "stream_id_key",
    "submissions",
]

#: Every member of :data:`router.inputs.Input`: what a request may carry.
INPUT_TYPES: tuple[type, ...] = get_args(Input)

#: Their tags (``submit``, ``accept``, ...).
_TAGS = frozenset(cls.__struct_config__.tag for cls in INPUT_TYPES)  # type: ignore[attr-defined]

#: How deep untyped data (an ``Any`` field, such as a reconfigure's config) may nest. A
#: request always decodes again inside its logged batch, which nests it two levels deeper.
MAX_UNTYPED_DEPTH = 64


def _holds_any(t: msgspec.inspect.Type, seen: set[type]) -> bool:
    """Whether a value of type ``t`` may hold untyped (``Any``) data anywhere inside.

    Only ``Reconfigure.config`` is untyped today, and it is ``Any`` itself: the container
    and struct branches look into today's other fields and find nothing. They are kept for
    inputs the union gains later (an ``Any`` inside a list, a dict or a nested struct still
    gets the depth check); ``test_mutation_sweep_l42.py`` tests them on made-up types.
    """
    if isinstance(t, msgspec.inspect.AnyType):
        return True
    if isinstance(t, msgspec.inspect.StructType):
        if t.cls in seen:
            return False
        seen.add(t.cls)
        return any(_holds_any(f.type, seen) for f in t.fields)
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_holds_any(x, seen) for x in t.types)
    if isinstance(t, msgspec.inspect.DictType):
        return _holds_any(t.key_type, seen) or _holds_any(t.value_type, seen)
    item = getattr(t, "item_type", None)  # lists, sets, frozensets, variadic tuples
    if isinstance(item, msgspec.inspect.Type):
        return _holds_any(item, seen)
    return any(_holds_any(x, seen) for x in getattr(t, "item_types", ()))


def _untyped_fields(cls: type) -> tuple[str, ...]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return tuple(f.name for f in info.fields if _holds_any(f.type, set()))


#: Per input type, its fields that may hold untyped data (depth-checked on decode).
_UNTYPED: dict[type, tuple[str, ...]] = {
    cls: names for cls in INPUT_TYPES if (names := _untyped_fields(cls))
}


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers (or structs) more than ``limit`` levels deep."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        below: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                below += v.keys()
                below += v.values()
            elif isinstance(v, list | tuple | set | frozenset):
                below += v
            elif isinstance(v, Struct):
                below += msgspec.structs.astuple(v)
        if not below:
            return False
        level = below
    return True


class Request(
    Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True, gc=False
):
    """One input on the wire: the core's own input struct and the wire's metadata.

    ``key`` is a submission's idempotency key (:class:`~router.durable.log.Producer`
    sets it, by default to the inquiry id; the ``SUBMIT`` script dedupes on it),
    ``producer`` names who sent the request. Both are echoed in its refusal.
    """

    input: Input
    key: Name | None = None
    producer: Name | None = None


class Invalid(Struct, frozen=True, array_like=True, omit_defaults=True, gc=False):
    """A request the owner could not decode, logged so replay refuses it identically.

    ``message`` names the field; ``input``, ``ref``, ``key`` and ``producer`` are
    what could still be read from it (the input's tag and the id it is about;
    ``ref`` falls back to the request id, ``input`` to ``invalid``).
    """

    ref: str
    message: str
    input: str = "invalid"
    key: str | None = None
    producer: str | None = None


class Batch(Struct, array_like=True, omit_defaults=True):
    """One write-ahead log entry: inputs applied together at router time ``now``.

    ``invalid`` are the requests of the batch that could not be decoded (refused
    first, before the core sees ``items``).
    """

    now: float
    cur: str
    items: list[Request]
    init: RouterConfig | None = None
    invalid: list[Invalid] = []


class Refusal(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An input the core refused (a caller's mistake); nothing changed.

    ``input`` is the input's tag (``submit``, ``accept``, ...; ``invalid`` for a
    request that could not be decoded), ``ref`` the id it is about, ``message``
    names the field. ``key`` and ``producer`` come from the request.
    """

    at: float
    input: str
    ref: str
    error: str
    message: str
    key: str | None = None
    producer: str | None = None


class DeadLetter(Struct, frozen=True, kw_only=True):
    """A logged batch that crashed the core, as the ``dead`` stream records it.

    ``items``: the indices (in ``Batch.items``) of the inputs that crash it, the
    rest of the batch being served; ``None`` for the whole batch (its tick
    crashed, it is a domain's first, the entry was written before isolation, or
    the batch crashed the core again after two records). ``errors[k]``: the
    error input ``items[k]`` crashed with, its refusal's message (empty: each is
    refused with ``error``); ``error``: the first crash's. A batch may be
    recorded more than once; the last record holds.
    """

    error: str
    items: tuple[int, ...] | None = None
    errors: tuple[str, ...] = ()


class OutputEntry(Struct, frozen=True, kw_only=True):
    """One decoded ``output`` stream entry: what one logged batch produced."""

    id: str
    token: int
    input_id: str
    events: list[Any]
    refusals: list[Refusal]


_msgpack = msgspec.msgpack.Encoder(order="deterministic")
_request_mp = msgspec.msgpack.Decoder(Request)
_request_js = msgspec.json.Decoder(Request)
_raw_list = msgspec.msgpack.Decoder(list[msgspec.Raw])
_batch_dec = msgspec.msgpack.Decoder(Batch)
_events_dec: msgspec.msgpack.Decoder[list[Any]] = msgspec.msgpack.Decoder(list[Event])
_refusals_dec = msgspec.msgpack.Decoder(list[Refusal])


def encode_request(request: Request) -> bytes:
    """MessagePack bytes of one request, as a producer writes them (field ``m``)."""
    return _msgpack.encode(request)


def encode_requests(requests: list[Request]) -> bytes:
    """MessagePack array of requests (the ``a`` field of a request entry)."""
    return _msgpack.encode(requests)


def submissions(fields: dict[bytes, bytes]) -> int:
    """How many submissions a ``requests`` entry counts against the domain's limit: its ``n``
    (what :data:`~router.durable.scripts.SUBMIT` writes), 0 when absent or not a count (an
    entry some other writer added, which the limit never counted either: a garbled ``n``
    would otherwise fail every owner that reads the entry)."""
    n = fields.get(b"n")
    return int(n) if n and n.isdigit() else 0  # (bytes: ASCII digits only)


def _str(value: Any) -> str | None:
    return value if type(value) is str and 0 < len(value) <= 200 else None


def _invalid(ref: str, exc: Exception, raw: bytes | None, json: bool = False) -> Invalid:
    """An :class:`Invalid` for a request that failed to decode, with what can still be read."""
    if isinstance(exc, msgspec.MsgspecError):
        message = format_validation_error(exc)
    elif isinstance(exc, _Refused):
        message = str(exc)
    else:
        message = "$: nested too deeply"
    try:
        loose = (msgspec.json.decode if json else msgspec.msgpack.decode)(raw) if raw else None
    except _DECODE_ERRORS:
        loose = None
    if type(loose) is not dict:
        return Invalid(ref=ref, message=message)
    inp = loose.get("input")
    tag = about = None
    if type(inp) is dict:
        kind = inp.get("type")
        tag = kind if type(kind) is str and kind in _TAGS else None
        for field in ("inquiry_id", "agent_id"):
            about = about or _str(inp.get(field))
        for field in ("inquiry", "agent"):
            inner = inp.get(field)
            if type(inner) is dict:
                about = about or _str(inner.get("id"))
    return Invalid(
        ref=about or ref,
        message=message,
        input=tag or "invalid",
        key=_str(loose.get("key")),
        producer=_str(loose.get("producer")),
    )


class _Refused(Exception):
    """A request the log's edge refuses though it decodes (its message names the field)."""


def _checked(request: Request) -> Request:
    """The request, unless untyped data in it nests too deep (ValidationError naming the
    field) or it is a reconfigure whose document fails the documents' own check
    (:func:`_document_problems`; :class:`_Refused` naming the field)."""
    inp = request.input
    names = _UNTYPED.get(type(inp))
    if names is not None:
        for name in names:
            if _too_deep(getattr(inp, name), MAX_UNTYPED_DEPTH):
                raise msgspec.ValidationError(
                    f"nested more than {MAX_UNTYPED_DEPTH} levels deep - at `$.input.{name}`"
                )
    if type(inp) is Reconfigure:
        problems = _document_problems(inp.config)
        if problems:
            raise _Refused("\n".join(f"$.input.config{p[1:]}" for p in problems))
    problem = wire_problem(inp)
    if problem is not None:
        raise _Refused(f"$.input.{problem[0]}: {problem[1]}")
    return request


def _document_problems(config: Any) -> list[str]:
    """What a reconfigure's document is refused for at the log's edge, beyond the core's
    checks: a profile's (or shift's) tenant that no queue belongs to, which
    ``convert_config`` refuses in documents since 2f7ac36 (e88afa5). Checked here,
    before the log, and not when a logged entry is applied (:func:`_as_logged`): an entry
    the previous release logged replays as it was applied then, and every release reads
    the same log to the same state. ``[]`` for a document whose schema does not hold: the
    core refuses that, naming every problem, as before."""
    if not isinstance(config, dict):
        return []
    try:
        cfg = msgspec.convert(config, RouterConfig)
    except (msgspec.ValidationError, RecursionError):
        return []
    return profile_tenant_problems(cfg)


def _as_logged(inp: Reconfigure) -> Reconfigure:
    """A logged reconfigure as the core applies it: its document converted without the
    documents' own check (:func:`_document_problems` ran at the log's edge), so a mapping
    logged by the previous release is applied as it was then; any other problem is the
    core's ``ConfigError``, as before."""
    if not isinstance(inp.config, dict):
        return inp
    cfg = convert_config(inp.config, RouterConfig, profile_tenants=False)
    return Reconfigure(config=cfg, hand_over=inp.hand_over)


def _break_as_logged(inp: GoOnBreak, batch: Batch, i: int, warn: bool) -> GoOnBreak:
    """A logged ``go_on_break`` whose reason says nothing, as the core applies it: with
    the default reason ``break``, and (``warn``: :func:`run_batch`, not the dead-letter
    walk's probes) a warning naming the batch, the item and the agent.
    The edge refuses such a request now (:func:`_checked`); a log written before the core
    refused it (e6967c7) holds ones the core applied, putting the agent on break, and
    replay must reach that state (refusing it would leave the agent working)."""
    if warn:
        _log.warning(
            "batch %s, item %d: go_on_break of agent %r logged with reason %r (accepted before "
            "e6967c7): replayed with reason 'break'",
            batch.cur,
            i,
            inp.agent_id,
            inp.reason,
        )
    return GoOnBreak(agent_id=inp.agent_id, reason="break")


def _logged(inp: Input, batch: Batch, i: int, warn: bool = True) -> Input:
    """Item ``i`` of a logged ``batch`` as the core applies it (:func:`_as_logged`,
    :func:`_break_as_logged`); any other input as it is."""
    kind = type(inp)
    if kind is Reconfigure:
        return _as_logged(inp)  # type: ignore[arg-type]
    if kind is GoOnBreak and wire_problem(inp) is not None:
        return _break_as_logged(inp, batch, i, warn)  # type: ignore[arg-type]
    return inp


#: the inputs a logged entry may hold in a form the edge refuses now (:func:`_logged`)
_AS_LOGGED = frozenset((Reconfigure, GoOnBreak))
_DECODE_ERRORS = (msgspec.MsgspecError, RecursionError, _Refused)


def decode_request(fields: dict[bytes, bytes], ref: str) -> tuple[list[Request], list[Invalid]]:
    """The requests of one ``requests`` entry, and the ones that could not be decoded.

    Field ``a`` holds a MessagePack array of requests (what :class:`Producer`
    writes), ``m`` one MessagePack request, ``j`` one JSON request. Each is
    decoded on its own, so one bad request costs only itself.
    """
    raw = fields.get(b"a")
    if raw is not None:
        try:
            parts = _raw_list.decode(raw)
        except _DECODE_ERRORS as exc:
            return [], [_invalid(ref, exc, None)]
        good: list[Request] = []
        bad: list[Invalid] = []
        for i, one in enumerate(parts):
            try:
                good.append(_checked(_request_mp.decode(one)))
            except _DECODE_ERRORS as exc:
                bad.append(_invalid(f"{ref}[{i}]", exc, bytes(one)))
        return good, bad
    raw = fields.get(b"m")
    if raw is not None:
        try:
            return [_checked(_request_mp.decode(raw))], []
        except _DECODE_ERRORS as exc:
            return [], [_invalid(ref, exc, raw)]
    raw = fields.get(b"j")
    if raw is not None:
        try:
            return [_checked(_request_js.decode(raw))], []
        except _DECODE_ERRORS as exc:
            return [], [_invalid(ref, exc, raw, json=True)]
    message = "$: request has no 'a', 'm' (MessagePack) or 'j' (JSON) field"
    return [], [Invalid(ref=ref, message=message)]


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


def input_tag(inp: Input) -> str:
    """The input's tag (``submit``, ``set_ready``, ...): its ``type`` on the wire."""
    tag: str = type(inp).__struct_config__.tag  # type: ignore[assignment]
    return tag


def input_ref(inp: Input) -> str:
    """The id an input is about: its inquiry's, else its agent's, else its tag.

    Generic over the union: ``inquiry_id``/``agent_id`` fields, or the ``id`` of
    an ``inquiry``/``agent`` struct it carries.
    """
    for attr in ("inquiry_id", "agent_id"):
        value = getattr(inp, attr, None)
        if isinstance(value, str):
            return value
    for attr in ("inquiry", "agent"):
        value = getattr(getattr(inp, attr, None), "id", None)
        if isinstance(value, str):
            return value
    return input_tag(inp)


def _refusal(at: float, request: Request, error: str, message: str) -> Refusal:
    inp = request.input
    return Refusal(
        at=at,
        input=input_tag(inp),
        ref=input_ref(inp),
        error=error,
        message=message,
        key=request.key,
        producer=request.producer,
    )


def _invalid_refusals(batch: Batch) -> list[Refusal]:
    return [
        Refusal(
            at=batch.now,
            input=x.input,
            ref=x.ref,
            error="InvalidRequest",
            message=x.message,
            key=x.key,
            producer=x.producer,
        )
        for x in batch.invalid
    ]


def run_batch(
    router: Router | None, batch: Batch, dead: DeadLetter | None = None
) -> tuple[Router, list[Any], list[Refusal]]:
    """Apply one logged batch and tick once at its ``now``: the only path to the core.

    ``router`` is ``None`` for a domain's first batch, which must carry ``init``.
    Each input goes to ``Router.handle``; a :class:`~router.errors.UsageError`
    (the core's edge checks, a caller's mistake) is that input's refusal. The
    inputs ``dead.items`` names are not applied: each is refused ``DeadLettered``
    with its error (``dead.errors``, else ``dead.error``), in its place among the
    refusals.
    """
    now = batch.now
    if router is None:
        if batch.init is None:
            raise ValueError("the first batch of a domain must carry its config (init)")
        router = Router(batch.init, now=now)
    refusals = _invalid_refusals(batch) if batch.invalid else []
    skip: dict[int, str] = {}
    if dead is not None and dead.items is not None:
        skip = dict(zip(dead.items, dead.errors or (dead.error,) * len(dead.items), strict=True))
    handle = router.handle
    check = faults.item_check()  # None unless a test poisons an input
    for i, request in enumerate(batch.items):
        if i in skip:
            refusals.append(_refusal(now, request, "DeadLettered", skip[i]))
            continue
        try:
            if check is not None:
                check(request)
            inp = request.input
            handle(_logged(inp, batch, i) if type(inp) in _AS_LOGGED else inp, now)
        except UsageError as exc:
            refusals.append(_refusal(now, request, type(exc).__name__, str(exc)))
    if check is not None:
        faults.check_tick(batch)
    events = router.tick(now)
    return router, events, refusals


def _handle_one(router: Router, batch: Batch, i: int) -> None:
    """Item ``i`` of ``batch`` as :func:`run_batch` applies it (a caller's mistake changes
    nothing)."""
    check = faults.item_check()
    request = batch.items[i]
    try:
        if check is not None:
            check(request)
        inp = request.input
        router.handle(_logged(inp, batch, i, False) if type(inp) in _AS_LOGGED else inp, batch.now)
    except UsageError:
        pass


#: What :func:`isolate_steps` ends with: the crashing inputs, each as (its index, its
#: crash) (None: the whole batch), and the first crash.
Isolation = tuple[list[tuple[int, Exception]] | None, Exception | None]


def isolate_steps(router: Router | None, batch: Batch) -> Generator[None, None, Isolation]:
    """Which inputs of a batch that crashed the core crash it: ((index, crash) of each,
    the first crash).

    ``router`` is the core as it was *before* the batch (it is used up). The
    inputs are applied one by one, as :func:`run_batch` does; when input ``i``
    raises anything but a ``UsageError``, the core (maybe half-changed by it)
    is restored from one snapshot taken before the batch, the good inputs before
    ``i`` are applied again, ``i`` is marked and the walk goes on after it: one
    restore per crashing input, no snapshot per input. Deterministic: every
    probe applies inputs from the log to a state the log fixes (the core before
    the batch plus the good inputs before it), and the core is deterministic
    (``Router.restore`` plus the same inputs give the same state), so every owner
    and every replay finds the same indices, and :func:`run_batch` skipping them
    rebuilds the core this walk ends with.

    ``(None, error)`` means the whole batch is dead: the batch is a domain's
    first (``router`` is None), its closing tick crashes, or nothing crashed
    this time (``error`` None: the caller's own crash stands).

    A generator: it yields after every input applied and every restore, and
    returns the result (``StopIteration.value``), so a caller holding a lease
    renews it between steps (``DomainRunner._isolate``: a large batch on a
    large state can outlast the lease); :func:`isolate` runs it at once.
    """
    if router is None:
        return None, None
    now = batch.now
    before = router.snapshot()
    yield
    core = router
    items = batch.items
    poison: list[tuple[int, Exception]] = []
    marked: set[int] = set()
    for i in range(len(items)):
        try:
            _handle_one(core, batch, i)
        except Exception as exc:
            poison.append((i, exc))
            marked.add(i)
            core = Router.restore(before)
            yield
            for j in range(i):
                if j not in marked:
                    _handle_one(core, batch, j)
                    yield
        yield
    try:
        if faults.item_check() is not None:
            faults.check_tick(batch)
        core.tick(now)
    except Exception as exc:
        return None, exc
    if not poison:
        return None, None
    return poison, poison[0][1]


def isolate(router: Router | None, batch: Batch) -> Isolation:
    """:func:`isolate_steps` run to its end at once (no lease to renew on the way)."""
    walk = isolate_steps(router, batch)
    while True:
        try:
            next(walk)
        except StopIteration as stop:
            result: Isolation = stop.value
            return result


def dead_letter_refusals(batch: Batch, message: str) -> list[Refusal]:
    """What a whole dead batch tells its producers: each input refused, with the error."""
    refusals = _invalid_refusals(batch)
    refusals += [_refusal(batch.now, r, "DeadLettered", message) for r in batch.items]
    return refusals


Output = tuple[str, bytes, bytes]  # (input batch id, packed events, packed refusals)


def batch_output(
    batch_id: str, events: list[Any], refusals: list[Refusal], dead: bool
) -> Output | None:
    """The output entry a logged batch publishes, if any (a dead-lettered one always has one)."""
    if events or refusals or dead:
        return (batch_id, pack_events(events), encode_refusals(refusals))
    return None


def replay_batch(
    router: Router | None, batch: Batch, dead: DeadLetter | None
) -> tuple[Router | None, list[Any], list[Refusal]]:
    """A logged batch as the log records it: :func:`run_batch`, skipping the inputs a
    dead letter names (``dead``), or for a whole dead batch only its refusals."""
    if dead is None:
        return run_batch(router, batch)
    if dead.items is None:
        return router, [], dead_letter_refusals(batch, dead.error)
    return run_batch(router, batch, dead)


_DOMAIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_domain_name(name: str) -> str:
    """Return ``name`` if it is a valid domain name, else raise ValueError."""
    if not _DOMAIN_RE.fullmatch(name):  # not match: its ``$`` passes a trailing newline
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
