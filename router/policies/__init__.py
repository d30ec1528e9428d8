"""Policies: admission (backpressure) and its registry, callbacks, outbound tasks, surge.

They decide; the core (``router/core.py``) owns every state change. An embedder adds a
backpressure policy with :func:`register_policy` and forgets it with :func:`unregister_policy`
(docs/backpressure.md, "Writing a policy").
"""

from router.config.registry import (
    ENTRY_POINT_GROUP,
    known_policies,
    register_policy,
    unregister_policy,
)

__all__ = ["ENTRY_POINT_GROUP", "known_policies", "register_policy", "unregister_policy"]
