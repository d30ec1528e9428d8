"""Durability and scale-out on Redis Streams (opt-in: ``pip install 'inquiry-router[redis]'``).

Theory of operation: a *routing domain* is one core (a set of queues and the
agents serving them) whose Redis keys all share the hash tag ``{domain}``:

* ``requests``: a stream producers append inputs to (:class:`Producer`): the
  core's own input structs (``router/inputs.py``) in a :class:`Request` envelope;
  inquiries carry an idempotency key (kept in ``idem`` for the dedupe window),
  so a retried add is a no-op, and a domain refuses submissions past its bound
  on unprocessed ones (:class:`DomainFull`);
* ``input``: the write-ahead log; the owner stamps each batch of requests with
  its router time and appends it *before* the core applies it;
* ``output``: the events each logged batch produced, one entry per batch,
  trimmed only past what every consumer group acknowledged;
* ``dead``: batches that crashed the core, with the error and the indices
  (and errors) of the inputs that crash it (only those are refused in
  ``output``, with ``DeadLettered``; the rest of the batch is served; a batch
  whose tick crashes is dead whole); the domain carries on;
* ``snapshot``: the core's bytes after some logged batch, to replay from;
* ``lease`` and ``fence``: one owner at a time; every owner write is a Lua
  script that checks the owner's fencing token first (``scripts.py``).

A process (``python -m router serve``, :class:`~router.durable.serve.Server`)
takes free leases, recovers each domain from its snapshot and log
(:class:`DomainRunner`), and hands domains over to balance the load; when it
dies, another one takes its domains once the leases expire and rebuilds the
exact same cores. ``import router`` never imports this package.
"""

from router.durable.domain import DomainOptions, DomainRunner, DomainStats, agents_from_config
from router.durable.log import DomainFull, DomainLog, Fenced, LogMoved, Producer, SubmitResult
from router.durable.wire import (
    Batch,
    DomainKeys,
    Invalid,
    OutputEntry,
    Refusal,
    Request,
    run_batch,
)

__all__ = [
    "Batch",
    "DomainFull",
    "DomainKeys",
    "DomainLog",
    "DomainOptions",
    "DomainRunner",
    "DomainStats",
    "Fenced",
    "Invalid",
    "LogMoved",
    "OutputEntry",
    "Producer",
    "Refusal",
    "Request",
    "SubmitResult",
    "agents_from_config",
    "run_batch",
]
