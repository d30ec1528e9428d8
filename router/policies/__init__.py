"""Policies: admission (backpressure) and its registry, callbacks, outbound tasks, surge.

They decide; the core (``router/core.py``) owns every state change.
"""
